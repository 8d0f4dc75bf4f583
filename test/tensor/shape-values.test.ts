// Forward values of the shape, layout and indexing ops against hand-computed results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { i64 } from '../helpers/gradcheck.js';
import { arange, bincount, cat, oneHot, stack, tensor, tidy, type Tensor } from '../../src/tensor/index.js';

const m23 = () =>
  tensor([
    [0, 1, 2],
    [3, 4, 5],
  ]);
const vals = (ts: Tensor[]) => ts.map((t) => t.toArray());

test('reshape / view / flatten / squeeze / unsqueeze; views share storage', () =>
  tidy(() => {
    const x = arange(6).reshape(2, 3);
    assert.deepEqual(
      [x.shape, x.toArray()],
      [
        [2, 3],
        [0, 1, 2, 3, 4, 5],
      ],
    );
    assert.deepEqual(x.reshape(3, -1).shape, [3, 2]);
    assert.deepEqual(x.view(6).shape, [6]);
    assert.deepEqual(arange(24).reshape(2, 3, 4).flatten(1).shape, [2, 12]);
    assert.deepEqual(arange(24).reshape(2, 3, 4).flatten(0, 1).shape, [6, 4]);
    assert.deepEqual(tensor([[[1], [2]]]).squeeze().shape, [2]);
    assert.deepEqual(tensor([[[1], [2]]]).squeeze(0).shape, [2, 1]);
    assert.deepEqual(x.unsqueeze(1).shape, [2, 1, 3]);
    assert.deepEqual(x.unsqueeze(-1).shape, [2, 3, 1]);
    const v = x.view(3, 2);
    v.fill_(7);
    assert.deepEqual(x.toArray(), [7, 7, 7, 7, 7, 7], 'a view writes through');
    const c = x.clone();
    c.fill_(0);
    assert.deepEqual(x.toArray(), [7, 7, 7, 7, 7, 7], 'a clone does not');
  }));

