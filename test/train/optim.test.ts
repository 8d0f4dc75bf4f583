// Optimizer numerics against float64 hand computations, plus state save/load and grad utilities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Generator,
  randn,
  tensor,
  torchVersion,
  dispose,
  memory,
  tidy,
  saveSafetensors,
  loadSafetensors,
  type AdamwImpl,
  type Tensor,
} from '../../src/tensor/index.js';
import {
  AdamW,
  Lamb,
  clipGradNorm,
  zeroGrad,
  defaultDecayFilter,
  createOptimizer,
} from '../../src/train/optim/index.js';

const f64 = (xs: number[]) => tensor(xs, { dtype: 'float64' }).requiresGrad_();
const close = (a: number[], b: number[], tol = 1e-12) =>
  a.forEach((x, i) =>
    assert.ok(Math.abs(x - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `index ${i}: ${x} vs ${b[i]}`),
  );

// The reference formulas, element by element in JS doubles.
function adamwRef(
  w: number[],
  grads: number[][],
  o: { lr: number; wd: number; b1: number; b2: number; eps: number },
): number[] {
  const m = w.map(() => 0),
    v = w.map(() => 0);
  w = [...w];
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < w.length; i++) {
      w[i] *= 1 - o.lr * o.wd;
      m[i] = o.b1 * m[i] + (1 - o.b1) * g[i];
      v[i] = o.b2 * v[i] + (1 - o.b2) * g[i] * g[i];
      const mh = m[i] / (1 - o.b1 ** t),
        vh = v[i] / (1 - o.b2 ** t);
      w[i] -= (o.lr * mh) / (Math.sqrt(vh) + o.eps);
    }
  });
  return w;
}

function lambRef(
  w: number[],
  grads: number[][],
  o: { lr: number; wd: number; b1: number; b2: number; eps: number; adapt: boolean; maxRatio: number },
): number[] {
  const m = w.map(() => 0),
    v = w.map(() => 0);
  w = [...w];
  grads.forEach((g, k) => {
    const t = k + 1;
    const r = w.map((_, i) => {
      m[i] = o.b1 * m[i] + (1 - o.b1) * g[i];
      v[i] = o.b2 * v[i] + (1 - o.b2) * g[i] * g[i];
      const mh = m[i] / (1 - o.b1 ** t),
        vh = v[i] / (1 - o.b2 ** t);
      return mh / (Math.sqrt(vh) + o.eps) + (o.adapt ? o.wd * w[i] : 0);
    });
    const norm = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + x * x, 0));
    const wn = norm(w),
      rn = norm(r);
    const ratio = o.adapt ? Math.min(wn > 0 && rn > 0 ? wn / rn : 1, o.maxRatio) : 1;
    for (let i = 0; i < w.length; i++) w[i] -= o.lr * ratio * r[i];
  });
  return w;
}

const GRADS = [
  [0.1, -0.2, 0.3],
  [0.05, 0.4, -0.1],
  [-0.3, 0.2, 0.25],
  [0.0, -0.05, 0.5],
];
const W0 = [0.5, -1.0, 2.0];

test('decay filter: no decay on biases and LayerNorm', () => {
  assert.equal(defaultDecayFilter('bert.encoder.layer.0.attention.self.query.weight'), true);
  assert.equal(defaultDecayFilter('bert.encoder.layer.0.attention.self.query.bias'), false);
  assert.equal(defaultDecayFilter('bert.embeddings.LayerNorm.weight'), false);
  assert.equal(defaultDecayFilter('cls.predictions.bias'), false);
  assert.equal(defaultDecayFilter('x.layer_norm.weight'), false);
});

test('AdamW matches the float64 hand computation over 1 and 4 steps (bias correction, decay, no-decay)', () => {
  const o = { lr: 0.01, wd: 0.1, b1: 0.9, b2: 0.999, eps: 1e-6 };
  for (const steps of [1, 4]) {
    const w = f64(W0),
      b = f64(W0);
    const opt = new AdamW(
      new Map([
        ['dense.weight', w],
        ['dense.bias', b],
      ]),
      { lr: o.lr, weightDecay: o.wd },
    );
    for (const g of GRADS.slice(0, steps)) {
      w.grad = tensor(g, { dtype: 'float64' });
      b.grad = tensor(g, { dtype: 'float64' });
      opt.step();
    }
    close(w.toArray(), adamwRef(W0, GRADS.slice(0, steps), o));
    close(b.toArray(), adamwRef(W0, GRADS.slice(0, steps), { ...o, wd: 0 }));
    assert.equal(opt.paramStep('dense.weight'), steps);
    opt.dispose();
  }
});

