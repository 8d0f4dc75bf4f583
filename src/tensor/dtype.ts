// Dtypes and devices. The codes are c10::ScalarType values, as the addon exports them
// (native.dtypeCodes): they are read from it, never copied, so the two sides cannot disagree.
import { native } from './native.js';

export const DTYPES = ['float64', 'float32', 'bfloat16', 'float16', 'int64', 'int32', 'bool', 'uint8'] as const;
export type DType = (typeof DTYPES)[number];
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

function readCodes(): Record<DType, number> {
  const codes = native.dtypeCodes;
  const missing = DTYPES.filter((d) => typeof codes[d] !== 'number');
  if (missing.length)
    throw new Error(
      `the native addon has no code for dtype(s) ${missing.join(', ')}; rebuild it (npm run build:native)`,
    );
  return Object.fromEntries(DTYPES.map((d) => [d, codes[d]])) as Record<DType, number>;
}
export const DTYPE_CODE: Readonly<Record<DType, number>> = readCodes();
const CODE_DTYPE = new Map<number, DType>(Object.entries(DTYPE_CODE).map(([k, v]) => [v, k as DType]));

export function dtypeFromCode(code: number): DType {
  const d = CODE_DTYPE.get(code);
  if (!d) throw new Error(`unsupported native dtype code ${code}`);
  return d;
}

export const DTYPE_BYTES: Record<DType, number> = {
  float64: 8,
  float32: 4,
  bfloat16: 2,
  float16: 2,
  int64: 8,
  int32: 4,
  bool: 1,
  uint8: 1,
};

export function isFloating(d: DType): boolean {
  return d === 'float64' || d === 'float32' || d === 'bfloat16' || d === 'float16';
}

/** The typed array that holds a dtype's raw data (16-bit floats as raw Uint16 bits). */
export type TypedArrayFor<D extends DType> = D extends 'float64'
  ? Float64Array
  : D extends 'float32'
    ? Float32Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : D extends 'bfloat16' | 'float16'
          ? Uint16Array
          : Uint8Array;

export type AnyTypedArray = Float64Array | Float32Array | BigInt64Array | Int32Array | Uint16Array | Uint8Array;

export function viewAs(dtype: DType, buf: ArrayBuffer): AnyTypedArray {
  switch (dtype) {
    case 'float64':
      return new Float64Array(buf);
    case 'float32':
      return new Float32Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'bfloat16':
    case 'float16':
      return new Uint16Array(buf);
    default:
      return new Uint8Array(buf);
  }
}

/** The dtype a typed array naturally carries (Uint16Array is ambiguous, so it needs a dtype). */
export function dtypeOfArray(a: AnyTypedArray | Int8Array | Int16Array | Uint32Array): DType | null {
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'uint8';
  return null;
}

// bfloat16 / float16 <-> float32 converters for data read out as raw 16-bit words.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bf16ToFloat(bits: number): number {
  u32[0] = bits << 16;
  return f32[0];
}
export function floatToBf16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return 0x7fc0; // NaN
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff; // round to nearest even
}
export function f16ToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
export function floatToF16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1),
      mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return half;
}
