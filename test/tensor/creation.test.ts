// Creation ops against hand-computed values: constants, ranges, eye, tensors from nested and
// typed arrays, the random creators' shapes and ranges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  arange,
  bernoulli,
  empty,
  eye,
  full,
  fullLike,
  Generator,
  multinomial,
  ones,
  onesLike,
  rand,
  randint,
  randn,
  randperm,
  scalar,
  tensor,
  tidy,
  zeros,
  zerosLike,
} from '../../src/tensor/index.js';

const within = (fn: () => void) => tidy(fn);

test('zeros / ones / full / empty: shape, dtype and values', () =>
  within(() => {
    const z = zeros([2, 3]);
    assert.deepEqual([z.shape, z.dtype, z.device, z.numel, z.ndim], [[2, 3], 'float32', 'cpu', 6, 2]);
    assert.deepEqual(z.toArray(), [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(ones([3], { dtype: 'int64' }).data(), BigInt64Array.from([1n, 1n, 1n]));
    assert.deepEqual(ones([2], { dtype: 'bool' }).data(), Uint8Array.from([1, 1]));
    assert.deepEqual(full([2, 2], 2.5, { dtype: 'float64' }).data(), Float64Array.from([2.5, 2.5, 2.5, 2.5]));
    assert.deepEqual(full([2], true, { dtype: 'bool' }).data(), Uint8Array.from([1, 1]));
    assert.deepEqual(full([1], -7, { dtype: 'int32' }).data(), Int32Array.from([-7]));
    assert.deepEqual(empty([4, 0]).shape, [4, 0]);
    assert.equal(zeros([]).ndim, 0);
    assert.equal(scalar(3.5, { dtype: 'float64' }).item(), 3.5);
    const like = full([2], 3, { dtype: 'float64' });
    assert.deepEqual(
      [zerosLike(like).dtype, onesLike(like).toArray(), fullLike(like, 9).toArray()],
      ['float64', [1, 1], [9, 9]],
    );
  }));

test('arange: end only, start/end/step, negative and fractional steps, dtypes', () =>
  within(() => {
    const a = arange(4);
    assert.equal(a.dtype, 'int64');
    assert.deepEqual(a.data(), BigInt64Array.from([0n, 1n, 2n, 3n]));
    assert.deepEqual(arange(2, 8, 2).toArray(), [2, 4, 6]);
    assert.deepEqual(arange(5, 0, -2).toArray(), [5, 3, 1]);
    assert.deepEqual(arange(0, 1, 0.25, { dtype: 'float64' }).toArray(), [0, 0.25, 0.5, 0.75]);
    assert.deepEqual(arange(3, undefined, 1, { dtype: 'float32' }).data(), Float32Array.from([0, 1, 2]));
  }));

test('eye: square and rectangular', () =>
  within(() => {
    assert.deepEqual(eye(3).toArray(), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const r = eye(2, 3, { dtype: 'int32' });
    assert.deepEqual([r.shape, r.dtype, r.toArray()], [[2, 3], 'int32', [1, 0, 0, 0, 1, 0]]);
  }));

test('tensor from nested arrays: shape inference, default float32, bool, explicit dtypes', () =>
  within(() => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual([t.shape, t.dtype, t.toArray()], [[2, 3], 'float32', [1, 2, 3, 4, 5, 6]]);
    const b = tensor([
      [true, false],
      [false, true],
    ]);
    assert.deepEqual([b.dtype, b.data()], ['bool', Uint8Array.from([1, 0, 0, 1])]);
    assert.deepEqual(tensor([1.5, -2], { dtype: 'float64' }).data(), Float64Array.from([1.5, -2]));
    assert.deepEqual(tensor([3, -4], { dtype: 'int64' }).data(), BigInt64Array.from([3n, -4n]));
    assert.deepEqual(tensor([3, -4], { dtype: 'int32' }).data(), Int32Array.from([3, -4]));
    assert.deepEqual(tensor([0, 2], { dtype: 'bool' }).data(), Uint8Array.from([0, 1]));
    assert.deepEqual(tensor([1, 2, 3, 4], { shape: [2, 2] }).shape, [2, 2]);
    assert.deepEqual(tensor([[[1], [2]]]).shape, [1, 2, 1]);
    assert.throws(() => tensor([[1, 2], [3]]), /ragged/);
  }));

test('tensor from typed arrays: dtype from the array, shape, copies the data', () =>
  within(() => {
    const src = Float64Array.from([1, 2, 3, 4]);
    const t = tensor(src, { shape: [2, 2] });
    src[0] = 99;
    assert.deepEqual([t.dtype, t.shape, t.toArray()], ['float64', [2, 2], [1, 2, 3, 4]]);
    assert.equal(tensor(Float32Array.from([1])).dtype, 'float32');
    assert.deepEqual(tensor(BigInt64Array.from([-(2n ** 40n)])).data(), BigInt64Array.from([-(2n ** 40n)]));
    assert.equal(tensor(Int32Array.from([1, 2])).dtype, 'int32');
    assert.equal(tensor(Uint8Array.from([1, 2])).dtype, 'uint8');
    assert.equal(tensor(Uint8Array.from([1, 0]), { dtype: 'bool' }).dtype, 'bool');
    // a typed array and a different dtype: converted
    assert.deepEqual(tensor(Int32Array.from([1, 2]), { dtype: 'float64' }).data(), Float64Array.from([1, 2]));
    // a subarray with a byte offset
    const big = Float32Array.from([0, 1, 2, 3, 4]);
    assert.deepEqual(tensor(big.subarray(2)).toArray(), [2, 3, 4]);
    assert.throws(
      () => tensor(Float32Array.from([1, 2, 3]), { shape: [2, 2] }),
      /fromBytes: data has 12 bytes but shape and dtype need 16/,
    );
    assert.throws(() => tensor(Int16Array.from([1])), /unsupported typed array/);
  }));

test('tensor from Uint16 bfloat16 / float16 bits', () =>
  within(() => {
    // 1, -2, 0.5 as bf16 (0x3f80, 0xc000, 0x3f00) and f16 (0x3c00, 0xc000, 0x3800)
    const bf = tensor(Uint16Array.from([0x3f80, 0xc000, 0x3f00]), { dtype: 'bfloat16' });
    assert.deepEqual(
      [bf.dtype, bf.toArray(), bf.data()],
      ['bfloat16', [1, -2, 0.5], Uint16Array.from([0x3f80, 0xc000, 0x3f00])],
    );
    const h = tensor(Uint16Array.from([0x3c00, 0xc000, 0x3800]), { dtype: 'float16', shape: [3, 1] });
    assert.deepEqual([h.dtype, h.shape, h.toArray()], ['float16', [3, 1], [1, -2, 0.5]]);
    assert.throws(() => tensor(Uint16Array.from([1])), /pass dtype bfloat16 or float16/);
    // from numbers: packed through the JS converters
    assert.deepEqual(tensor([1, -2, 0.1], { dtype: 'bfloat16' }).data(), Uint16Array.from([0x3f80, 0xc000, 0x3dcd]));
    assert.deepEqual(tensor([1, -2, 0.1], { dtype: 'float16' }).data(), Uint16Array.from([0x3c00, 0xc000, 0x2e66]));
  }));

test('random creators: shapes, dtypes and ranges', () =>
  within(() => {
    const g = new Generator(1);
    const n = randn([1000], { generator: g });
    assert.equal(n.dtype, 'float32');
    assert.ok(Math.abs(n.mean().item()) < 0.15 && Math.abs(n.std().item() - 1) < 0.1);
    const u = rand([1000], { dtype: 'float64', generator: g });
    assert.ok(u.min().item() >= 0 && u.max().item() < 1);
    const r = randint(3, 7, [500], { generator: g });
    assert.equal(r.dtype, 'int64');
    assert.deepEqual([r.min().item(), r.max().item()], [3, 6]);
    assert.deepEqual(randperm(6, { generator: g }).sort().values.toArray(), [0, 1, 2, 3, 4, 5]);
    const b = bernoulli(full([1000], 0.25), undefined, g);
    assert.ok(b.eq(0).logicalOr(b.eq(1)).all().item() === 1);
    const m = b.mean().item();
    assert.ok(m > 0.18 && m < 0.32, `bernoulli mean ${m}`);
    assert.ok(
      bernoulli(zeros([100]), 1, g)
        .all()
        .item() === 1,
    );
    const picks = multinomial(tensor([0, 0, 1, 0]), 3, true, g);
    assert.deepEqual(picks.toArray(), [2, 2, 2]);
  }));
