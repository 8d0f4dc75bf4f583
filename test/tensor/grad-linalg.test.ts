// Gradients of the matrix products: matmul (2-d, batched, broadcast, vector), mm, bmm, linear,
// addmm, outer.
import { test } from 'node:test';
import { gradcheck, randn64 } from '../helpers/gradcheck.js';
import { addmm, linear, outer, tidy, type Tensor } from '../../src/tensor/index.js';

const check = (f: (...xs: Tensor[]) => Tensor, make: () => Tensor[]) => tidy(() => gradcheck(f, make()));

test('matmul: 2-d, batched, broadcast batch, matrix-vector, vector-vector', () => {
  check(
    (a, b) => a.matmul(b),
    () => [randn64([2, 3], 1), randn64([3, 4], 2)],
  );
  check(
    (a, b) => a.matmul(b),
    () => [randn64([2, 2, 3], 1), randn64([2, 3, 2], 2)],
  );
  check(
    (a, b) => a.matmul(b),
    () => [randn64([2, 2, 3], 1), randn64([3, 2], 2)],
  );
  check(
    (a, b) => a.matmul(b),
    () => [randn64([2, 3], 1), randn64([3], 2)],
  );
  check(
    (a, b) => a.matmul(b),
    () => [randn64([4], 1), randn64([4], 2)],
  );
});

test('mm and bmm', () => {
  check(
    (a, b) => a.mm(b),
    () => [randn64([3, 2], 3), randn64([2, 4], 4)],
  );
  check(
    (a, b) => a.bmm(b),
    () => [randn64([2, 3, 2], 3), randn64([2, 2, 3], 4)],
  );
  check(
    (a, b) => a.mm(b.T),
    () => [randn64([3, 2], 3), randn64([4, 2], 4)],
  );
});

test('linear with and without bias, 2-d and 3-d input', () => {
  check(
    (x, w, b) => linear(x, w, b),
    () => [randn64([3, 4], 5), randn64([2, 4], 6), randn64([2], 7)],
  );
  check(
    (x, w) => linear(x, w),
    () => [randn64([3, 4], 5), randn64([2, 4], 6)],
  );
  check(
    (x, w, b) => linear(x, w, b),
    () => [randn64([2, 3, 4], 5), randn64([2, 4], 6), randn64([2], 7)],
  );
});

test('addmm with beta and alpha, broadcast input', () => {
  check(
    (c, a, b) => addmm(c, a, b),
    () => [randn64([2, 3], 8), randn64([2, 4], 9), randn64([4, 3], 10)],
  );
  check(
    (c, a, b) => addmm(c, a, b, 0.5, -2),
    () => [randn64([3], 8), randn64([2, 4], 9), randn64([4, 3], 10)],
  );
});

test('outer', () => {
  check(
    (a, b) => outer(a, b),
    () => [randn64([3], 11), randn64([4], 12)],
  );
});
