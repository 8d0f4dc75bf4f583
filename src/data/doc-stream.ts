/**
 * Documents from one input file, streamed: bytes -> UTF-8 text -> lines -> documents, holding
 * at most one document (or one line) and one read chunk at a time, whatever the file's size.
 *
 * The decoder counts what a binary-file check needs (replacement characters produced by
 * decoding invalid UTF-8, and NUL bytes) per file and reports them through `inspect`, which may
 * throw to reject a file early. Lines, documents and multi-byte characters that straddle read
 * chunks come out intact (tests read with 1..7-byte chunks).
 */
import { GrowbertError } from '../io/errors.js';
import { fileBytes, type ByteStreamOptions } from './byte-stream.js';
import { looksUtf16, textVerdict } from './text-check.js';
import type { Document } from './corpus.js';
import { fieldValue } from './field-path.js';

/** What the decoder saw in one file so far (cumulative). */
export interface FileReadStats {
  file: string;
  /** Decompressed bytes decoded. */
  bytes: number;
  /** U+FFFD characters the decoder produced for invalid UTF-8 (literal U+FFFD in the file not counted). */
  replacementChars: number;
  /** 0x00 bytes. */
  nulBytes: number;
  /** True on the last call for the file. */
  done: boolean;
}

export interface DocStreamOptions extends ByteStreamOptions {
  /** Plain text: each non-empty line is a document (default: blank lines separate them). */
  docPerLine?: boolean;
  /** JSONL and Parquet: the field holding the text (default `text`; `a.b` walks into nested objects, field-path.ts). */
  textField?: string;
  /** Called after each decoded chunk and once at the end of each file; may throw to reject it. */
  inspect?: (stats: FileReadStats) => void;
  /**
   * Where warnings about a few invalid UTF-8 sequences go (text-check.ts's policy: a NUL byte or
   * more than a trace of invalid UTF-8 refuses the file; a few are a warning). Default stderr.
   */
  warn?: (line: string) => void;
}

/** A document or line longer than this is refused: it could not be held as one string anyway. */
export const MAX_DOC_CHARS = 1 << 28;
const FFFD_BYTES = Buffer.from([0xef, 0xbf, 0xbd]);

/** The file's text, chunk by chunk, BOM removed and CR / CRLF line ends turned into LF. */
export async function* fileText(file: string, opts: DocStreamOptions = {}): AsyncGenerator<string> {
  const dec = new TextDecoder('utf-8'); // strips a leading BOM, as editors expect
  const st: FileReadStats = { file, bytes: 0, replacementChars: 0, nulBytes: 0, done: false };
  let utf16 = false; // judged on the first chunk, for the message if the file is refused
  let decodedFffd = 0;
  let chars = 0;
  let literalFffd = 0;
  let tail = Buffer.alloc(0); // the stream's last 2 bytes, to find a literal U+FFFD split across chunks
  let heldCr = false;
  const normalizeEols = (s: string, last: boolean): string => {
    if (heldCr) s = '\r' + s;
    heldCr = !last && s.endsWith('\r');
    if (heldCr) s = s.slice(0, -1); // a CR at a chunk end may be half of a CRLF
    return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
  };
  for await (const chunk of fileBytes(file, opts)) {
    const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (st.bytes === 0) utf16 = looksUtf16(b);
    st.bytes += b.length;
    for (let i = b.indexOf(0); i >= 0; i = b.indexOf(0, i + 1)) st.nulBytes++;
    if (tail.length > 0) {
      const joined = Buffer.concat([tail, b.subarray(0, 2)]);
      for (let i = joined.indexOf(FFFD_BYTES); i >= 0 && i < tail.length; i = joined.indexOf(FFFD_BYTES, i + 1))
        literalFffd++;
    }
    for (let i = b.indexOf(FFFD_BYTES); i >= 0; i = b.indexOf(FFFD_BYTES, i + 1)) literalFffd++;
    tail = b.length >= 2 ? Buffer.from(b.subarray(b.length - 2)) : Buffer.concat([tail, b]).subarray(-2);
    const s = dec.decode(b, { stream: true });
    decodedFffd += countFffd(s);
    st.replacementChars = decodedFffd - literalFffd;
    chars += s.length;
    opts.inspect?.(st);
    // A NUL means binary: refuse at once rather than after reading a whole large file.
    if (st.nulBytes > 0)
      textVerdict(file, { chars, nul: st.nulBytes, replaced: st.replacementChars, utf16 }, opts.warn);
    if (s.length > 0) yield normalizeEols(s, false);
  }
  const end = dec.decode();
  decodedFffd += countFffd(end);
  st.replacementChars = decodedFffd - literalFffd;
  st.done = true;
  chars += end.length;
  opts.inspect?.(st);
  textVerdict(file, { chars, nul: st.nulBytes, replaced: st.replacementChars, utf16 }, opts.warn);
  const last = normalizeEols(end, true);
  if (last.length > 0) yield last;
}

