// Named tensor maps <-> safetensors files. Writing streams tensor by tensor (each is copied out
// of libtorch only when the writer reaches it), so a checkpoint is never one big JS buffer.
import { SafetensorsReader, writeSafetensors, type SafeDtype, type SafeTensorEntry } from '../io/safetensors.js';
import { GrowbertError } from '../io/errors.js';
import { DTYPE_BYTES, type DType } from './dtype.js';
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { DTYPE_CODE } from './dtype.js';

const TO_SAFE: Record<DType, SafeDtype> = {
  float64: 'F64',
  float32: 'F32',
  bfloat16: 'BF16',
  float16: 'F16',
  int64: 'I64',
  int32: 'I32',
  bool: 'BOOL',
  uint8: 'U8',
};
const FROM_SAFE: Partial<Record<SafeDtype, DType>> = Object.fromEntries(
  Object.entries(TO_SAFE).map(([k, v]) => [v, k as DType]),
);

/** Writes tensors atomically in the given (Map insertion) order, with string metadata. */
export function saveSafetensors(file: string, tensors: Map<string, Tensor>, metadata?: Record<string, string>): void {
  const entries: SafeTensorEntry[] = [];
  for (const [name, t] of tensors) {
    const shape = t.shape;
    const dtype = t.dtype;
    entries.push({
      name,
      dtype: TO_SAFE[dtype],
      shape,
      byteLength: shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype],
      bytes: () => new Uint8Array(native.toBytes(t.handle)),
    });
  }
  writeSafetensors(file, entries, metadata);
}

/** Reads every tensor (or those named) from a file onto the CPU. */
export function loadSafetensors(
  file: string,
  names?: string[],
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const reader = new SafetensorsReader(file);
  try {
    const tensors = new Map<string, Tensor>();
    for (const name of names ?? reader.names()) {
      if (!reader.has(name)) throw new GrowbertError(`${file}: has no tensor named '${name}'`);
      const info = reader.info(name);
      const dtype = FROM_SAFE[info.dtype];
      if (!dtype)
        throw new GrowbertError(
          `${file}: tensor '${name}' has dtype ${info.dtype}, which growbert does not load; convert it to F32`,
        );
      tensors.set(name, new Tensor(native.fromBytes(reader.read(name), info.shape, DTYPE_CODE[dtype])));
    }
    return { tensors, metadata: reader.header.metadata };
  } finally {
    reader.close();
  }
}