test('transpose / permute / T / contiguous', () =>
  tidy(() => {
    const x = m23();
    const t = x.T;
    assert.deepEqual([t.shape, t.toArray(), t.isContiguous()], [[3, 2], [0, 3, 1, 4, 2, 5], false]);
    assert.ok(t.contiguous().isContiguous() && x.isContiguous());
    assert.deepEqual(t.contiguous().toArray(), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(x.transpose(0, 1).toArray(), t.toArray());
    const y = arange(24).reshape(2, 3, 4).permute(2, 0, 1);
    assert.deepEqual(y.shape, [4, 2, 3]);
    assert.deepEqual(y.select(0, 1).toArray(), [1, 5, 9, 13, 17, 21]);
  }));

test('narrow / slice (step, negative start) / select', () =>
  tidy(() => {
    const x = m23();
    assert.deepEqual(x.narrow(1, 1, 2).toArray(), [1, 2, 4, 5]);
    assert.deepEqual(x.slice(1, 0, 3, 2).toArray(), [0, 2, 3, 5]);
    assert.deepEqual(x.slice(1, -1).toArray(), [2, 5]);
    assert.deepEqual(x.slice(0, undefined, 1).toArray(), [0, 1, 2]);
    assert.deepEqual(x.select(0, 1).toArray(), [3, 4, 5]);
    assert.deepEqual(x.select(1, -1).toArray(), [2, 5]);
  }));

test('cat / stack / split / chunk', () =>
  tidy(() => {
    const a = tensor([[1, 2]]),
      b = tensor([
        [3, 4],
        [5, 6],
      ]);
    assert.deepEqual(cat([a, b]).toArray(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(cat([b, b], 1).toArray(), [3, 4, 3, 4, 5, 6, 5, 6]);
    const s = stack([tensor([1, 2]), tensor([3, 4])], 1);
    assert.deepEqual(
      [s.shape, s.toArray()],
      [
        [2, 2],
        [1, 3, 2, 4],
      ],
    );
    assert.deepEqual(vals(arange(5).split(2)), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(vals(arange(6).split([1, 5])), [[0], [1, 2, 3, 4, 5]]);
    assert.deepEqual(vals(m23().split(1, 1)), [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    assert.deepEqual(vals(arange(5).chunk(3)), [[0, 1], [2, 3], [4]]);
  }));

test('indexSelect / gather / scatter / scatterAdd / indexAdd', () =>
  tidy(() => {
    const x = m23();
    assert.deepEqual(x.indexSelect(1, i64([2, 0, 2])).toArray(), [2, 0, 2, 5, 3, 5]);
    assert.deepEqual(x.indexSelect(0, i64([1])).toArray(), [3, 4, 5]);
    assert.deepEqual(x.gather(1, i64([2, 0, 1, 1], [2, 2])).toArray(), [2, 0, 4, 4]);
    const z = tensor([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    assert.deepEqual(z.scatter(1, i64([2, 0], [2, 1]), tensor([[9], [8]])).toArray(), [0, 0, 9, 8, 0, 0]);
    assert.deepEqual(z.scatter(1, i64([1, 1], [2, 1]), 5).toArray(), [0, 5, 0, 0, 5, 0]);
    assert.deepEqual(
      z
        .scatterAdd(
          1,
          i64([1, 1, 0, 2], [2, 2]),
          tensor([
            [1, 2],
            [3, 4],
          ]),
        )
        .toArray(),
      [0, 3, 0, 3, 0, 4],
    );
    assert.deepEqual(
      z
        .indexAdd(
          0,
          i64([1, 1, 0]),
          tensor([
            [1, 1, 1],
            [2, 2, 2],
            [5, 5, 5],
          ]),
        )
        .toArray(),
      [5, 5, 5, 3, 3, 3],
    );
    assert.deepEqual(z.toArray(), [0, 0, 0, 0, 0, 0], 'out-of-place forms leave the source alone');
  }));

test('maskedFill / maskedSelect / nonzero', () =>
  tidy(() => {
    const x = m23();
    const mask = tensor([true, false, true]);
    assert.deepEqual(x.maskedFill(mask, -1).toArray(), [-1, 1, -1, -1, 4, -1]);
    assert.deepEqual(x.maskedFill(mask, tensor(-2)).toArray(), [-2, 1, -2, -2, 4, -2]);
    assert.deepEqual(x.maskedSelect(x.gt(2)).toArray(), [3, 4, 5]);
    assert.deepEqual(tensor([0, 3, 0, 1]).nonzero().toArray(), [1, 3]);
  }));

test('repeat / tile / repeatInterleave / expand', () =>
  tidy(() => {
    const x = tensor([1, 2]);
    assert.deepEqual(x.repeat(2).toArray(), [1, 2, 1, 2]);
    const r = x.repeat(2, 2);
    assert.deepEqual(
      [r.shape, r.toArray()],
      [
        [2, 4],
        [1, 2, 1, 2, 1, 2, 1, 2],
      ],
    );
    assert.deepEqual(m23().tile(2).shape, [2, 6]);
    assert.deepEqual(m23().tile(2, 1, 1).shape, [2, 2, 3]);
    assert.deepEqual(x.repeatInterleave(3).toArray(), [1, 1, 1, 2, 2, 2]);
    assert.deepEqual(m23().repeatInterleave(2, 0).toArray(), [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
    const e = tensor([[1], [2]]).expand(2, 3);
    assert.deepEqual(
      [e.shape, e.toArray()],
      [
        [2, 3],
        [1, 1, 1, 2, 2, 2],
      ],
    );
    assert.deepEqual(tensor([[1], [2]]).expand(4, -1, 2).shape, [4, 2, 2]);
  }));

test('flip / tril / triu / oneHot / bincount', () =>
  tidy(() => {
    const x = m23();
    assert.deepEqual(x.flip(1).toArray(), [2, 1, 0, 5, 4, 3]);
    assert.deepEqual(x.flip(0, 1).toArray(), [5, 4, 3, 2, 1, 0]);
    const sq = tensor([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
    assert.deepEqual(sq.tril().toArray(), [1, 0, 0, 4, 5, 0, 7, 8, 9]);
    assert.deepEqual(sq.triu(1).toArray(), [0, 2, 3, 0, 0, 6, 0, 0, 0]);
    assert.deepEqual(sq.tril(-1).toArray(), [0, 0, 0, 4, 0, 0, 7, 8, 0]);
    assert.deepEqual(oneHot(i64([2, 0]), 3).toArray(), [0, 0, 1, 1, 0, 0]);
    assert.deepEqual(bincount(i64([1, 1, 3]), 5).toArray(), [0, 2, 0, 1, 0]);
  }));
