// Hidden size by LEMON's average expansion (hidden=lemon): exact on a whole multiple (it is fpi
// there); on an uneven width the encoder is exact where the LayerNorms read the stream, the
// rest (stream LayerNorms with trained affines, the MLM head) is measured against fpi's error;
// the new units diverge in training; the moments are mapped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPreservation, growHidden, type GrowResult } from '../../src/grow/index.js';
import { BertForMaskedLM, type BertConfigInput } from '../../src/model/index.js';
import { dispose, noGrad, tidy, type Tensor } from '../../src/tensor/index.js';
import {
  SMALL,
  assertTrained,
  assertUnchanged,
  diff,
  disposeResult,
  makeBatch,
  snapshot,
  st,
  trainAfter,
  trainedSource,
} from './helpers.js';

const ARCHS = ['bert', 'prenorm'] as const;
const WE = 'bert.embeddings.word_embeddings.weight';
const Q = 'bert.encoder.layer.0.attention.self.query.weight';
const OUT = 'bert.encoder.layer.0.output.dense.weight';
const EMB_LN = 'bert.embeddings.LayerNorm.weight';

/** Per hidden state: max |grown[:, :, :d] - source| and max |grown[:, :, d:] - mean(source)|, relative. */
function streamErrors(a: BertForMaskedLM, b: BertForMaskedLM, seed = 13): { copies: number[]; means: number[] } {
  const batch = makeBatch(seed, 3, 12, 3, a.config.vocabSize);
  [a, b].forEach((m) => m.eval());
  const d = a.config.hiddenSize;
  const out = tidy(() =>
    noGrad(() => {
      const x = a.forward(batch, { outputHiddenStates: true }).hiddenStates!;
      const y = b.forward(batch, { outputHiddenStates: true }).hiddenStates!;
      const rel = (u: Tensor, v: Tensor, s: Tensor) => u.sub(v).abs().max().item() / s.abs().max().item();
      return {
        copies: x.map((h, i) => rel(y[i].narrow(2, 0, d), h, h)),
        means: x.map((h, i) => rel(y[i].narrow(2, d, y[i].size(2) - d), h.mean(2, true), h)),
      };
    }),
  );
  dispose(batch);
  return out;
}

