// TFRecord framing, the container of TensorBoard event files (TensorFlow's
// tensorflow/core/lib/io/record_writer.cc). Each record is
//   uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes | data | uint32 masked CRC32C of data
// "Masked" because a CRC of data that itself holds CRCs is weak: TensorFlow rotates the CRC right by
// 15 bits and adds a constant. The CRC32C (Castagnoli) itself comes from a maintained package.
import { crc32c } from '@node-rs/crc32';

const MASK_DELTA = 0xa282ead8;

/** TensorFlow's masked CRC32C of `data`. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) >>> 0;
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

/** One TFRecord: the framed bytes of `data`. */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}