test('Lamb matches the float64 hand computation (trust ratio on weights, plain Adam on biases)', () => {
  const o = { lr: 0.02, wd: 0.01, b1: 0.9, b2: 0.999, eps: 1e-6, maxRatio: 10 };
  const w = f64(W0),
    b = f64(W0);
  const opt = new Lamb(
    new Map([
      ['dense.weight', w],
      ['dense.bias', b],
    ]),
    { lr: o.lr, weightDecay: o.wd },
  );
  for (const g of GRADS) {
    w.grad = tensor(g, { dtype: 'float64' });
    b.grad = tensor(g, { dtype: 'float64' });
    opt.step();
  }
  close(w.toArray(), lambRef(W0, GRADS, { ...o, adapt: true }));
  close(b.toArray(), lambRef(W0, GRADS, { ...o, adapt: false }));
  // A tiny update against a big weight is capped by maxTrustRatio.
  const big = f64([100, 100, 100]);
  const opt2 = new Lamb(new Map([['w', big]]), { lr: 0.1, weightDecay: 0, maxTrustRatio: 2 });
  big.grad = tensor([1e-3, 1e-3, 1e-3], { dtype: 'float64' });
  opt2.step();
  close(
    big.toArray(),
    lambRef([100, 100, 100], [[1e-3, 1e-3, 1e-3]], { ...o, lr: 0.1, wd: 0, adapt: true, maxRatio: 2 }),
  );
  opt.dispose();
  opt2.dispose();
});

test('per-parameter steps: a parameter added later starts its own bias correction at step 1', () => {
  const o = { lr: 0.01, wd: 0, b1: 0.9, b2: 0.999, eps: 1e-6 };
  const old = f64(W0);
  const opt = new AdamW(new Map([['old.weight', old]]), { lr: o.lr, weightDecay: 0 });
  old.grad = tensor(GRADS[0], { dtype: 'float64' });
  opt.step();
  // "Growth": a new optimizer over old + new params; old state carried, new left out.
  const fresh = f64(W0);
  const saved = new Map([...opt.state()].map(([k, t]) => [k, t.clone()] as [string, Tensor]));
  const meta = opt.meta();
  opt.dispose();
  const opt2 = createOptimizer(
    meta.type,
    new Map([
      ['old.weight', old],
      ['new.weight', fresh],
    ]),
    { lr: o.lr, weightDecay: 0 },
  );
  opt2.loadState(saved, meta, { allowMissing: true });
  assert.equal(opt2.stepCount, 1);
  for (const g of GRADS.slice(1, 3)) {
    old.grad = tensor(g, { dtype: 'float64' });
    fresh.grad = tensor(g, { dtype: 'float64' });
    opt2.step();
  }
  close(old.toArray(), adamwRef(W0, GRADS.slice(0, 3), o));
  close(fresh.toArray(), adamwRef(W0, GRADS.slice(1, 3), o));
  assert.deepEqual([opt2.paramStep('old.weight'), opt2.paramStep('new.weight')], [3, 2]);
  const st = opt2.state();
  assert.deepEqual([...st.keys()].sort(), [
    'new.weight.exp_avg',
    'new.weight.exp_avg_sq',
    'new.weight.step',
    'old.weight.exp_avg',
    'old.weight.exp_avg_sq',
    'old.weight.step',
  ]);
  assert.equal(st.get('new.weight.step')!.item(), 2);
  dispose(saved);
  opt2.dispose();
});

test('state round trip resumes bit-exactly; bad state is rejected', () => {
  const run = (resumeAt: number | null) => {
    const w = f64(W0);
    let opt = new AdamW(new Map([['w', w]]), { lr: 0.01 });
    GRADS.forEach((g, k) => {
      if (k === resumeAt) {
        const saved = new Map([...opt.state()].map(([n, t]) => [n, t.clone()] as [string, Tensor]));
        const meta = JSON.parse(JSON.stringify(opt.meta()));
        opt.dispose();
        opt = new AdamW(new Map([['w', w]]), { lr: 0.5 });
        opt.loadState(saved, meta);
        assert.equal(opt.lr, 0.01);
        dispose(saved);
      }
      w.grad = tensor(g, { dtype: 'float64' });
      opt.step();
    });
    opt.dispose();
    return w.toArray();
  };
  assert.deepEqual(run(2), run(null));
  const w = f64(W0);
  const opt = new AdamW(new Map([['w', w]]));
  assert.throws(() => opt.loadState(new Map()), /lacks w.exp_avg/);
  const bad = new Map([
    ['w.exp_avg', tensor([1, 2], { dtype: 'float64' })],
    ['w.exp_avg_sq', tensor([1, 2], { dtype: 'float64' })],
    ['w.step', tensor([1], { dtype: 'int64' }).reshape()],
  ]);
  assert.throws(() => opt.loadState(bad), /shape \[2\]/);
  assert.throws(
    () => opt.loadState(new Map([['x.exp_avg', tensor([1])]]), undefined, { allowMissing: true }),
    /names no parameter/,
  );
  assert.throws(() => opt.loadState(new Map(), { type: 'lamb' }), /is 'adamw'/);
  dispose(bad);
  opt.dispose();
});

test('parameters without a gradient are skipped and keep their step', () => {
  const a = f64(W0),
    b = f64(W0);
  const opt = new AdamW(
    new Map([
      ['a', a],
      ['b', b],
    ]),
    { lr: 0.1 },
  );
  a.grad = tensor(GRADS[0], { dtype: 'float64' });
  opt.step();
  assert.deepEqual(b.toArray(), W0);
  assert.equal(opt.paramStep('b'), 0);
  assert.equal(opt.paramStep('a'), 1);
  opt.zeroGrad();
  assert.equal(a.grad, null);
  opt.dispose();
});

