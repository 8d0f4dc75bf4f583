/**
 * One streaming pass from corpus files to the train and validation token caches: documents are
 * read one at a time, sent to validation or train by their split key, encoded in batches (several
 * in flight, on the encoder's threads), and written as shards fill. Memory holds a few batches
 * and one shard per side, whatever the corpus size.
 *
 * Resumable: each time shards are written, both sides flush together and `build-progress.json`
 * records how many documents are done and the shards so far. A rerun after a kill keeps those
 * shards, skips that many documents of the stream (reading, not encoding them) and continues;
 * shards written after the last record are rewritten, so a half-written one is never trusted.
 *
 * The split matches `splitDocuments`: with two or more documents each side gets at least one.
 * When a whole pass put every document on one side, the build reruns with the document nearest
 * the threshold moved (this only happens for corpora of a few dozen documents).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from '../io/errors.js';
import { atomicWriteFile } from '../io/atomic.js';
import { ProgressBar } from '../io/progress.js';
import { corpusSource, formatCount, streamCorpus, type CorpusOptions, type CorpusSource } from './corpus.js';
import { checkValidationFraction, splitKey } from './split.js';
import { ShardWriter, TokenCache, checkShardTokens, type CacheTokenizer, type ShardInfo } from './token-cache.js';

export interface CorpusCachesOptions {
  specs: readonly string[];
  corpus?: CorpusOptions;
  /** Share of documents for validation, in [0, 1). */
  validationFraction: number;
  /** Seed of the split hash (default 0: every run over a corpus validates on the same documents). */
  splitSeed?: number | string;
  /** Folder for `train/`, `validation/`, `summary.json` and the build record. */
  dir: string;
  tokenizer: CacheTokenizer;
  /** A shard is closed once it holds at least this many tokens (default 2^24, 64 MiB). */
  shardTokens?: number;
  /** Characters per encoding batch (default 1M). */
  batchChars?: number;
  /** Batches being encoded at once (default 4): keeps every encoder thread busy while reading. */
  inFlight?: number;
  progress?: boolean;
  /** The corpus identity, when the caller has it already. */
  source?: CorpusSource;
  /** Tests: called after each build record is written; throwing simulates a kill there. */
  onCheckpoint?: (docsDone: number) => void;
  /** Checked between documents: true stops the build (StoppedEarly); the next build resumes from its last record. */
  shouldStop?: () => boolean;
}

export interface CorpusSummary {
  docs: number;
  trainDocs: number;
  validationDocs: number;
  trainTokens: number;
  validationTokens: number;
  /** Input bytes (compressed sizes for compressed files). */
  bytes: number;
  report: string;
}

export interface CorpusCaches {
  train: TokenCache;
  validation: TokenCache;
  summary: CorpusSummary;
  /** True when this call built (or finished building) the caches. */
  rebuilt: boolean;
  /** True when it continued an interrupted build. */
  resumed: boolean;
}

const RECORD = 'build-progress.json';
const SUMMARY = 'summary.json';

interface Extreme {
  key: number;
  ordinal: number;
}

interface BuildRecord {
  key: string;
  docsDone: number;
  train: { shards: ShardInfo[]; skipped: number; docs: number };
  validation: { shards: ShardInfo[]; skipped: number; docs: number };
  min: Extreme | null;
  max: Extreme | null;
}

interface Force {
  ordinal: number;
  validation: boolean;
}

/**
 * Refuses a corpus of fewer than two documents before any tokenizer is trained or text encoded:
 * the split needs one document on each side. Reads only until the second document (a corpus of
 * one 50 MB line is read once, in about a second, instead of being refused after tokenizing).
 */
export async function checkTwoDocuments(specs: readonly string[], corpus?: CorpusOptions): Promise<void> {
  let docs = 0;
  for await (const _ of streamCorpus(specs, { ...corpus, onRawBytes: undefined, warn: () => {} }))
    if (++docs >= 2) return;
  throw fewDocuments(specs, docs);
}

function fewDocuments(specs: readonly string[], docs: number): GrowbertError {
  return new GrowbertError(
    `the corpus (${specs.join(', ')}) has ${docs} document(s); validation needs at least 2 — add text or use --doc-per-line`,
  );
}

