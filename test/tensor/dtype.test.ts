// Dtypes: data() for every dtype, conversions with to(), and the 16-bit float converters of
// dtype.ts checked by hand and against libtorch's own rounding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bf16ToFloat,
  f16ToFloat,
  floatToBf16,
  floatToF16,
  Generator,
  isFloating,
  randn,
  tensor,
  tidy,
  type DType,
} from '../../src/tensor/index.js';

test('data() returns the right typed array for every dtype', () =>
  tidy(() => {
    const v = [0, 1, -2, 3];
    const cases: [DType, unknown][] = [
      ['float64', Float64Array.from(v)],
      ['float32', Float32Array.from(v)],
      ['int64', BigInt64Array.from(v, BigInt)],
      ['int32', Int32Array.from(v)],
      ['bfloat16', Uint16Array.from(v, floatToBf16)],
      ['float16', Uint16Array.from(v, floatToF16)],
      ['bool', Uint8Array.from([0, 1, 1, 1])],
      ['uint8', Uint8Array.from([0, 1, 254, 3])],
    ];
    for (const [dtype, expected] of cases) {
      const t = tensor(v, { dtype });
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.data(), expected, dtype);
    }
    // non-contiguous data comes out in logical order
    assert.deepEqual(
      tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { dtype: 'int32' },
      ).T.data(),
      Int32Array.from([1, 3, 2, 4]),
    );
    assert.deepEqual(
      tensor([2 ** 53, -(2 ** 53)], { dtype: 'int64' }).data(),
      BigInt64Array.from([2n ** 53n, -(2n ** 53n)]),
    );
  }));

test('to(): conversions between dtypes', () =>
  tidy(() => {
    const x = tensor([1.7, -1.7, 0, 2.5], { dtype: 'float64' });
    assert.deepEqual(x.to('int64').data(), BigInt64Array.from([1n, -1n, 0n, 2n]));
    assert.deepEqual(x.to('int32').toArray(), [1, -1, 0, 2]);
    assert.deepEqual(x.to('bool').toArray(), [1, 1, 0, 1]);
    assert.deepEqual(x.to('float32').dtype, 'float32');
    assert.deepEqual(x.float().dtype, 'float32');
    assert.deepEqual(x.long().dtype, 'int64');
    assert.deepEqual(tensor([true, false]).to('float32').toArray(), [1, 0]);
    assert.equal(x.to('bfloat16').to('float32').toArray()[3], 2.5);
    assert.ok(isFloating('bfloat16') && isFloating('float16') && !isFloating('int64') && !isFloating('bool'));
  }));

test('bfloat16 and float16 converters: hand-computed bit patterns', () => {
  assert.deepEqual([1, -2, 0.5, 0, 65280, 0.1].map(floatToBf16), [0x3f80, 0xc000, 0x3f00, 0, 0x477f, 0x3dcd]);
  assert.equal(floatToBf16(Infinity), 0x7f80);
  assert.equal(floatToBf16(NaN), 0x7fc0);
  assert.equal(floatToBf16(1 + 2 ** -8), 0x3f80); // halfway: rounds to even (down)
  assert.equal(floatToBf16(1 + 3 * 2 ** -8), 0x3f82); // halfway: rounds to even (up)
  assert.deepEqual([0x3f80, 0xc000, 0x3dcd, 0x7f80].map(bf16ToFloat), [1, -2, 0.10009765625, Infinity]);

  assert.deepEqual(
    [1, -2, 0.5, 0, 65504, 0.1, 2 ** -24, 2 ** -14].map(floatToF16),
    [0x3c00, 0xc000, 0x3800, 0, 0x7bff, 0x2e66, 0x0001, 0x0400],
  );
  assert.equal(floatToF16(-0), 0x8000);
  assert.equal(floatToF16(1e6), 0x7c00); // overflow to infinity
  assert.equal(floatToF16(-Infinity), 0xfc00);
  assert.equal(floatToF16(NaN) & 0x7c00, 0x7c00);
  assert.equal(floatToF16(2 ** -26), 0); // below half the smallest subnormal
  assert.equal(floatToF16(1 + 2 ** -11), 0x3c00); // halfway: rounds to even
  assert.deepEqual([0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00, 0x8000].map(f16ToFloat), [
    1,
    -2,
    65504,
    2 ** -24,
    2 ** -14,
    Infinity,
    -0,
  ]);
  assert.ok(Number.isNaN(f16ToFloat(0x7e00)));
});

test('the converters agree with libtorch on random values, subnormals and ties', () =>
  tidy(() => {
    // normal draws at several magnitudes, including float16's subnormal range and overflow
    const scales = [1e-7, 1e-5, 1e-3, 1, 1e3, 7e4];
    const parts = scales.map((s, i) => randn([500], { generator: new Generator(i + 1) }).mul(s));
    const x32 = parts.map((p) => p.data() as Float32Array);
    const values = Float32Array.from(x32.flatMap((a) => Array.from(a)));
    const t = tensor(values);
    const bfLib = t.to('bfloat16').data() as Uint16Array;
    const hLib = t.to('float16').data() as Uint16Array;
    for (let i = 0; i < values.length; i++) {
      assert.equal(floatToBf16(values[i]), bfLib[i], `bf16 of ${values[i]}`);
      assert.equal(floatToF16(values[i]), hLib[i], `f16 of ${values[i]}`);
    }
    // decoding: bit patterns through libtorch's to(float32) and through the JS decoders
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const bfBack = tensor(all, { dtype: 'bfloat16' }).to('float32').data() as Float32Array;
    const hBack = tensor(all, { dtype: 'float16' }).to('float32').data() as Float32Array;
    for (let i = 0; i < 65536; i++) {
      assert.ok(
        Object.is(bf16ToFloat(i), bfBack[i]) || (Number.isNaN(bfBack[i]) && Number.isNaN(bf16ToFloat(i))),
        `bf16 bits ${i}`,
      );
      assert.ok(
        Object.is(f16ToFloat(i), hBack[i]) || (Number.isNaN(hBack[i]) && Number.isNaN(f16ToFloat(i))),
        `f16 bits ${i}`,
      );
    }
  }));
