// How close uneven hidden-size growth comes to preserving the function (docs/results/cpu-hidden-growth/,
// table (a)): random-weight models of both archs grown d -> d' by fpi and by lemon, with the
// LayerNorms at their 1/0 init and with every LayerNorm affine and bias perturbed by N(0, 0.2^2)
// (as a trained model's are; test/grow/helpers.ts does the same). Two figures per case: the
// encoder's error (the largest change of a source unit in any layer's output, relative to the
// layer's largest value) and the logits' (maxRelLogitDiff, what `grow` prints).
//   node dist/bench/hidden-exactness.js [16:24:2 128:192:2 512:768:8 ...]   (d:d':heads)
import { checkPreservation, growHidden, HIDDEN_OPS } from '../src/grow/index.js';
import { ARCHS, BertForMaskedLM, type Arch } from '../src/model/index.js';
import { Generator, dispose, noGrad, randint, randn, tidy, type Tensor } from '../src/tensor/index.js';

const cases = (process.argv.length > 2 ? process.argv.slice(2) : ['16:24:2', '128:192:2', '512:768:8']).map((c) =>
  c.split(':').map(Number),
);
const V = 60;

function model(arch: Arch, d: number, heads: number, perturb: boolean): BertForMaskedLM {
  const m = new BertForMaskedLM(
    { vocabSize: V, hiddenSize: d, numHiddenLayers: 2, numAttentionHeads: heads, intermediateSize: 64, arch },
    { seed: 1 },
  );
  if (perturb) {
    const g = new Generator(101);
    noGrad(() =>
      tidy(() => {
        for (const [n, p] of m.namedParameters())
          if (n.includes('LayerNorm') || n.endsWith('.bias')) p.add_(randn(p.shape, { generator: g }).mul(0.2));
      }),
    );
  }
  return m.eval();
}

function batch() {
  const g = new Generator(13);
  return {
    inputIds: randint(1, V, [4, 16], { generator: g }),
    maskedPositions: randint(1, 16, [4, 4], { generator: g }),
    maskedLabels: randint(1, V, [4, 4], { generator: g }),
  };
}

/** The largest change of a source unit in any hidden state, relative to that state's largest value. */
function encoderError(a: BertForMaskedLM, b: BertForMaskedLM, x: ReturnType<typeof batch>): number {
  return tidy(() =>
    noGrad(() => {
      const ha = a.forward(x, { outputHiddenStates: true }).hiddenStates!;
      const hb = b.forward(x, { outputHiddenStates: true }).hiddenStates!;
      const d = a.config.hiddenSize;
      return Math.max(
        ...ha.map((h: Tensor, i) => hb[i].narrow(2, 0, d).sub(h).abs().max().item() / h.abs().max().item()),
      );
    }),
  );
}

console.log("| arch | d -> d' | LayerNorms | op | encoder rel error | logits rel error (`grow`'s check) |");
console.log('|---|---|---|---|---|---|');
for (const arch of ARCHS)
  for (const [d, d2, heads] of cases)
    for (const perturb of [false, true])
      for (const op of HIDDEN_OPS) {
        const m = model(arch, d, heads, perturb);
        const r = growHidden({ model: m }, { hiddenSize: d2 }, { op, seed: 2 });
        r.model.eval();
        const x = batch();
        const p = checkPreservation(m, r.model, x);
        const e = encoderError(m, r.model, x);
        console.log(
          `| ${arch} | ${d} -> ${d2} | ${perturb ? 'perturbed' : 'init (1/0)'} | ${op} | ${e.toExponential(1)} | ${p.maxRelLogitDiff.toExponential(1)} |`,
        );
        dispose(Object.values(x));
        r.model.dispose();
        m.dispose();
      }