for (const arch of ARCHS) {
  const cfg: BertConfigInput = { ...SMALL, arch };

  test(`${arch}: lemon on a whole multiple (16 -> 32) is fpi: exact`, () => {
    const s = trainedSource(cfg);
    const r = growHidden(s.src, { hiddenSize: 32 }, { op: 'lemon' });
    assert.equal(r.preserving, true);
    assert.match(r.report[0], /by fpi \(lemon on a whole multiple\)/);
    const batch = makeBatch(12);
    const p = checkPreservation(s.model, r.model, batch);
    assert.ok(p.maxRelLogitDiff <= 1e-5, `relative logit error ${p.maxRelLogitDiff}`);
    dispose(batch);
    disposeResult(r);
    s.dispose();
  });

  test(`${arch}: lemon 16 -> 24 (heads 2 -> 3) from LayerNorms at their 1/0 init: the encoder is exact`, () => {
    const model = new BertForMaskedLM(cfg, { seed: 3 });
    const r = growHidden({ model }, { numAttentionHeads: 3 }, { op: 'lemon', seed: 1 });
    assert.equal(r.model.config.hiddenSize, 24);
    assert.equal(r.preserving, false);
    assert.match(r.report[0], /by lemon: every unit copied 1x, 8 units hold their mean.*NOT exact/);
    // every hidden state: the 16 units as before, the 8 new ones their mean (a uniform gamma
    // makes even the stream LayerNorms' new units exact)
    const e = streamErrors(model, r.model);
    for (const v of [...e.copies, ...e.means]) assert.ok(v <= 1e-5, `stream error ${v}`);
    const batch = makeBatch(12);
    const p = checkPreservation(model, r.model, batch);
    console.log(
      `${arch} lemon 16->24 at init: encoder exact; logits (the MLM head) rel ${p.maxRelLogitDiff.toExponential(2)}`,
    );
    dispose(batch);
    disposeResult(r);
    model.dispose();
  });

  for (const [d, d2, heads] of [
    [16, 24, 2],
    [32, 48, 4],
  ]) {
    test(`${arch}: lemon ${d} -> ${d2} from a trained source: the encoder errs far less than fpi's; the source is untouched`, () => {
      const c = { ...cfg, hiddenSize: d, numAttentionHeads: heads };
      const err: Record<string, { stream: number; logits: number }> = {};
      for (const op of ['fpi', 'lemon'] as const) {
        const s = trainedSource(c);
        const snap = snapshot(s);
        const r = growHidden(s.src, { hiddenSize: d2 }, { op, seed: 2 });
        assertUnchanged(s, snap);
        assert.equal(r.preserving, false);
        const batch = makeBatch(13);
        const p = checkPreservation(s.model, r.model, batch);
        err[op] = { stream: Math.max(...streamErrors(s.model, r.model).copies), logits: p.maxRelLogitDiff };
        dispose(batch);
        disposeResult(r);
        s.dispose();
      }
      console.log(
        `${arch} ${d}->${d2}: encoder rel error fpi ${err.fpi.stream.toExponential(2)}, lemon ${err.lemon.stream.toExponential(2)}; ` +
          `logits fpi ${err.fpi.logits.toExponential(2)}, lemon ${err.lemon.logits.toExponential(2)}`,
      );
      assert.ok(err.lemon.stream < err.fpi.stream / 3, JSON.stringify(err));
      assert.ok(err.lemon.logits > 1e-5 && err.lemon.logits < 0.2, JSON.stringify(err));
    });
  }
}

/** The r new columns of a consumer weight. */
const residue = (r: GrowResult, name: string, d: number) => r.model.namedParameters().get(name)!.narrow(1, d, 8);

test('lemon: new units get zero-sum random consumer columns (none without noise), copied/mean producers, and diverge in training', () => {
  const s = trainedSource(SMALL);
  const r = growHidden(s.src, { hiddenSize: 24 }, { op: 'lemon', seed: 4 });
  const r0 = growHidden(s.src, { hiddenSize: 24 }, { op: 'lemon', seed: 4, noise: 0 });
  const src = s.model.namedParameters(),
    g = r.model.namedParameters();
  tidy(() => {
    const cols = residue(r, Q, 16);
    assert.ok(cols.abs().max().item() > 0);
    assert.ok(cols.sum(1).abs().max().item() < 1e-6, 'the new columns do not cancel');
    assert.equal(residue(r0, Q, 16).abs().max().item(), 0);
    // producers: the 16 units as they were, the 8 new ones their mean
    assert.equal(diff(g.get(WE)!.narrow(1, 0, 16), src.get(WE)!), 0);
    assert.ok(diff(g.get(WE)!.narrow(1, 16, 8), src.get(WE)!.mean(1, true).expand(60, 8)) < 1e-6);
    assert.ok(diff(g.get(OUT)!.narrow(0, 16, 8), src.get(OUT)!.mean(0, true).expand(8, 32)) < 1e-6);
    // a stream LayerNorm: weight scaled by sqrt(k d / d') on the copies, their mean on the new
    // units (whose input is the mean: they output the bias, the mean of the source's)
    const ln = g.get(EMB_LN)!,
      s16 = src.get(EMB_LN)!.mul(Math.sqrt(16 / 24));
    assert.ok(diff(ln.narrow(0, 0, 16), s16) < 1e-6);
    assert.ok(diff(ln.narrow(0, 16, 8), s16.mean(0, true).expand(8)) < 1e-6);
    const b = g.get(EMB_LN.replace('weight', 'bias'))!;
    assert.ok(diff(b.narrow(0, 16, 8), src.get(EMB_LN.replace('weight', 'bias'))!.mean(0, true).expand(8)) < 1e-6);
  });
  // the 8 new units start equal (word-embedding columns) and part after a few steps
  const spread = (res: GrowResult) =>
    tidy(() => {
      const e = res.model.namedParameters().get(WE)!.narrow(1, 16, 8);
      return e.sub(e.mean(1, true)).abs().max().item();
    });
  assert.ok(spread(r) < 1e-6);
  const t = trainAfter(r, 3);
  assert.ok(spread(r) > 1e-5, `the new units did not diverge (${spread(r)})`);
  assertTrained(t);
  disposeResult(r);
  disposeResult(r0);
  s.dispose();
});

