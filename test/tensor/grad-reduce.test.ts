// Gradients of the reductions: sum/mean over dims with keepdim, max/min, var/std, norm, cumsum,
// logsumexp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck, randn64, f64 } from '../helpers/gradcheck.js';
import { tidy, type Tensor } from '../../src/tensor/index.js';

const check = (f: (...xs: Tensor[]) => Tensor | Tensor[], make: () => Tensor[]) => tidy(() => gradcheck(f, make()));

test('the checker rejects a wrong gradient', () => {
  // d/da (a * stop_grad(a)) is a by autograd but 2a numerically.
  assert.throws(
    () =>
      check(
        (a) => a.mul(a.detach()),
        () => [randn64([3], 1)],
      ),
    /gradcheck: input 0 element/,
  );
});

test('sum over everything, dims, several dims, keepdim', () => {
  const x = () => [randn64([2, 3, 4], 1)];
  check((a) => a.sum(), x);
  check((a) => a.sum(1), x);
  check((a) => a.sum([0, 2]), x);
  check((a) => a.sum(-1, true), x);
  check((a) => a.sum([0, 1], true), x);
});

test('mean over everything, dims, keepdim', () => {
  const x = () => [randn64([2, 3, 4], 2)];
  check((a) => a.mean(), x);
  check((a) => a.mean(0), x);
  check((a) => a.mean([1, 2]), x);
  check((a) => a.mean(-1, true), x);
});

test('max / min over everything and maxDim / minDim values (distinct values)', () => {
  const x = () => [randn64([3, 4], 3)];
  check((a) => a.max(), x);
  check((a) => a.min(), x);
  check((a) => a.maxDim(1).values, x);
  check((a) => a.maxDim(0, true).values, x);
  check((a) => a.minDim(1).values, x);
});

test('var / std: unbiased and population, dims, keepdim', () => {
  const x = () => [randn64([3, 5], 4)];
  check((a) => a.var(), x);
  check((a) => a.var(undefined, 0), x);
  check((a) => a.var(1), x);
  check((a) => a.var(0, 0, true), x);
  check((a) => a.std(), x);
  check((a) => a.std(1, 0), x);
  check((a) => a.std([0, 1], 1, true), x);
});

test('norm: p = 2, 1, 3 over everything and over dims', () => {
  const x = () => [randn64([3, 4], 5)];
  check((a) => a.norm(), x);
  check((a) => a.norm(2, 1), x);
  check((a) => a.norm(2, [0, 1], true), x);
  check((a) => a.norm(1), x);
  check((a) => a.norm(3, 0), x);
});

test('cumsum along each dim', () => {
  const x = () => [randn64([3, 4], 6)];
  check((a) => a.cumsum(0), x);
  check((a) => a.cumsum(1), x);
  check((a) => a.cumsum(-1), x);
});

test('logsumexp over dims, keepdim', () => {
  const x = () => [randn64([3, 4], 7)];
  check((a) => a.logsumexp(1), x);
  check((a) => a.logsumexp([0, 1]), x);
  check((a) => a.logsumexp(0, true), x);
  // large values: the stable form must not overflow
  check(
    (a) => a.logsumexp(0),
    () => [f64([700, 710, 690, 705])],
  );
});

test('prod (nonzero values)', () => {
  check(
    (a) => a.prod(),
    () => [f64([1.5, -0.5, 2, 0.75])],
  );
});
