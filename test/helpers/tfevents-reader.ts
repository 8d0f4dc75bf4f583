// An independent reader of TensorBoard event files, written from the format's spec for the tests:
// TFRecord framing (uint64 length, masked CRC32C of the length, data, masked CRC32C of the data;
// tensorflow/core/lib/io/record_writer.cc) and the protocol buffers of TensorFlow's event.proto,
// summary.proto and tensor.proto. It shares no code with src/io: its own CRC32C (bitwise over the
// reflected Castagnoli polynomial) and its own protobuf wire decoding, so an error in the writer
// cannot cancel out in the reader. Every CRC is checked; a bad one throws.
import * as fs from 'node:fs';

function crc32cBitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function maskCrc(crc: number): number {
  const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
  return (rotated + 0xa282ead8) % 0x100000000;
}

export const crc32cForTest = crc32cBitwise;

/** The records' payloads; throws on a bad CRC or a truncated record (unless allowTornTail). */
export function readRecords(buf: Uint8Array, o: { allowTornTail?: boolean } = {}): Uint8Array[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + 12 > buf.length) {
      if (o.allowTornTail) break;
      throw new Error(`truncated record header at byte ${pos}`);
    }
    const lenLo = view.getUint32(pos, true),
      lenHi = view.getUint32(pos + 4, true);
    const len = lenHi * 0x100000000 + lenLo;
    const lenCrc = view.getUint32(pos + 8, true);
    if (maskCrc(crc32cBitwise(buf.subarray(pos, pos + 8))) !== lenCrc) throw new Error(`bad length CRC at byte ${pos}`);
    if (pos + 12 + len + 4 > buf.length) {
      if (o.allowTornTail) break;
      throw new Error(`truncated record data at byte ${pos}`);
    }
    const data = buf.subarray(pos + 12, pos + 12 + len);
    const dataCrc = view.getUint32(pos + 12 + len, true);
    if (maskCrc(crc32cBitwise(data)) !== dataCrc) throw new Error(`bad data CRC at byte ${pos}`);
    out.push(data);
    pos += 12 + len + 4;
  }
  return out;
}

// ---- protobuf wire format -------------------------------------------------------------------
interface Field {
  no: number;
  wire: number;
  varint?: bigint;
  bytes?: Uint8Array;
  fixed64?: Uint8Array;
  fixed32?: Uint8Array;
}

function readVarint(b: Uint8Array, pos: number): [bigint, number] {
  let result = 0n,
    shift = 0n;
  for (;;) {
    if (pos >= b.length) throw new Error('varint runs past the end');
    const byte = b[pos++];
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
    if (shift > 63n) throw new Error('varint too long');
  }
}

export function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < b.length) {
    const [key, p1] = readVarint(b, pos);
    pos = p1;
    const no = Number(key >> 3n),
      wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(b, pos);
      out.push({ no, wire, varint: v });
      pos = p2;
    } else if (wire === 1) {
      out.push({ no, wire, fixed64: b.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wire === 2) {
      const [len, p2] = readVarint(b, pos);
      const end = p2 + Number(len);
      if (end > b.length) throw new Error('length-delimited field runs past the end');
      out.push({ no, wire, bytes: b.subarray(p2, end) });
      pos = end;
    } else if (wire === 5) {
      out.push({ no, wire, fixed32: b.subarray(pos, pos + 4) });
      pos += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  if (pos !== b.length) throw new Error('message overruns');
  return out;
}

const f64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
const f32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
const utf8 = (b: Uint8Array) => new TextDecoder('utf-8', { fatal: true }).decode(b);

export interface DecodedValue {
  tag: string;
  simpleValue?: number;
  pluginName?: string;
  dataClass?: number;
  tensorDtype?: number;
  tensorShapeDims?: number;
  strings?: string[];
}
export interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values?: DecodedValue[];
  sessionStatus?: number;
}

function decodeValue(b: Uint8Array): DecodedValue {
  const v: DecodedValue = { tag: '' };
  for (const f of fields(b)) {
    if (f.no === 1 && f.wire === 2) v.tag = utf8(f.bytes!);
    else if (f.no === 2 && f.wire === 5) v.simpleValue = f32(f.fixed32!);
    else if (f.no === 9 && f.wire === 2) {
      for (const m of fields(f.bytes!)) {
        if (m.no === 1 && m.wire === 2) for (const p of fields(m.bytes!)) if (p.no === 1) v.pluginName = utf8(p.bytes!);
        if (m.no === 4 && m.wire === 0) v.dataClass = Number(m.varint);
      }
    } else if (f.no === 8 && f.wire === 2) {
      v.strings = [];
      for (const t of fields(f.bytes!)) {
        if (t.no === 1 && t.wire === 0) v.tensorDtype = Number(t.varint);
        if (t.no === 2 && t.wire === 2) v.tensorShapeDims = fields(t.bytes!).filter((d) => d.no === 2).length;
        if (t.no === 8 && t.wire === 2) v.strings.push(utf8(t.bytes!));
      }
    } else throw new Error(`unexpected Summary.Value field ${f.no} (wire ${f.wire})`);
  }
  return v;
}

export function decodeEvent(b: Uint8Array): DecodedEvent {
  const e: DecodedEvent = { wallTime: 0, step: 0 };
  for (const f of fields(b)) {
    if (f.no === 1 && f.wire === 1) e.wallTime = f64(f.fixed64!);
    else if (f.no === 2 && f.wire === 0) e.step = Number(BigInt.asIntN(64, f.varint!));
    else if (f.no === 3 && f.wire === 2) e.fileVersion = utf8(f.bytes!);
    else if (f.no === 5 && f.wire === 2)
      e.values = fields(f.bytes!).map((v) => {
        if (v.no !== 1 || v.wire !== 2) throw new Error(`unexpected Summary field ${v.no}`);
        return decodeValue(v.bytes!);
      });
    else if (f.no === 7 && f.wire === 2)
      e.sessionStatus = Number(fields(f.bytes!).find((s) => s.no === 1)?.varint ?? 0n);
    else throw new Error(`unexpected Event field ${f.no} (wire ${f.wire})`);
  }
  return e;
}

export function readEventFile(file: string, o: { allowTornTail?: boolean } = {}): DecodedEvent[] {
  return readRecords(new Uint8Array(fs.readFileSync(file)), o).map(decodeEvent);
}

/** tag -> [step, value] pairs of the scalars in `events`, in file order. */
export function scalarsByTag(events: DecodedEvent[]): Map<string, [number, number][]> {
  const m = new Map<string, [number, number][]>();
  for (const e of events)
    for (const v of e.values ?? []) {
      if (v.simpleValue === undefined) continue;
      if (!m.has(v.tag)) m.set(v.tag, []);
      m.get(v.tag)!.push([e.step, v.simpleValue]);
    }
  return m;
}

export const eventFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir)
    .filter((f) => f.startsWith('events.out.tfevents.'))
    .sort();

/**
 * For each metrics.jsonl line: is it an evaluation made at a growth step before growing (a grow
 * line at the same step follows it)? Those go under their own tags (`val/loss_before_growth`).
 */
export function beforeGrowthFlags(lines: readonly { step: number; event?: unknown; valLoss?: unknown }[]): boolean[] {
  return lines.map(
    (l, i) => typeof l.valLoss === 'number' && lines.slice(i + 1).some((m) => m.event === 'grow' && m.step === l.step),
  );
}
