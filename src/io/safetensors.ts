/**
 * The Hugging Face safetensors format, byte level only (no tensor dependency):
 *   u64 LE header length N | N bytes of UTF-8 JSON header | raw little-endian tensor data.
 * Reads go through positioned fs.readSync so a multi-GB checkpoint is never loaded whole;
 * writes stream tensor by tensor through atomicWriteWith.
 */
import * as fs from 'node:fs';
import { atomicWriteWith, writeAll } from './atomic.js';
import { GrowbertError } from './errors.js';
import { notRegular } from './input-file.js';

export type SafeDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface SafeTensorInfo {
  name: string;
  dtype: SafeDtype;
  shape: number[];
  /** Absolute position in the file (dataStart + begin offset). */
  byteOffset: number;
  byteLength: number;
}

export interface SafeTensorsHeader {
  /** In data order (by byteOffset), which is insertion order for files written here. */
  tensors: SafeTensorInfo[];
  metadata: Record<string, string>;
  dataStart: number;
  fileSize: number;
}

export interface SafeTensorEntry {
  name: string;
  dtype: SafeDtype;
  shape: number[];
  byteLength: number;
  /** The data, or a producer called once, in order, so a big checkpoint never sits in one buffer. */
  bytes: Uint8Array | (() => Uint8Array);
}

const DTYPE_SIZES: Record<SafeDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Same cap as the reference implementation: a bigger header means a corrupt length field. */
const MAX_HEADER_BYTES = 100_000_000;
/** Keep single readSync calls well below Node's 2 GiB per-call limit. */
const READ_CHUNK = 1 << 30;

export function dtypeByteSize(d: SafeDtype): number {
  const size = DTYPE_SIZES[d];
  if (size === undefined) throw new Error(`unknown safetensors dtype ${String(d)}`);
  return size;
}

function isDtype(d: unknown): d is SafeDtype {
  return typeof d === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZES, d);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Element count of `shape`, or null if it is not a list of non-negative integers or overflows. */
function elementCount(shape: unknown): number | null {
  if (!Array.isArray(shape) || !shape.every(isCount)) return null;
  let n = 1;
  for (const d of shape as number[]) n *= d;
  return Number.isSafeInteger(n) ? n : null;
}

function bad(file: string, problem: string): GrowbertError {
  return new GrowbertError(`${file}: not a valid safetensors file: ${problem}`);
}

/** Fill `buf` from `fd` at `position`; throws if the file ends first. */
function readFully(fd: number, buf: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < buf.byteLength) {
    const want = Math.min(READ_CHUNK, buf.byteLength - done);
    const n = fs.readSync(fd, buf, done, want, position + done);
    if (n === 0) {
      throw bad(file, `file ends at byte ${position + done}, expected ${buf.byteLength - done} more bytes (truncated)`);
    }
    done += n;
  }
}