function countFffd(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\ufffd'); i >= 0; i = s.indexOf('\ufffd', i + 1)) n++;
  return n;
}

/** Lines of the file (without their LF) with 1-based numbers. */
export async function* fileLines(file: string, opts: DocStreamOptions = {}): AsyncGenerator<[string, number]> {
  let pending = '';
  let lineNo = 0;
  for await (const s of fileText(file, opts)) {
    let start = 0;
    for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', start)) {
      const line = pending.length > 0 ? pending + s.slice(start, nl) : s.slice(start, nl);
      pending = '';
      yield [line, ++lineNo];
      start = nl + 1;
    }
    pending += s.slice(start);
    if (pending.length > MAX_DOC_CHARS) {
      throw new GrowbertError(
        `${file}:${lineNo + 1}: a line longer than ${MAX_DOC_CHARS} characters; split the file into shorter lines or documents`,
      );
    }
  }
  if (pending.length > 0 || lineNo === 0) yield [pending, ++lineNo];
}

const NON_SPACE = /\S/;

/** Plain text: documents separated by blank lines (trimmed), or one per non-empty line. */
export async function* textDocuments(file: string, opts: DocStreamOptions = {}): AsyncGenerator<Document> {
  if (opts.docPerLine) {
    for await (const [line, n] of fileLines(file, opts)) {
      if (NON_SPACE.test(line)) yield { source: `${file}:${n}`, text: line.trim() };
    }
    return;
  }
  let buf: string[] = [];
  let chars = 0;
  let start = 0;
  for await (const [line, n] of fileLines(file, opts)) {
    if (NON_SPACE.test(line)) {
      if (buf.length === 0) start = n;
      buf.push(line);
      chars += line.length + 1;
      if (chars > MAX_DOC_CHARS) {
        throw new GrowbertError(
          `${file}:${start}: a document longer than ${MAX_DOC_CHARS} characters; separate documents with blank lines or use --doc-per-line`,
        );
      }
    } else if (buf.length > 0) {
      yield { source: `${file}:${start}`, text: buf.join('\n').trim() };
      buf = [];
      chars = 0;
    }
  }
  if (buf.length > 0) yield { source: `${file}:${start}`, text: buf.join('\n').trim() };
}

/**
 * Records whose text is null (a missing value: JSONL `"text": null`, a Parquet null) are not
 * documents: they are skipped, and one warning per file counts them and names the first ones.
 * JSONL and Parquet say it the same way; a text field that is absent or not text is an error.
 */
export function warnMissingTexts(
  opts: DocStreamOptions,
  file: string,
  field: string,
  unit: string,
  at: number[],
): void {
  if (!at.length) return;
  const line = `${file}: ${at.length} ${unit}(s) with no text (null in "${field}") skipped, e.g. ${unit} ${at.slice(0, 3).join(`, ${unit} `)}`;
  if (opts.warn) return opts.warn(line);
  // a run reads a file more than once (tokenizer sample, token caches): the same warning is said once
  if (warned.has(line)) return;
  warned.add(line);
  console.error(`growbert: warning: ${line}`);
}
const warned = new Set<string>();

/** JSONL: one JSON object per line with a string text field; blank lines are allowed, null texts skipped. */
export async function* jsonlDocuments(file: string, opts: DocStreamOptions = {}): AsyncGenerator<Document> {
  const field = opts.textField ?? 'text';
  const missing: number[] = [];
  for await (const [line, n] of fileLines(file, opts)) {
    if (!NON_SPACE.test(line)) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new GrowbertError(
        `${file}:${n}: not valid JSON (${(e as Error).message}); each line must be an object like {"${field}": "..."}`,
      );
    }
    const text = fieldValue(row, field); // `a.b`: field b of the object in field a
    const record = typeof row === 'object' && row !== null && !Array.isArray(row);
    if (record && text === null) {
      missing.push(n);
      continue;
    }
    if (!record || typeof text !== 'string') {
      throw new GrowbertError(
        `${file}:${n}: expected a JSON object with a string "${field}" field; fix or remove the line, or name the field with --text-field (a.b for a nested field)`,
      );
    }
    yield { source: `${file}:${n}`, text };
  }
  warnMissingTexts(opts, file, field, 'line', missing);
}
