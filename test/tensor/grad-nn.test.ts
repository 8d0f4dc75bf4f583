// Gradients of the neural-network ops: softmax, logSoftmax, layerNorm, dropout, embedding and
// the losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck, randn64, uniform64, i64, assertClose } from '../helpers/gradcheck.js';
import {
  crossEntropy,
  dropout,
  embedding,
  layerNorm,
  manualSeed,
  mseLoss,
  nllLoss,
  ones,
  tidy,
  type Tensor,
} from '../../src/tensor/index.js';

const check = (f: (...xs: Tensor[]) => Tensor, make: () => Tensor[]) => tidy(() => gradcheck(f, make()));

test('softmax and logSoftmax along each dim', () => {
  const x = () => [randn64([3, 4], 1)];
  check((a) => a.softmax(-1), x);
  check((a) => a.softmax(0), x);
  check((a) => a.logSoftmax(1), x);
  check((a) => a.logSoftmax(0), x);
});

test('layerNorm: input, weight and bias; 1-d and 2-d normalized shapes; no affine', () => {
  check(
    (x, w, b) => layerNorm(x, [4], w, b),
    () => [randn64([3, 4], 2), randn64([4], 3), randn64([4], 4)],
  );
  check(
    (x, w, b) => layerNorm(x, [2, 3], w, b, 1e-3),
    () => [randn64([2, 2, 3], 2), randn64([2, 3], 3), randn64([2, 3], 4)],
  );
  check(
    (x) => layerNorm(x, [5]),
    () => [randn64([2, 5], 5)],
  );
});

test('dropout with p = 0 and in eval mode is the identity, also for gradients', () => {
  check(
    (a) => dropout(a, 0),
    () => [randn64([3, 4], 6)],
  );
  check(
    (a) => dropout(a, 0.5, false),
    () => [randn64([3, 4], 6)],
  );
  tidy(() => {
    const x = randn64([5], 6);
    assertClose(dropout(x, 0.7, false), x, 0, 0);
  });
});

test('dropout with a fixed seed: the same mask every time, and the gradient uses it', () => {
  const p = 0.4;
  // Re-seeding inside f makes dropout a fixed linear map, which finite differences can check.
  check(
    (a) => {
      manualSeed(99);
      return dropout(a, p);
    },
    () => [randn64([4, 5], 7)],
  );
  tidy(() => {
    const x = ones([200], { dtype: 'float64' }).requiresGrad_();
    manualSeed(5);
    const y1 = dropout(x, p);
    manualSeed(5);
    const y2 = dropout(x, p);
    assert.ok(y1.equal(y2), 'same seed, same mask');
    const kept = y1.ne(0);
    assertClose(y1, kept.to('float64').mul(1 / (1 - p)), 1e-12);
    const frac = kept.to('float64').mean().item();
    assert.ok(frac > 0.4 && frac < 0.8, `kept fraction ${frac}`);
    y1.sum().backward();
    assertClose(x.grad!, y1.detach(), 1e-12); // grad = mask / (1 - p) = y1 for x = 1
  });
});

test('embedding: gradient of the weight, repeated ids accumulate, paddingIdx gets none', () => {
  const ids = () => i64([0, 2, 2, 4, 1, 2], [2, 3]);
  check(
    (w) => tidy(() => embedding(w, ids())),
    () => [randn64([5, 3], 8)],
  );
  tidy(() => {
    const w = randn64([5, 3], 8).requiresGrad_();
    embedding(w, ids(), 2).sum().backward();
    assertClose(w.grad!.sum(1), [3, 3, 0, 0, 3], 1e-12); // row 2 is padding (no gradient); 3 = hidden size
    const v = w.detach().requiresGrad_();
    embedding(v, ids()).sum().backward();
    assertClose(v.grad!.sum(1), [3, 3, 9, 0, 3], 1e-12); // without paddingIdx, row 2 is used 3 times
  });
});

test('crossEntropy: each reduction, ignoreIndex, labelSmoothing, class weights', () => {
  const target = () => i64([0, 3, -100, 1, 3]);
  const logits = () => [randn64([5, 4], 9)];
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    check((x) => tidy(() => crossEntropy(x, target(), { reduction })), logits);
    check((x) => tidy(() => crossEntropy(x, target(), { reduction, labelSmoothing: 0.1 })), logits);
    check((x) => tidy(() => crossEntropy(x, target(), { reduction, weight: uniform64([4], 0.5, 2, 10) })), logits);
  }
  check(
    (x) =>
      tidy(() =>
        crossEntropy(x, i64([0, 3, 2, 1, 3]), {
          ignoreIndex: 3,
          labelSmoothing: 0.2,
          weight: uniform64([4], 0.5, 2, 10),
        }),
      ),
    logits,
  );
  // K-dimensional form: logits [N, C, L], target [N, L]
  check(
    (x) => tidy(() => crossEntropy(x, i64([0, 2, 1, 1, 0, 2], [2, 3]))),
    () => [randn64([2, 3, 3], 11)],
  );
});

test('nllLoss: reductions, ignoreIndex and weights', () => {
  const logp = () => [randn64([4, 3], 12)];
  check((x) => tidy(() => nllLoss(x.logSoftmax(1), i64([0, 2, 1, 2]))), logp);
  check((x) => tidy(() => nllLoss(x, i64([0, 2, 1, 2]), { reduction: 'sum', ignoreIndex: 1 })), logp);
  check(
    (x) => tidy(() => nllLoss(x, i64([0, 2, 1, 2]), { reduction: 'none', weight: uniform64([3], 0.5, 2, 13) })),
    logp,
  );
});

test('mseLoss: each reduction, gradient of both arguments', () => {
  for (const r of ['mean', 'sum', 'none'] as const) {
    check(
      (a, b) => mseLoss(a, b, r),
      () => [randn64([3, 2], 14), randn64([3, 2], 15)],
    );
  }
});
