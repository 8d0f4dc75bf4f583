// The fused CPU kernels: AdamW in one pass against the multi-tensor ops it replaces, and the
// hashed dropout mask (rate, scale, determinism from the global seed, gradient).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  adamwFused_,
  dropout,
  foreach,
  fusedApplies,
  getRngState,
  manualSeed,
  randn,
  setRngState,
  tidy,
  type Tensor,
} from '../../src/tensor/index.js';

function reference(
  p: Tensor[],
  g: Tensor[],
  m: Tensor[],
  v: Tensor[],
  o: { lr: number; b1: number; b2: number; eps: number; wd: number; bc1: number; bc2: number },
): void {
  tidy(() => {
    foreach.mul_(p, 1 - o.lr * o.wd);
    foreach.mul_(m, o.b1);
    foreach.add_(m, g, 1 - o.b1);
    foreach.mul_(v, o.b2);
    foreach.addcmul_(v, g, g, 1 - o.b2);
    const denom = foreach.sqrt(v);
    foreach.div_(denom, Math.sqrt(o.bc2));
    foreach.add_(denom, o.eps);
    foreach.addcdiv_(p, m, denom, -o.lr / o.bc1);
  });
}

test('adamwFused_ matches the multi-tensor AdamW update over three steps', () => {
  manualSeed(0);
  const shapes = [[37, 5], [300], [1]];
  const make = () => shapes.map((s) => randn(s));
  const p1 = make(),
    m1 = shapes.map((s) => randn(s).abs()),
    v1 = shapes.map((s) => randn(s).abs());
  const p2 = p1.map((t) => t.clone()),
    m2 = m1.map((t) => t.clone()),
    v2 = v1.map((t) => t.clone());
  for (let t = 1; t <= 3; t++) {
    const g = make();
    const o = { lr: 1e-2, b1: 0.9, b2: 0.999, eps: 1e-6, wd: 0.01, bc1: 1 - 0.9 ** t, bc2: 1 - 0.999 ** t };
    reference(p1, g, m1, v1, o);
    adamwFused_(p2, g, m2, v2, {
      lr: o.lr,
      beta1: o.b1,
      beta2: o.b2,
      eps: o.eps,
      weightDecay: o.wd,
      bc1: o.bc1,
      bc2: o.bc2,
    });
  }
  for (const [a, b] of [
    [p1, p2],
    [m1, m2],
    [v1, v2],
  ]) {
    for (let i = 0; i < a.length; i++) assert.ok(tidy(() => a[i].sub(b[i]).abs().max().item()) < 1e-6, `tensor ${i}`);
  }
});

test('fusedApplies: contiguous CPU float32 only', () => {
  const x = randn([4, 3]);
  assert.equal(fusedApplies([x]), true);
  assert.equal(fusedApplies([x.transpose(0, 1)]), false);
  assert.equal(fusedApplies([x.to('bfloat16')]), false);
});

test('CPU dropout drops about p, scales the rest by 1/(1-p), and follows the global seed', () => {
  const x = tidy(() => randn([200, 500]).abs().add(1));
  manualSeed(7);
  const state = getRngState();
  const y = dropout(x, 0.1);
  const zeroFrac = tidy(() => y.eq(0).to('float32').mean().item());
  assert.ok(Math.abs(zeroFrac - 0.1) < 0.005, `dropped ${zeroFrac}`);
  const kept = tidy(() =>
    y
      .div(x)
      .maskedFill(y.eq(0), 1 / 0.9)
      .sub(1 / 0.9)
      .abs()
      .max()
      .item(),
  );
  assert.ok(kept < 1e-6);
  setRngState(state);
  assert.equal(
    tidy(() => dropout(x, 0.1).sub(y).abs().max().item()),
    0,
  );
  assert.ok(tidy(() => dropout(x, 0.1).sub(y).abs().max().item()) > 0, 'the next call draws a new mask');
  assert.equal(
    tidy(() => dropout(x, 0.1, false).sub(x).abs().max().item()),
    0,
    'not training: no mask',
  );
});

test('CPU dropout passes the gradient through the kept elements only', () => {
  const x = randn([64, 64]).requiresGrad_();
  const y = dropout(x, 0.25);
  y.sum().backward();
  const ok = tidy(() =>
    x
      .grad!.sub(
        y
          .ne(0)
          .to('float32')
          .mul(1 / 0.75),
      )
      .abs()
      .max()
      .item(),
  );
  assert.ok(ok < 1e-6);
});