/** A build stopped because `shouldStop` said so (a signal): what it wrote is kept and resumed next time. */
export class StoppedEarly extends Error {
  constructor(readonly docsRead: number) {
    super(`token cache build stopped after ${docsRead} documents`);
    this.name = 'StoppedEarly';
  }
}

/** Open the caches in `opts.dir` if they were built from these inputs, else build (or resume) them. */
export async function ensureCorpusCaches(opts: CorpusCachesOptions): Promise<CorpusCaches> {
  checkValidationFraction(opts.validationFraction);
  const shardTokens = checkShardTokens(opts.shardTokens ?? 1 << 24);
  const source = opts.source ?? corpusSource(opts.specs, opts.corpus);
  const baseKey = crypto
    .createHash('sha256')
    .update(`growbert-corpus-caches v1\u0000${opts.tokenizer.fingerprint}\u0000${shardTokens}\u0000${source.id}`)
    .update(`\u0000${opts.validationFraction}\u0000${opts.splitSeed ?? 0}`)
    .digest('hex');
  const done = openBuilt(opts.dir, baseKey);
  if (done) return { ...done, rebuilt: false, resumed: false };

  let force: Force | undefined;
  for (;;) {
    const key = force ? `${baseKey}:${force.ordinal}:${force.validation}` : baseKey;
    const r = await buildPass({ ...opts, shardTokens, source }, key, force);
    if (r.kind === 'done') {
      atomicWriteFile(path.join(opts.dir, SUMMARY), JSON.stringify({ key: baseKey, ...r.summary }, null, 2) + '\n');
      const built = openBuilt(opts.dir, baseKey);
      if (!built) throw new Error(`token caches in '${opts.dir}' did not open after building`);
      return { ...built, rebuilt: true, resumed: r.resumed };
    }
    if (force) throw new Error('split: forcing a document did not balance the sides');
    force = r.force;
  }
}

function openBuilt(dir: string, key: string): Omit<CorpusCaches, 'rebuilt' | 'resumed'> | undefined {
  let summary: CorpusSummary & { key?: string };
  try {
    summary = JSON.parse(fs.readFileSync(path.join(dir, SUMMARY), 'utf8'));
  } catch {
    return undefined;
  }
  if (summary.key !== key) return undefined;
  const train = TokenCache.tryOpen(path.join(dir, 'train'));
  const validation = TokenCache.tryOpen(path.join(dir, 'validation'));
  if (!train || !validation || !train.manifest.hash.startsWith(key) || !validation.manifest.hash.startsWith(key))
    return undefined;
  delete summary.key;
  return { train, validation, summary };
}

type PassResult = { kind: 'done'; summary: CorpusSummary; resumed: boolean } | { kind: 'unbalanced'; force: Force };

