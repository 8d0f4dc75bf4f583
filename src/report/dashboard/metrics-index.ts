// A run's metrics.jsonl as the dashboard serves it: read once, in slices, in the background, and
// kept as a bounded sample, so a 500 MB log costs each request a few thousand lines, never the
// file. Why: reading and answering a big log whole took seconds of synchronous work per request
// (60 MB of JSON), blocked every other request meanwhile, and held a copy per slow client.
//
// - The file is read from where the last read stopped, 1 MiB at a time, a slice of at most
//   16 MiB per turn (the event loop serves other requests between reads); a request waits for
//   at most the slice in progress, then answers with what is indexed so far (`complete` false and
//   the bytes read while a big log is still being read; the page polls again).
// - Training lines are decimated by a doubling stride (every line while there are few, every 2nd,
//   4th... so at most MAX_POINTS remain, spread evenly over the run); validation and other lines
//   likewise, in their own sample; growth events are all kept; the last training line always is.
//   Only kept lines are parsed (a substring test tells the kinds apart), so indexing runs at
//   about the speed of reading.
// - A line longer than MAX_LINE (1 MiB; a metrics line is a few hundred bytes) is skipped once,
//   counted, and never read again (a first line of 64 MiB was re-read on every poll).
// - A torn last line waits for the next read; a rewritten log (a resume: a new file) or a
//   truncated one starts a new index, and the response says `reset`.
import * as fs from 'node:fs';
import { openInside } from './safe-path.js';

const CHUNK = 1 << 20;
const SLICE = 16 << 20;
export const MAX_LINE = 1 << 20;
export const MAX_POINTS = 2000;
const MAX_EVENTS = 10_000;
const NL = 0x0a;

type Line = Record<string, unknown>;
interface Kept {
  pos: number;
  i: number;
  line: Line;
}

/** Keeps every `stride`-th offered item, doubling the stride whenever more than `max` are kept. */
class Sampler {
  kept: Kept[] = [];
  count = 0;
  stride = 1;
  constructor(private readonly max: number) {}
  offer(pos: number, text: string): void {
    const i = this.count++;
    if (i % this.stride !== 0) return;
    const line = parseLine(text);
    if (!line) return;
    this.kept.push({ pos, i, line });
    if (this.kept.length > this.max) {
      this.stride *= 2;
      this.kept = this.kept.filter((k) => k.i % this.stride === 0);
    }
  }
}

function parseLine(text: string): Line | null {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Line) : null;
  } catch {
    return null; // a corrupt line: not drawn
  }
}

/** What /api/run answers. */
export interface MetricsView {
  /** identifies the file (device:inode): a resume writes a new one, and the reader starts over */
  file: string;
  /** where the next request starts (bytes of the file indexed) */
  offset: number;
  /** the lines start from the beginning of the file: the page drops what it had */
  reset: boolean;
  lines: Line[];
  /** the file's size, and whether all of it (but a torn last line) is indexed */
  size: number;
  complete: boolean;
  /** 1 when every training line is kept; N when every Nth is (a big log, sampled) */
  trainEvery: number;
  /** lines longer than MAX_LINE, skipped */
  skipped: number;
}

export class MetricsIndex {
  /** bytes read and indexed: everything before this position */
  scanned = 0;
  size = 0;
  skipped = 0;
  evicted = false;
  private long = false; // inside a line longer than MAX_LINE, skipping to its end
  private pending: Buffer[] = []; // the start of a line that continues in the next chunk
  private pendingBytes = 0;
  private readTo = 0; // where the last slice stopped reading (the end, but for a torn line)
  private readonly train = new Sampler(MAX_POINTS);
  private readonly other = new Sampler(MAX_POINTS);
  private readonly events = new Sampler(MAX_EVENTS);
  private last: { pos: number; text: string } | null = null;
  private slice: Promise<void> | null = null;

  constructor(
    private readonly root: string,
    readonly file: string,
    readonly id: string,
    private readonly sliceBytes = SLICE,
  ) {}

  /** Reads the next slice (or waits for the one in progress); more slices follow in the background. */
  advance(): Promise<void> {
    this.slice ??= this.readSlice().finally(() => {
      this.slice = null;
      if (!this.evicted && this.readTo < this.size) setImmediate(() => void this.advance());
    });
    return this.slice;
  }

