// Shared fixtures for the growth tests: a small "trained" source (non-trivial LayerNorms and
// biases, warm AdamW/LAMB moments), batches, and snapshots to prove the source is untouched.
import assert from 'node:assert/strict';
import { BertForMaskedLM, type BertConfigInput, type MaskedLMBatch } from '../../src/model/index.js';
import { Generator, dispose, manualSeed, noGrad, randint, randn, tidy, type Tensor } from '../../src/tensor/index.js';
import { AdamW, Lamb, createOptimizer, type Optimizer } from '../../src/train/optim/index.js';
import type { GrowResult, GrowSource } from '../../src/grow/index.js';

export const SMALL: BertConfigInput = {
  vocabSize: 60,
  hiddenSize: 16,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  intermediateSize: 32,
  maxPositionEmbeddings: 24,
};

/** B x S tokens with P masked positions per row (distinct), seeded. */
export function makeBatch(seed: number, B = 3, S = 12, P = 3, vocab = 60): MaskedLMBatch {
  const g = new Generator(seed);
  const positions = tidy(() =>
    randn([B, S - 1], { generator: g })
      .argsort(1)
      .narrow(1, 0, P)
      .add(1),
  );
  return {
    inputIds: randint(1, vocab, [B, S], { generator: g }),
    maskedPositions: positions,
    maskedLabels: randint(1, vocab, [B, P], { generator: g }),
  };
}

export interface Source {
  model: BertForMaskedLM;
  opt: Optimizer;
  src: GrowSource;
  dispose(): void;
}

/**
 * A model whose LayerNorm weights/biases and biases are perturbed away from their 1/0 init (so
 * that growth tests see trained-looking LayerNorms), then `steps` optimizer steps on a batch so
 * every parameter has warm moments and a step count.
 */
export function trainedSource(
  config: BertConfigInput,
  o: { seed?: number; steps?: number; optimizer?: 'adamw' | 'lamb' } = {},
): Source {
  manualSeed(o.seed ?? 1); // dropout draws from the global generator
  const model = new BertForMaskedLM(config, { seed: o.seed ?? 1 });
  const g = new Generator((o.seed ?? 1) + 100);
  noGrad(() =>
    tidy(() => {
      for (const [n, p] of model.namedParameters()) {
        if (n.includes('LayerNorm') || n.endsWith('.bias')) p.add_(randn(p.shape, { generator: g }).mul(0.2));
      }
    }),
  );
  const opt =
    o.optimizer === 'lamb'
      ? new Lamb(model.namedParameters(), { lr: 1e-3 })
      : new AdamW(model.namedParameters(), { lr: 1e-3 });
  const batch = makeBatch(77, 3, 12, 3, model.config.vocabSize);
  for (let i = 0; i < (o.steps ?? 3); i++) {
    tidy(() => model.forward(batch).loss!.backward());
    opt.step();
    opt.zeroGrad();
  }
  dispose(batch);
  return {
    model,
    opt,
    src: { model, optimizer: { state: opt.state(), meta: opt.meta() } },
    dispose() {
      opt.dispose();
      model.dispose();
    },
  };
}

/** Clones of every parameter and optimizer entry, to compare after growth. */
export function snapshot(s: Source): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [n, p] of s.model.namedParameters()) out.set(`param:${n}`, p.detach().clone());
  for (const [n, t] of s.opt.state()) out.set(`opt:${n}`, t.clone());
  return out;
}

export function assertUnchanged(s: Source, snap: Map<string, Tensor>): void {
  for (const [n, p] of s.model.namedParameters())
    assert.ok(p.equal(snap.get(`param:${n}`)!), `source parameter ${n} changed`);
  for (const [n, t] of s.opt.state()) assert.ok(t.equal(snap.get(`opt:${n}`)!), `source optimizer entry ${n} changed`);
  dispose(snap);
}

/** Shapes by name. */
export function shapes(m: BertForMaskedLM): Record<string, number[]> {
  return Object.fromEntries([...m.namedParameters()].map(([n, t]) => [n, t.shape]));
}

/** The optimizer entry of a grown result. */
export function st(r: GrowResult, name: string): Tensor {
  const t = r.optimizerState!.get(name);
  assert.ok(t, `no optimizer entry '${name}'`);
  return t;
}

/** Max |a - b|. */
export function diff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}

/**
 * Loads the grown state into a fresh optimizer of the source's type and trains `steps` steps;
 * returns the losses and the gradient norm each parameter had at the last step.
 */
export function trainAfter(
  r: GrowResult,
  steps = 3,
  seed = 5,
  onLastGrads?: (params: Map<string, Tensor>) => void,
): { losses: number[]; gradNorms: Map<string, number>; opt: Optimizer } {
  const opt = createOptimizer(r.optimizerMeta?.type ?? 'adamw', r.model.namedParameters(), { lr: 1e-3 });
  if (r.optimizerState) opt.loadState(r.optimizerState, r.optimizerMeta);
  const batch = makeBatch(seed, 3, 12, 3, r.model.config.vocabSize);
  const losses: number[] = [];
  const gradNorms = new Map<string, number>();
  r.model.train();
  for (let i = 0; i < steps; i++) {
    tidy(() => {
      const { loss } = r.model.forward(batch);
      losses.push(loss!.item());
      loss!.backward();
    });
    if (i === steps - 1) {
      tidy(() => {
        for (const [n, p] of r.model.namedParameters()) gradNorms.set(n, p.grad ? p.grad.norm().item() : 0);
      });
      onLastGrads?.(r.model.namedParameters());
    }
    opt.step();
    opt.zeroGrad();
  }
  dispose(batch);
  return { losses, gradNorms, opt };
}

export function disposeResult(r: GrowResult): void {
  r.model.dispose();
  if (r.optimizerState) dispose(r.optimizerState);
}

/** Training after growth worked: every loss finite, a gradient reached every parameter. Frees the optimizer. */
export function assertTrained(t: { losses: number[]; gradNorms: Map<string, number>; opt: Optimizer }): void {
  assert.ok(t.losses.every(Number.isFinite), `non-finite loss after growth: ${t.losses}`);
  for (const [n, gn] of t.gradNorms) assert.ok(gn > 0, `no gradient reached ${n}`);
  t.opt.dispose();
}

/** The output projections of an identity depth-growth copy: their parameters and moments zero, their step 0. */
export const IDENTITY_ZEROED = [
  'attention.output.dense.weight',
  'attention.output.dense.bias',
  'output.dense.weight',
  'output.dense.bias',
];

/**
 * Asserts that every new layer of an identity depth growth (a source layer's second copy onward,
 * per `map`) has zero output projections, zero AdamW moments for them, and a fresh step count.
 */
export function assertIdentityCopiesZeroed(r: GrowResult, map: number[]): void {
  const grown = r.model.namedParameters();
  const layer = (i: number) => `bert.encoder.layer.${i}.`;
  for (let i = 1; i < map.length; i++) {
    if (map[i] !== map[i - 1]) continue; // a source layer's first copy
    for (const rel of IDENTITY_ZEROED) {
      const name = layer(i) + rel;
      assert.equal(grown.get(name)!.abs().max().item(), 0, `${name} is not zero`);
      for (const moment of ['exp_avg', 'exp_avg_sq']) assert.equal(st(r, `${name}.${moment}`).abs().max().item(), 0);
      assert.equal(st(r, `${name}.step`).item(), 0);
    }
  }
}