test('after a skipped parameter the groups are planned again: each keeps its own bias correction', () => {
  const o = { lr: 0.01, wd: 0, b1: 0.9, b2: 0.999, eps: 1e-6 };
  const a = f64(W0),
    b = f64(W0);
  const opt = new AdamW(
    new Map([
      ['a.bias', a],
      ['b.bias', b],
    ]),
    { lr: o.lr },
  );
  for (let k = 0; k < 3; k++) {
    a.grad = tensor(GRADS[k], { dtype: 'float64' });
    if (k > 0) b.grad = tensor(GRADS[k], { dtype: 'float64' });
    opt.step();
    opt.zeroGrad();
  }
  assert.equal(opt.paramStep('a.bias'), 3);
  assert.equal(opt.paramStep('b.bias'), 2);
  close(a.toArray(), adamwRef(W0, GRADS.slice(0, 3), o));
  close(b.toArray(), adamwRef(W0, GRADS.slice(1, 3), o));
  opt.dispose();
});

test("AdamW's kernels agree: growbert's one-pass, libtorch's fused (2.4+) and the multi-tensor ops", () => {
  const [major, minor] = torchVersion().split('.').map(Number);
  const impls: AdamwImpl[] = [
    'growbert',
    'foreach',
    ...(major > 2 || (major === 2 && minor >= 4) ? ['torch' as const] : []),
  ];
  const results = impls.map((impl) => {
    const w = randn([64, 33], { generator: new Generator(1) }).requiresGrad_(),
      b = randn([33], { generator: new Generator(2) }).requiresGrad_();
    const opt = new AdamW(
      new Map([
        ['dense.weight', w],
        ['dense.bias', b],
      ]),
      { lr: 0.01, weightDecay: 0.1, impl },
    );
    const gen = new Generator(3);
    for (let k = 0; k < 3; k++) {
      w.grad = randn([64, 33], { generator: gen });
      b.grad = randn([33], { generator: gen });
      opt.step();
    }
    const out = [...w.toArray(), ...b.toArray()];
    opt.dispose();
    w.dispose();
    b.dispose();
    return out;
  });
  for (const r of results.slice(1)) close(r, results[0], 1e-6);
});

test('clipGradNorm returns the global norm and scales only above the limit', () => {
  const a = f64([3, 0]),
    b = f64([0, 4, 0]);
  a.grad = tensor([3, 0], { dtype: 'float64' });
  b.grad = tensor([0, 4, 0], { dtype: 'float64' });
  assert.equal(clipGradNorm([a, b], 10), 5);
  close(a.grad!.toArray(), [3, 0]);
  assert.equal(
    clipGradNorm(
      new Map([
        ['a', a],
        ['b', b],
      ]),
      1,
    ),
    5,
  );
  close(a.grad!.toArray(), [3 / (5 + 1e-6), 0]);
  close(b.grad!.toArray(), [0, 4 / (5 + 1e-6), 0]);
  b.grad = tensor([0, Infinity, 0], { dtype: 'float64' });
  assert.equal(clipGradNorm([a, b], 1), Infinity);
  zeroGrad([a, b]);
  assert.equal(a.grad, null);
  assert.equal(clipGradNorm([a, b], 1), 0);
});

test('a step leaks no tensors', () => {
  const w = f64(W0),
    b = f64(W0);
  const opts = [
    new AdamW(
      new Map([
        ['w', w],
        ['b.bias', b],
      ]),
    ),
    new Lamb(
      new Map([
        ['w', w],
        ['b.bias', b],
      ]),
    ),
  ];
  for (const opt of opts) {
    w.grad = tensor(GRADS[0], { dtype: 'float64' });
    b.grad = tensor(GRADS[0], { dtype: 'float64' });
    opt.step();
    const before = memory().tensors;
    for (let i = 0; i < 3; i++)
      tidy(() => {
        opt.step();
        clipGradNorm([w, b], 1);
      });
    assert.equal(memory().tensors, before);
    opt.dispose();
  }
});

test('state survives a safetensors file (0-d int64 steps included)', () => {
  const w = f64(W0);
  const opt = new Lamb(new Map([['enc.weight', w]]));
  w.grad = tensor(GRADS[0], { dtype: 'float64' });
  opt.step();
  opt.step();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'optim-')), 'optimizer.safetensors');
  saveSafetensors(file, opt.state(), { meta: JSON.stringify(opt.meta()) });
  const { tensors, metadata } = loadSafetensors(file);
  const opt2 = new Lamb(new Map([['enc.weight', f64(W0)]]));
  opt2.loadState(tensors, JSON.parse(metadata.meta));
  assert.equal(opt2.paramStep('enc.weight'), 2);
  assert.equal(opt2.stepCount, 2);
  assert.ok(opt2.state().get('enc.weight.exp_avg_sq')!.equal(opt.state().get('enc.weight.exp_avg_sq')!));
  dispose(tensors);
  fs.rmSync(path.dirname(file), { recursive: true });
  opt.dispose();
  opt2.dispose();
});
