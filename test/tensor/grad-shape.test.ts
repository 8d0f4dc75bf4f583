// Gradients of the shape, layout and indexing ops.
import { test } from 'node:test';
import { gradcheck, randn64, i64 } from '../helpers/gradcheck.js';
import { cat, stack, tensor, tidy, type Tensor } from '../../src/tensor/index.js';

const check = (f: (...xs: Tensor[]) => Tensor | Tensor[], make: () => Tensor[]) => tidy(() => gradcheck(f, make()));
const x234 = () => [randn64([2, 3, 4], 1)];

test('reshape, view, flatten, squeeze, unsqueeze, contiguous', () => {
  check((a) => a.reshape(4, 6), x234);
  check((a) => a.reshape(-1), x234);
  check((a) => a.view(6, 4), x234);
  check((a) => a.flatten(), x234);
  check((a) => a.flatten(1), x234);
  check((a) => a.unsqueeze(1), x234);
  check(
    (a) => a.squeeze(),
    () => [randn64([2, 1, 3, 1], 2)],
  );
  check(
    (a) => a.squeeze(1),
    () => [randn64([2, 1, 3], 2)],
  );
  check((a) => a.transpose(0, 2).contiguous(), x234);
});

test('transpose, permute, T, flip, tril, triu', () => {
  check((a) => a.transpose(0, 2), x234);
  check((a) => a.permute(2, 0, 1), x234);
  check(
    (a) => a.T,
    () => [randn64([3, 4], 3)],
  );
  check((a) => a.flip(0, 2), x234);
  check(
    (a) => a.tril(),
    () => [randn64([4, 4], 4)],
  );
  check(
    (a) => a.triu(1),
    () => [randn64([3, 4], 4)],
  );
  check(
    (a) => a.tril(-1),
    () => [randn64([2, 4, 4], 4)],
  );
});

test('narrow, slice (with step), select', () => {
  check((a) => a.narrow(2, 1, 2), x234);
  check((a) => a.slice(1, 1), x234);
  check((a) => a.slice(2, 0, 4, 2), x234);
  check((a) => a.slice(1, -2, undefined), x234);
  check((a) => a.select(1, 2), x234);
  check((a) => a.select(-1, 0), x234);
});

test('cat and stack along several dims', () => {
  check(
    (a, b) => cat([a, b], 0),
    () => [randn64([2, 3], 5), randn64([1, 3], 6)],
  );
  check(
    (a, b, c) => cat([a, b, c], 1),
    () => [randn64([2, 1], 5), randn64([2, 3], 6), randn64([2, 2], 7)],
  );
  check(
    (a, b) => stack([a, b], 0),
    () => [randn64([2, 3], 5), randn64([2, 3], 6)],
  );
  check(
    (a, b) => stack([a, b], -1),
    () => [randn64([2, 3], 5), randn64([2, 3], 6)],
  );
});

test('split (by size and by sizes) and chunk: every piece carries gradient', () => {
  check((a) => a.split(2, 2), x234);
  check((a) => a.split([1, 2], 1), x234);
  check((a) => a.chunk(2, 0), x234);
  check((a) => a.chunk(3, -1), x234);
});

test('indexSelect and gather (repeated indices accumulate)', () => {
  check((a) => tidy(() => a.indexSelect(1, i64([2, 0, 2]))), x234);
  check(
    (a) => tidy(() => a.gather(1, i64([0, 2, 2, 1, 0, 0], [2, 3]))),
    () => [randn64([2, 4], 8)],
  );
  check(
    (a) => tidy(() => a.gather(0, i64([1, 0, 1, 1], [2, 2]))),
    () => [randn64([3, 2], 8)],
  );
});

test('scatter (tensor and scalar source), scatterAdd, indexAdd', () => {
  const idx = () => i64([3, 0, 1, 2], [2, 2]); // distinct positions per row
  check(
    (s, src) => tidy(() => s.scatter(1, idx(), src)),
    () => [randn64([2, 4], 9), randn64([2, 2], 10)],
  );
  check(
    (s) => tidy(() => s.scatter(1, idx(), 0.5)),
    () => [randn64([2, 4], 9)],
  );
  check(
    (s, src) => tidy(() => s.scatterAdd(1, i64([1, 1, 3, 0], [2, 2]), src)),
    () => [randn64([2, 4], 9), randn64([2, 2], 10)],
  );
  check(
    (s, src) => tidy(() => s.indexAdd(0, i64([2, 0, 2]), src)),
    () => [randn64([3, 2], 11), randn64([3, 2], 12)],
  );
});

test('maskedFill with a scalar and with a 0-d tensor value', () => {
  const mask = () =>
    tensor(
      [
        [true, false, false],
        [false, true, true],
      ],
      { dtype: 'bool' },
    );
  check(
    (a) => tidy(() => a.maskedFill(mask(), -1)),
    () => [randn64([2, 3], 13)],
  );
  check(
    (a, v) => tidy(() => a.maskedFill(mask(), v)),
    () => [randn64([2, 3], 13), randn64([], 14)],
  );
});

test('repeat, tile, repeatInterleave, expand', () => {
  check(
    (a) => a.repeat(2, 1, 3),
    () => [randn64([2, 3], 15)],
  );
  check(
    (a) => a.repeat(2, 1),
    () => [randn64([3], 15)],
  );
  check(
    (a) => a.tile(2),
    () => [randn64([2, 3], 15)],
  );
  check(
    (a) => a.repeatInterleave(2, 1),
    () => [randn64([2, 3], 15)],
  );
  check(
    (a) => a.expand(4, 2, 3),
    () => [randn64([2, 1], 16)],
  );
  check(
    (a) => a.expand(2, -1, 3),
    () => [randn64([1, 4, 1], 16)],
  );
});
