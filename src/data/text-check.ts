// Is a corpus file text? A binary file (an image, a tarball, a checkpoint) given as --data would
// otherwise be decoded into U+FFFD and control characters and trained on without a word. This is
// kept apart from the readers: a reader hands each chunk (bytes, or the text decoded from them)
// to a TextCheck and asks for the verdict at the end of the file.
import { GrowbertError } from '../io/errors.js';

export interface TextCounts {
  /** characters (or bytes, for a Buffer) looked at */
  chars: number;
  /** NUL characters: never in text, always in binary formats */
  nul: number;
  /** U+FFFD: what the UTF-8 decoder put in place of each invalid byte sequence */
  replaced: number;
  /** the start of the file looks like UTF-16 (a BOM, or NULs in every other byte) */
  utf16?: boolean;
}

/**
 * True when a file's first bytes look like UTF-16: a byte-order mark, or (text that is mostly
 * ASCII) NUL bytes in nearly all even or all odd positions.
 */
export function looksUtf16(head: Uint8Array): boolean {
  if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)))
    return true;
  const n = Math.min(head.length, 4096) & ~1;
  if (n < 16) return false;
  let even = 0;
  let odd = 0;
  for (let i = 0; i < n; i += 2) {
    if (head[i] === 0) even++;
    if (head[i + 1] === 0) odd++;
  }
  return Math.max(even, odd) > 0.8 * (n / 2) && Math.min(even, odd) < 0.05 * (n / 2);
}

/** Counts of one chunk: a Buffer is decoded as UTF-8 first (invalid sequences become U+FFFD). */
export function countTextFaults(chunk: Buffer | string): TextCounts {
  const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  let nul = 0,
    replaced = 0;
  for (let i = text.indexOf('\u0000'); i !== -1; i = text.indexOf('\u0000', i + 1)) nul++;
  for (let i = text.indexOf('\ufffd'); i !== -1; i = text.indexOf('\ufffd', i + 1)) replaced++;
  return { chars: text.length, nul, replaced };
}

/**
 * The policy: any NUL means a binary file (error); invalid UTF-8 above a small share (more than
 * 1 in 1000 characters, or more than 100 in all) is an error too (a file in Latin-1 or UTF-16, or
 * binary); fewer replaced sequences are a warning with their count, since a stray bad byte in a
 * large scraped corpus should not stop a run.
 */
export const TEXT_POLICY = { maxReplacedShare: 1e-3, maxReplaced: 100 } as const;

export function textVerdict(
  file: string,
  c: TextCounts,
  warn: (line: string) => void = (l) => console.error(`growbert: warning: ${l}`),
): void {
  if (c.utf16 && (c.nul > 0 || c.replaced > 0)) {
    throw new GrowbertError(
      `${file} looks like UTF-16 text, not UTF-8; convert it (e.g. iconv -f UTF-16 -t UTF-8 ${file} > ${file}.utf8) and give that to --data`,
    );
  }
  if (c.nul > 0) {
    throw new GrowbertError(
      `${file} looks binary (${c.nul} NUL bytes), not text; point --data at text, .jsonl or a folder of text files`,
    );
  }
  if (c.replaced > TEXT_POLICY.maxReplaced || (c.replaced > 0 && c.replaced > TEXT_POLICY.maxReplacedShare * c.chars)) {
    throw new GrowbertError(
      `${file} is not UTF-8 text (${c.replaced} invalid byte sequences in ${c.chars} characters); convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8) or remove it from --data`,
    );
  }
  if (c.replaced > 0) warn(`${file}: ${c.replaced} invalid UTF-8 byte sequence(s) replaced by U+FFFD`);
}

/** Accumulates counts over a file read in chunks; `done()` applies the policy. */
export class TextCheck {
  private counts: TextCounts = { chars: 0, nul: 0, replaced: 0 };
  constructor(
    private readonly file: string,
    private readonly warn?: (line: string) => void,
  ) {}
  add(chunk: Buffer | string): void {
    const c = countTextFaults(chunk);
    this.counts.chars += c.chars;
    this.counts.nul += c.nul;
    this.counts.replaced += c.replaced;
  }
  /** A whole file at once: add it, then apply the policy. */
  addAll(chunk: Buffer | string): TextCounts {
    this.add(chunk);
    return this.done();
  }
  done(): TextCounts {
    textVerdict(this.file, this.counts, this.warn);
    return this.counts;
  }
}
