// Creating tensors: constants, ranges, random draws and data from JavaScript arrays.
import { native, type NativeGenerator } from './native.js';
import {
  DTYPE_CODE,
  DTYPE_BYTES,
  dtypeOfArray,
  floatToBf16,
  floatToF16,
  type AnyTypedArray,
  type Device,
  type DType,
} from './dtype.js';
import { Tensor, type Scalar } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
}
/** A seeded random generator (CPU), for draws independent of the global seed. */
export class Generator {
  readonly handle: NativeGenerator;
  constructor(seed: number) {
    this.handle = native.makeGenerator(seed);
  }
}
export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

function code(op: string, o?: CreateOptions, dflt: DType = 'float32'): number {
  const c = DTYPE_CODE[o?.dtype ?? dflt];
  if (c === undefined)
    throw new Error(`${op}: unknown dtype '${o?.dtype}'; use one of ${Object.keys(DTYPE_CODE).join(', ')}`);
  return c;
}

export function zeros(shape: number[], o?: CreateOptions): Tensor {
  return new Tensor(native.zeros(shape, code('zeros', o), o?.device));
}
export function ones(shape: number[], o?: CreateOptions): Tensor {
  return new Tensor(native.ones(shape, code('ones', o), o?.device));
}
export function empty(shape: number[], o?: CreateOptions): Tensor {
  return new Tensor(native.empty(shape, code('empty', o), o?.device));
}
export function full(shape: number[], value: Scalar, o?: CreateOptions): Tensor {
  return new Tensor(native.full(shape, value, code('full', o), o?.device));
}
export function zerosLike(t: Tensor): Tensor {
  return new Tensor(native.zerosLike(t.handle));
}
export function onesLike(t: Tensor): Tensor {
  return new Tensor(native.onesLike(t.handle));
}
export function fullLike(t: Tensor, value: Scalar): Tensor {
  return new Tensor(native.fullLike(t.handle, value));
}
/** Values start, start+step, ... below end (int64 unless a dtype is given). */
export function arange(start: number, end?: number, step = 1, o?: CreateOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  return new Tensor(native.arange(start, end, step, code('arange', o, 'int64'), o?.device));
}
export function eye(n: number, m = n, o?: CreateOptions): Tensor {
  return new Tensor(native.eye(n, m, code('eye', o), o?.device));
}

export function randn(shape: number[], o?: RandomOptions): Tensor {
  return new Tensor(native.randn(shape, code('randn', o), o?.device, o?.generator?.handle));
}
export function rand(shape: number[], o?: RandomOptions): Tensor {
  return new Tensor(native.rand(shape, code('rand', o), o?.device, o?.generator?.handle));
}
/** Integers uniform in [low, high). */
export function randint(low: number, high: number, shape: number[], o?: RandomOptions): Tensor {
  return new Tensor(native.randint(low, high, shape, code('randint', o, 'int64'), o?.device, o?.generator?.handle));
}
export function randperm(n: number, o?: RandomOptions): Tensor {
  return new Tensor(native.randperm(n, code('randperm', o, 'int64'), o?.device, o?.generator?.handle));
}
/** Draws 0/1 with the given per-element probabilities, or with one probability p for every element of t. */
export function bernoulli(t: Tensor, p?: number, generator?: Generator): Tensor {
  return new Tensor(native.bernoulli(t.handle, p, generator?.handle));
}
export function multinomial(probs: Tensor, n: number, replacement = false, generator?: Generator): Tensor {
  return new Tensor(native.multinomial(probs.handle, n, replacement, generator?.handle));
}

type Nested = number | boolean | Nested[];
function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

/**
 * A tensor from JavaScript data: nested arrays (shape inferred, float32 by default) or a typed
 * array (flat unless a shape is given; dtype from the array, or given for Uint16 bf16/f16 bits).
 * The data is copied.
 */
export function tensor(
  data: Nested | AnyTypedArray | Int8Array | Int16Array | Uint32Array,
  o: CreateOptions & { shape?: number[] } = {},
): Tensor {
  let shape: number[];
  let bytes: ArrayBufferView;
  let dtype: DType;
  if (o.dtype !== undefined) code('tensor', o);
  if (ArrayBuffer.isView(data)) {
    shape = o.shape ?? [data.length];
    const natural = dtypeOfArray(data as AnyTypedArray);
    if (data instanceof Uint16Array) {
      if (o.dtype !== 'bfloat16' && o.dtype !== 'float16')
        throw new Error('tensor(): a Uint16Array holds raw 16-bit float bits; pass dtype bfloat16 or float16');
      dtype = o.dtype;
    } else if (natural === null) {
      throw new Error('tensor(): unsupported typed array; use Float64/Float32/BigInt64/Int32/Uint16/Uint8Array');
    } else {
      dtype = natural === 'uint8' && o.dtype === 'bool' ? 'bool' : natural;
    }
    bytes = data;
  } else {
    shape = o.shape ?? inferShape(data);
    const flat = [data].flat(Infinity as 1) as (number | boolean)[];
    const n = shape.reduce((x, y) => x * y, 1);
    if (flat.length !== n)
      throw new Error(
        `tensor(): data has ${flat.length} values but shape [${shape}] needs ${n} (ragged nested arrays?)`,
      );
    dtype = o.dtype ?? (typeof flat[0] === 'boolean' ? 'bool' : 'float32');
    bytes = packValues(flat, dtype);
  }
  let t = new Tensor(native.fromBytes(bytes, shape, DTYPE_CODE[dtype]));
  if (o.dtype && o.dtype !== dtype) {
    const c = t.to(o.dtype);
    t.dispose();
    t = c;
  }
  if (o.device && o.device !== 'cpu') {
    const c = t.to(o.device);
    t.dispose();
    t = c;
  }
  return t;
}

function packValues(values: (number | boolean)[], dtype: DType): ArrayBufferView {
  const n = values.length;
  switch (dtype) {
    case 'float64':
      return Float64Array.from(values, Number);
    case 'float32':
      return Float32Array.from(values, Number);
    case 'int64':
      return BigInt64Array.from(values, (v) => BigInt(Math.trunc(Number(v))));
    case 'int32':
      return Int32Array.from(values, Number);
    case 'bfloat16':
      return Uint16Array.from(values, (v) => floatToBf16(Number(v)));
    case 'float16':
      return Uint16Array.from(values, (v) => floatToF16(Number(v)));
    case 'uint8':
      return Uint8Array.from(values, Number);
    default: {
      const out = new Uint8Array(n * DTYPE_BYTES[dtype]);
      for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
      return out;
    }
  }
}

/** A scalar (0-d) tensor. */
export function scalar(value: number, o?: CreateOptions): Tensor {
  return full([], value, o);
}