async function buildPass(
  opts: CorpusCachesOptions & { shardTokens: number; source: CorpusSource },
  key: string,
  force: Force | undefined,
): Promise<PassResult> {
  const { dir, tokenizer, shardTokens, validationFraction: fraction } = opts;
  const seed = opts.splitSeed ?? 0;
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(path.join(dir, SUMMARY), { force: true });
  const recordPath = path.join(dir, RECORD);
  let rec: BuildRecord | undefined;
  try {
    const r = JSON.parse(fs.readFileSync(recordPath, 'utf8')) as BuildRecord;
    if (r.key === key) rec = r;
  } catch {
    // No record (or a damaged one): build from the start.
  }
  const resumed = rec !== undefined;
  const state: BuildRecord = rec ?? {
    key,
    docsDone: 0,
    train: { shards: [], skipped: 0, docs: 0 },
    validation: { shards: [], skipped: 0, docs: 0 },
    min: null,
    max: null,
  };
  const writers = {
    train: new ShardWriter(path.join(dir, 'train'), shardTokens, state.train),
    validation: new ShardWriter(path.join(dir, 'validation'), shardTokens, state.validation),
  };
  const counts = { train: state.train.docs, validation: state.validation.docs };

  const mb = (n: number): number => Math.round(n / 1e5) / 10; // shown as e.g. 512.3/2147.5 MB
  const totalMB = mb(opts.source.totalBytes);
  const bar = new ProgressBar({
    total: totalMB,
    label: `tokenizing ${path.basename(dir)}`,
    unit: 'MB',
    enabled: opts.progress,
  });
  let bytes = 0;
  const info = (): string =>
    `${formatCount(counts.train + counts.validation)} docs, ${formatCount(writers.train.numTokens + writers.validation.numTokens)} tokens`;

  const batchChars = opts.batchChars ?? 1_000_000;
  const inFlight = Math.max(1, opts.inFlight ?? 4);
  const pending: { sides: boolean[]; encoded: Promise<Int32Array[]>; end: number }[] = [];
  let texts: string[] = [];
  let sides: boolean[] = [];
  let chars = 0;
  let ordinal = 0;

  const checkpoint = (docsDone: number): void => {
    writers.train.flush();
    writers.validation.flush();
    const r: BuildRecord = {
      key,
      docsDone,
      train: { shards: writers.train.shards, skipped: writers.train.skipped, docs: counts.train },
      validation: { shards: writers.validation.shards, skipped: writers.validation.skipped, docs: counts.validation },
      min: state.min,
      max: state.max,
    };
    atomicWriteFile(recordPath, JSON.stringify(r) + '\n');
    opts.onCheckpoint?.(docsDone);
  };
  const drainOne = async (): Promise<void> => {
    const p = pending.shift()!;
    const encoded = await p.encoded;
    encoded.forEach((ids, i) => {
      const side = p.sides[i] ? 'validation' : 'train';
      writers[side].add(ids);
      counts[side]++;
    });
    if (writers.train.pendingTokens >= shardTokens || writers.validation.pendingTokens >= shardTokens)
      checkpoint(p.end);
    bar.update(mb(bytes), undefined, info());
  };
  const submit = async (): Promise<void> => {
    if (texts.length === 0) return;
    pending.push({ sides, encoded: tokenizer.encodeBatch(texts), end: ordinal });
    texts = [];
    sides = [];
    chars = 0;
    while (pending.length >= inFlight) await drainOne();
  };

  try {
    const stream = streamCorpus(opts.specs, { ...opts.corpus, onRawBytes: (n) => (bytes = n) });
    for await (const doc of stream) {
      if (opts.shouldStop?.()) throw new StoppedEarly(ordinal);
      ordinal++;
      if (ordinal <= state.docsDone) continue; // done before the interruption: read, not encoded
      const k = splitKey(doc.text, seed);
      if (!state.min || k < state.min.key) state.min = { key: k, ordinal };
      if (!state.max || k > state.max.key) state.max = { key: k, ordinal };
      const toValidation = force?.ordinal === ordinal ? force.validation : k < fraction;
      texts.push(doc.text);
      sides.push(toValidation);
      chars += doc.text.length;
      if (chars >= batchChars) await submit();
    }
    await submit();
    while (pending.length > 0) await drainOne();
  } finally {
    // On an error, let encodings in flight settle so no promise rejects unobserved.
    await Promise.allSettled(pending.map((p) => p.encoded));
    bar.finish();
  }

  const docs = ordinal;
  if (docs < 2) throw fewDocuments(opts.specs, docs);
  if (counts.validation === 0 && fraction > 0)
    return unbalanced(recordPath, { ordinal: state.min!.ordinal, validation: true });
  if (counts.train === 0) return unbalanced(recordPath, { ordinal: state.max!.ordinal, validation: false });

  const train = writers.train.finish(`${key}:train`, tokenizer.fingerprint);
  const validation = writers.validation.finish(`${key}:validation`, tokenizer.fingerprint, true);
  fs.rmSync(recordPath, { force: true });
  const pct =
    train.numTokens + validation.numTokens > 0
      ? ((100 * validation.numTokens) / (train.numTokens + validation.numTokens)).toFixed(1)
      : '0.0';
  const report =
    `split ${docs} documents (seed ${seed}): train ${counts.train} docs / ${formatCount(train.numTokens)} tokens, ` +
    `validation ${counts.validation} docs / ${formatCount(validation.numTokens)} tokens (${pct}% of tokens)`;
  const summary: CorpusSummary = {
    docs,
    trainDocs: counts.train,
    validationDocs: counts.validation,
    trainTokens: train.numTokens,
    validationTokens: validation.numTokens,
    bytes: opts.source.totalBytes,
    report,
  };
  return { kind: 'done', summary, resumed };
}

function unbalanced(recordPath: string, force: Force): PassResult {
  fs.rmSync(recordPath, { force: true });
  return { kind: 'unbalanced', force };
}