function parseHeaderFromFd(fd: number, file: string): SafeTensorsHeader {
  const fileSize = fs.fstatSync(fd).size;
  if (fileSize < 8) {
    throw bad(file, `file is ${fileSize} bytes, shorter than the 8-byte header length field (truncated or empty)`);
  }
  const lenBuf = Buffer.alloc(8);
  readFully(fd, lenBuf, 0, file);
  const headerLen = lenBuf.readBigUInt64LE(0);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) {
    throw bad(file, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt length field)`);
  }
  const n = Number(headerLen);
  if (8 + n > fileSize) {
    throw bad(file, `header length ${n} runs past the end of the ${fileSize}-byte file (truncated or corrupt)`);
  }
  const headerBytes = Buffer.alloc(n);
  readFully(fd, headerBytes, 8, file);

  let json: unknown;
  try {
    // Writers pad the header with trailing spaces; JSON.parse accepts trailing whitespace.
    json = JSON.parse(headerBytes.toString('utf8'));
  } catch (e) {
    throw bad(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw bad(file, 'header JSON is not an object');
  }

  const dataStart = 8 + n;
  const dataSize = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: (SafeTensorInfo & { begin: number; end: number })[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        throw bad(file, '__metadata__ is not an object of strings');
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw bad(file, `__metadata__ value for "${k}" is not a string`);
        // an own property whatever the key: `metadata[k] = v` would set the prototype for `__proto__`
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw bad(file, `tensor "${name}" entry is not an object`);
    }
    const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>;
    if (!isDtype(dtype)) {
      throw bad(
        file,
        `tensor "${name}" has unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_SIZES).join(', ')})`,
      );
    }
    const count = elementCount(shape);
    if (count === null) throw bad(file, `tensor "${name}" has invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !isCount(offs[0]) || !isCount(offs[1]) || offs[1] < offs[0]) {
      throw bad(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const expected = count * DTYPE_SIZES[dtype];
    if (end - begin !== expected) {
      throw bad(
        file,
        `tensor "${name}" ${dtype} ${JSON.stringify(shape)} needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    }
    if (end > dataSize) {
      throw bad(
        file,
        `tensor "${name}" data_offsets [${begin}, ${end}] reach past the ${dataSize}-byte data section (offsets out of range or file truncated)`,
      );
    }
    tensors.push({
      name,
      dtype,
      shape: shape as number[],
      byteOffset: dataStart + begin,
      byteLength: expected,
      begin,
      end,
    });
  }

  // The data section must be tiled exactly, as the reference reader demands: no overlap, no gap.
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of tensors) {
    if (t.begin < cursor)
      throw bad(
        file,
        `tensor "${t.name}" data_offsets [${t.begin}, ${t.end}] overlap the previous tensor (which ends at ${cursor})`,
      );
    if (t.begin > cursor)
      throw bad(
        file,
        `gap in the data section: bytes [${cursor}, ${t.begin}) belong to no tensor (before "${t.name}")`,
      );
    cursor = t.end;
  }
  if (cursor !== dataSize) {
    throw bad(
      file,
      `tensors cover ${cursor} bytes but the data section holds ${dataSize} (trailing bytes after the last tensor)`,
    );
  }
  return {
    tensors: tensors.map(({ name, dtype, shape, byteOffset, byteLength }) => ({
      name,
      dtype,
      shape,
      byteOffset,
      byteLength,
    })),
    metadata,
    dataStart,
    fileSize,
  };
}

function openForRead(file: string): number {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st && !st.isFile()) throw notRegular('safetensors file', file, st); // a FIFO would block the open
  try {
    return fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new GrowbertError(`${file}: safetensors file not found; check the path`);
    throw new GrowbertError(`${file}: cannot open safetensors file (${code ?? (e as Error).message})`);
  }
}

/** A fresh buffer (own ArrayBuffer, offset 0, so 8-aligned) holding one tensor's bytes. */
function readInfo(fd: number, file: string, info: SafeTensorInfo): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(info.byteLength));
  readFully(fd, out, info.byteOffset, file);
  return out;
}

/** Parse and validate a file's header; every problem is a GrowbertError naming the file. */
export function readSafetensorsHeader(file: string): SafeTensorsHeader {
  const fd = openForRead(file);
  try {
    return parseHeaderFromFd(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** Read one tensor's raw bytes into a fresh, 8-aligned Uint8Array. */
export function readTensorBytes(file: string, info: SafeTensorInfo): Uint8Array {
  const fd = openForRead(file);
  try {
    return readInfo(fd, file, info);
  } finally {
    fs.closeSync(fd);
  }
}

/** Holds one fd open and reads tensors on demand, so loading N tensors costs one open. */
export class SafetensorsReader {
  readonly header: SafeTensorsHeader;
  private fd: number | null;
  private readonly byName = new Map<string, SafeTensorInfo>();

  constructor(private readonly file: string) {
    const fd = openForRead(file);
    try {
      this.header = parseHeaderFromFd(fd, file);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    this.fd = fd;
    for (const t of this.header.tensors) this.byName.set(t.name, t);
  }

  names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): SafeTensorInfo {
    const t = this.byName.get(name);
    if (!t) {
      throw new GrowbertError(
        `${this.file}: no tensor named "${name}" (the file holds ${this.byName.size} tensors, e.g. ${this.names().slice(0, 3).join(', ')})`,
      );
    }
    return t;
  }

  read(name: string): Uint8Array {
    if (this.fd === null) throw new Error(`SafetensorsReader for ${this.file} is closed`);
    return readInfo(this.fd, this.file, this.info(name));
  }

  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }
}

/**
 * Write `entries` (in order, contiguous) atomically. The header is space-padded so the data
 * section starts 8-aligned, as Hugging Face's writer does. Entry problems are programming
 * errors (the caller built the list), so they throw plain Errors, before anything is written.
 */
export function writeSafetensors(file: string, entries: SafeTensorEntry[], metadata?: Record<string, string>): void {
  const seen = new Set<string>();
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors metadata value for "${k}" must be a string`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const e of entries) {
    if (e.name === '' || e.name === '__metadata__') throw new Error(`invalid safetensors tensor name "${e.name}"`);
    if (seen.has(e.name)) throw new Error(`duplicate safetensors tensor name "${e.name}"`);
    seen.add(e.name);
    if (!isDtype(e.dtype)) throw new Error(`tensor "${e.name}": unknown dtype ${String(e.dtype)}`);
    const count = elementCount(e.shape);
    if (count === null) throw new Error(`tensor "${e.name}": invalid shape ${JSON.stringify(e.shape)}`);
    const expected = count * DTYPE_SIZES[e.dtype];
    if (e.byteLength !== expected) {
      throw new Error(
        `tensor "${e.name}": byteLength ${e.byteLength} != ${expected} for ${e.dtype} ${JSON.stringify(e.shape)}`,
      );
    }
    // Built by hand rather than via one JSON.stringify of an object: object keys that look
    // like integers would be reordered, and tensor order must follow the data order.
    parts.push(
      `${JSON.stringify(e.name)}:${JSON.stringify({ dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + expected] })}`,
    );
    offset += expected;
  }
  let header = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const pad = (8 - ((8 + header.byteLength) % 8)) % 8;
  if (pad > 0) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  if (header.byteLength > MAX_HEADER_BYTES)
    throw new Error(`safetensors header for ${file} is too large (${header.byteLength} bytes)`);

  const lenField = Buffer.alloc(8);
  lenField.writeBigUInt64LE(BigInt(header.byteLength), 0);
  atomicWriteWith(file, (fd) => {
    writeAll(fd, lenField);
    writeAll(fd, header);
    for (const e of entries) {
      const bytes = typeof e.bytes === 'function' ? e.bytes() : e.bytes;
      if (bytes.byteLength !== e.byteLength) {
        throw new Error(
          `tensor "${e.name}": produced ${bytes.byteLength} bytes, expected ${e.byteLength} (writing ${file})`,
        );
      }
      writeAll(fd, bytes);
    }
  });
}