test('lemon: the optimizer state is complete and mapped like the weights (policy map)', () => {
  const s = trainedSource(SMALL);
  const r = growHidden(s.src, { hiddenSize: 24 }, { op: 'lemon', seed: 4 });
  const so = s.opt.state();
  assert.equal(r.optimizerState!.size, 3 * r.model.namedParameters().size);
  tidy(() => {
    // producer: copies, then the mean of the moments
    assert.equal(diff(st(r, `${WE}.exp_avg`).narrow(1, 0, 16), so.get(`${WE}.exp_avg`)!), 0);
    const m = so.get(`${WE}.exp_avg`)!.mean(1, true).expand(60, 8);
    assert.ok(diff(st(r, `${WE}.exp_avg`).narrow(1, 16, 8), m) < 1e-9);
    // consumer: the new columns are new weights: no momentum, the row's mean second moment
    assert.equal(st(r, `${Q}.exp_avg`).narrow(1, 16, 8).abs().max().item(), 0);
    const v = so.get(`${Q}.exp_avg_sq`)!.mean(1, true).expand(16, 8);
    assert.ok(diff(st(r, `${Q}.exp_avg_sq`).narrow(1, 16, 8).narrow(0, 0, 16), v) < 1e-12);
    // a LayerNorm weight scaled by s: its first moment by s, its second by s^2
    const sc = Math.sqrt(16 / 24);
    assert.ok(diff(st(r, `${EMB_LN}.exp_avg`).narrow(0, 0, 16), so.get(`${EMB_LN}.exp_avg`)!.mul(sc)) < 1e-9);
    assert.ok(
      diff(st(r, `${EMB_LN}.exp_avg_sq`).narrow(0, 0, 16), so.get(`${EMB_LN}.exp_avg_sq`)!.mul(sc * sc)) < 1e-12,
    );
    assert.ok(st(r, `${Q}.step`).equal(so.get(`${Q}.step`)!));
  });
  disposeResult(r);
  s.dispose();
});

for (const arch of ARCHS) {
  test(`${arch}: 512 -> 768 (BERT-small to BERT-base widths): lemon's encoder error vs fpi's, measured`, () => {
    const c: BertConfigInput = { ...SMALL, arch, hiddenSize: 512, numAttentionHeads: 8, intermediateSize: 64 };
    const out: string[] = [];
    for (const op of ['fpi', 'lemon'] as const) {
      const s = trainedSource(c, { steps: 1 });
      const r = growHidden(s.src, { hiddenSize: 768 }, { op, seed: 1 });
      assert.equal(r.model.config.numAttentionHeads, 12);
      assert.equal(r.preserving, false);
      const batch = makeBatch(13);
      const p = checkPreservation(s.model, r.model, batch);
      const e = Math.max(...streamErrors(s.model, r.model).copies);
      out.push(`${op}: encoder ${e.toExponential(2)}, logits ${p.maxRelLogitDiff.toExponential(2)}`);
      if (op === 'lemon') assert.ok(e < (arch === 'prenorm' ? 2e-3 : 2e-2), `encoder error ${e}`);
      dispose(batch);
      disposeResult(r);
      s.dispose();
    }
    console.log(`${arch} 512->768: ${out.join('; ')}`);
  });
}
