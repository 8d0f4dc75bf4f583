// The fused CPU float32 <-> bfloat16 cast (native/src/fused-cast.cc) must be libtorch's cast bit for bit,
// both ways, on random values of every magnitude, the special values (NaN, infinities, signed zero,
// subnormals, ties to even, overflow to infinity), odd lengths and strided inputs; its gradient must be
// the cast's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastCast, manualSeed, randn, tensor, tidy, type Tensor } from '../../src/tensor/index.js';

/** Whether a and b hold the same bits (NaN equal to NaN, -0 unlike +0). */
function sameBits(a: Tensor, b: Tensor): boolean {
  assert.equal(a.dtype, b.dtype);
  assert.deepEqual(a.shape, b.shape);
  const [x, y] = [a.to('float32').toArray() as number[], b.to('float32').toArray() as number[]];
  return x.every((v, i) => Object.is(v, y[i]));
}

test('fastCast: float32 -> bfloat16 -> float32 equals libtorch bit for bit, special values included', () => {
  manualSeed(3);
  tidy(() => {
    // every magnitude from subnormal to near float32's maximum, an odd length (the kernel's tail)
    const x = randn([4099]).mul(randn([4099]).mul(30).exp());
    const specials = tensor([NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 0, -0, 1e-40, -1e-45, 1.00390625, 1.01171875]);
    for (const v of [x, specials, x.view(-1)]) {
      const ours = fastCast(v, 'bfloat16');
      assert.equal(ours.dtype, 'bfloat16');
      assert.ok(sameBits(ours, v.to('bfloat16')), 'float32 -> bfloat16 differs from libtorch');
      assert.ok(sameBits(fastCast(ours, 'float32'), ours.to('float32')), 'bfloat16 -> float32 differs');
    }
    // ties round to even: 1 + 2^-8 rounds down to 1, 1 + 3 * 2^-8 up to 1 + 2^-6
    assert.deepEqual(
      fastCast(tensor([1.00390625, 1.01171875]), 'bfloat16')
        .to('float32')
        .toArray(),
      [1, 1.015625],
    );
    return undefined;
  });
});

test('fastCast: strided input, a no-op cast, other dtypes through libtorch', () => {
  tidy(() => {
    // a transposed matrix (a weight gradient's layout: the kernel's tiled path, ragged tiles) and another stride
    const x = randn([137, 70]).transpose(0, 1);
    for (const v of [x, randn([9, 4, 6]).transpose(0, 2), randn([200, 3]).narrow(1, 0, 2)]) {
      const ours = fastCast(v, 'bfloat16');
      assert.ok(sameBits(ours, v.to('bfloat16')));
      assert.ok(ours.isContiguous(), 'the result is row-major');
      assert.ok(sameBits(fastCast(ours.transpose(0, 1), 'float32'), ours.transpose(0, 1).to('float32')));
    }
    assert.equal(fastCast(x, 'float32'), x, 'same dtype: the tensor itself');
    assert.ok(sameBits(fastCast(x, 'float64').to('float32'), x.contiguous()));
    return undefined;
  });
});

test('fastCast: the gradient is the cast of the upstream gradient, both ways', () => {
  tidy(() => {
    const w = randn([300, 17]).requiresGrad_();
    const up = randn([300, 17]).to('bfloat16');
    fastCast(w, 'bfloat16').mul(up).sum().backward();
    const ref = w.detach().requiresGrad_();
    ref.to('bfloat16').mul(up).sum().backward();
    assert.equal(w.grad!.dtype, 'float32');
    assert.ok(sameBits(w.grad!, ref.grad!), 'float32 <- bfloat16 gradient differs from libtorch');

    const h = randn([64]).to('bfloat16').requiresGrad_();
    fastCast(h, 'float32')
      .mul(randn([64]))
      .sum()
      .backward();
    assert.equal(h.grad!.dtype, 'bfloat16');
    return undefined;
  });
});