  private async readSlice(): Promise<void> {
    let opened: { fd: number; size: number };
    try {
      opened = openInside(this.root, this.file);
    } catch {
      return; // removed or replaced meanwhile: the next request notices
    }
    try {
      const st = fs.fstatSync(opened.fd);
      if (`${st.dev}:${st.ino}` !== this.id) return;
      this.size = opened.size;
      let budget = this.sliceBytes;
      let pos = this.scanned;
      this.pending = [];
      this.pendingBytes = 0;
      while (pos < this.size && budget > 0) {
        const buf = await readAt(opened.fd, pos, Math.min(CHUNK, this.size - pos));
        if (buf.length === 0) break;
        budget -= buf.length;
        this.consume(buf, pos);
        pos += buf.length;
      }
      // a torn last line is not taken: the next read starts at its beginning (scanned)
      this.readTo = pos;
    } finally {
      fs.closeSync(opened.fd);
    }
  }

  /** Splits a chunk read at `pos` into lines (the start of a line continued from the last chunk is pending). */
  private consume(buf: Buffer, pos: number): void {
    let start = 0;
    for (let nl = buf.indexOf(NL); nl >= 0; nl = buf.indexOf(NL, start)) {
      const part = buf.subarray(start, nl);
      if (this.long)
        this.long = false; // the end of a line already counted as skipped
      else if (this.pendingBytes + part.length > MAX_LINE) this.skipped++;
      else this.take(this.scanned, this.pending.length ? Buffer.concat([...this.pending, part]) : part);
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
      this.scanned = pos + start;
    }
    const rest = buf.length - start;
    if (this.long)
      this.scanned = pos + buf.length; // still inside the long line: never read again
    else if (rest > 0 && this.pendingBytes + rest > MAX_LINE) {
      this.long = true;
      this.skipped++;
      this.pending = [];
      this.pendingBytes = 0;
      this.scanned = pos + buf.length;
    } else if (rest > 0) {
      this.pending.push(Buffer.from(buf.subarray(start)));
      this.pendingBytes += rest;
    }
  }

  private take(pos: number, bytes: Buffer): void {
    const text = bytes.toString('utf8');
    if (!text.trim()) return;
    if (text.includes('"event":')) this.events.offer(pos, text);
    else if (text.includes('"valLoss":') || !text.includes('"loss":')) this.other.offer(pos, text);
    else {
      this.train.offer(pos, text);
      this.last = { pos, text };
    }
  }

  /** The indexed lines from byte `from` on, in file order (a sample of them in a big log). */
  view(client: { file?: string; offset?: number }): MetricsView {
    const same = client.file === this.id && (client.offset ?? 0) <= this.size;
    const from = same ? (client.offset ?? 0) : 0;
    const kept = [...this.train.kept, ...this.other.kept, ...this.events.kept].filter((k) => k.pos >= from);
    const last = this.last;
    if (last && last.pos >= from && !this.train.kept.some((k) => k.pos === last.pos)) {
      const line = parseLine(last.text);
      if (line) kept.push({ pos: last.pos, i: -1, line });
    }
    kept.sort((a, b) => a.pos - b.pos);
    return {
      file: this.id,
      offset: Math.max(this.scanned, from),
      reset: !same,
      lines: kept.map((k) => k.line),
      size: this.size,
      complete: this.readTo >= this.size,
      trainEvery: this.train.stride,
      skipped: this.skipped,
    };
  }
}

function readAt(fd: number, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  return new Promise((resolve, reject) =>
    fs.read(fd, buf, 0, len, pos, (e, n) => (e ? reject(e) : resolve(buf.subarray(0, n)))),
  );
}

/** The indexes of the logs the page looks at (a few: the least recently asked for goes first). */
export class MetricsIndexes {
  private readonly byFile = new Map<string, MetricsIndex>();
  constructor(
    private readonly root: string,
    private readonly o: { max?: number; sliceBytes?: number } = {},
  ) {}

  /** The index of `file` as it is now (a new one when the file was replaced or truncated); null when unreadable. */
  get(file: string): MetricsIndex | null {
    let st: fs.Stats;
    try {
      const opened = openInside(this.root, file);
      st = fs.fstatSync(opened.fd);
      fs.closeSync(opened.fd);
    } catch {
      return null;
    }
    const id = `${st.dev}:${st.ino}`;
    let idx = this.byFile.get(file);
    if (idx && (idx.id !== id || st.size < idx.scanned)) {
      idx.evicted = true;
      idx = undefined;
    }
    if (!idx) idx = new MetricsIndex(this.root, file, id, this.o.sliceBytes);
    idx.size = Math.max(idx.size, st.size);
    this.byFile.delete(file);
    this.byFile.set(file, idx); // most recent last
    for (const [f, old] of this.byFile) {
      if (this.byFile.size <= (this.o.max ?? 32)) break;
      old.evicted = true;
      this.byFile.delete(f);
    }
    return idx;
  }
}
