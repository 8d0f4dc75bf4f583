// THE LEAK TEST: 10,000 training-like steps (a tiny linear model: forward, loss, backward, an
// AdamW-like update with foreach ops, gradient zeroing, all inside tidy) must leave the number
// of live native tensors unchanged and the process RSS nearly flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import {
  crossEntropy,
  foreach,
  Generator,
  keep,
  linear,
  memory,
  noGrad,
  randint,
  randn,
  tidy,
  zeros,
  zerosLike,
  type Tensor,
} from '../../src/tensor/index.js';

/** global.gc when node runs with --expose-gc; otherwise exposed through V8's flags. */
function getGc(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** A tiny linear classifier trained with AdamW-like foreach updates; returns a step function. */
function trainer(): { step: (k: number) => number; dispose: () => void } {
  const gen = new Generator(0);
  const params = tidy(() =>
    [randn([4, 16], { generator: gen }).mul(0.1), zeros([4])].map((p) => keep(p.requiresGrad_())),
  );
  const m = params.map((p) => keep(zerosLike(p)));
  const v = params.map((p) => keep(zerosLike(p)));
  const [lr, b1, b2, wd, eps] = [1e-2, 0.9, 0.999, 0.01, 1e-8];
  const step = (k: number): number =>
    tidy(() => {
      const x = randn([8, 16], { generator: gen });
      const y = randint(0, 4, [8], { generator: gen });
      const loss = crossEntropy(linear(x, params[0], params[1]).relu(), y);
      loss.backward();
      noGrad(() => {
        const grads = params.map((p) => p.grad!);
        foreach.mul_(params, 1 - lr * wd);
        foreach.lerp_(m, grads, 1 - b1);
        foreach.mul_(v, b2);
        foreach.addcmul_(v, grads, grads, 1 - b2);
        const denom = foreach.sqrt(v);
        foreach.add_(denom, eps);
        foreach.addcdiv_(params, m, denom, -lr);
        // both ways of zeroing: in place, and dropping the gradient tensors
        if (k % 2 === 0) foreach.zero_(grads);
        else for (const p of params) p.grad = null;
      });
      return loss.item();
    });
  return {
    step,
    dispose: () => {
      for (const p of [...params, ...m, ...v] as Tensor[]) p.dispose();
    },
  };
}

/**
 * Runs 500 warm-up steps, then 9,500 measured ones (yielding to the event loop every
 * `yieldEvery` steps if given); returns the growth of live tensors, bytes and RSS (MB).
 */
async function measure(yieldEvery?: number) {
  const gc = getGc();
  const { step, dispose } = trainer();
  let first = 0;
  for (let k = 0; k < 500; k++) first += step(k) / 500;
  gc?.();
  const m0 = memory(),
    rss0 = process.memoryUsage().rss;
  let last = 0;
  for (let k = 500; k < 10_000; k++) {
    const l = step(k);
    if (k >= 9_500) last += l / 500;
    if (yieldEvery && k % yieldEvery === 0) await new Promise((r) => setImmediate(r));
  }
  gc?.();
  const m1 = memory(),
    rss1 = process.memoryUsage().rss;
  dispose();
  return {
    tensors: m1.tensors - m0.tensors,
    bytes: m1.bytes - m0.bytes,
    rssMb: (rss1 - rss0) / 2 ** 20,
    first,
    last,
    gc: gc !== undefined,
  };
}

test('10,000 training steps in one synchronous loop leak no tensors and little memory', async (t) => {
  const r = await measure();
  t.diagnostic(`RSS growth over 9,500 steps: ${r.rssMb.toFixed(1)} MB (gc ${r.gc ? 'exposed' : 'not exposed'})`);
  assert.deepEqual([r.tensors, r.bytes], [0, 0], 'live tensors or bytes changed');
  // Node-API frees each handle's small bookkeeping only when the event loop turns, so a loop that
  // never yields grows by a few hundred bytes per created handle until it does.
  assert.ok(r.rssMb < 50, `RSS grew by ${r.rssMb.toFixed(1)} MB`);
  assert.ok(Number.isFinite(r.last) && r.last < r.first, `training did not progress: ${r.first} -> ${r.last}`);
});

test('10,000 training steps that let the event loop turn keep RSS flat', async (t) => {
  const r = await measure(100);
  t.diagnostic(`RSS growth over 9,500 steps, yielding every 100: ${r.rssMb.toFixed(1)} MB`);
  assert.deepEqual([r.tensors, r.bytes], [0, 0], 'live tensors or bytes changed');
  assert.ok(r.rssMb < 20, `RSS grew by ${r.rssMb.toFixed(1)} MB`);
});
