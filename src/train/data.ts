// Everything pre-training reads, made ready once: the tokenizer (trained once per corpus on a
// bounded sample and cached, so runs over the same corpus share one), the train / validation
// token caches (one streaming pass), the training stream, the masker, and a fixed set of
// masked validation batches.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from '../io/errors.js';
import { workerEnv } from '../parallel/env.js';
import { Interrupted, signalNote, stopRequested } from './signals.js';
import { atomicWriteFile } from '../io/atomic.js';
import { fsStep, isWithin, realPath } from '../io/out-guard.js';
import {
  BertTokenizer,
  EncoderPool,
  StoppedEarly,
  checkTwoDocuments,
  Masker,
  SequenceSource,
  corpusHash,
  corpusSource,
  emptyCorpus,
  ensureCorpusCaches,
  ensureTokenizer,
  paddingFraction,
  sampleTrainingDocuments,
  validationBatches,
  type Packing,
  type Batch,
  type CacheTokenizer,
  type CorpusOptions,
  type CorpusSource,
  type MaskedBatch,
  type TokenCache,
} from '../data/index.js';
import { dispose, tensor, tidy, type Device, type Tensor } from '../tensor/index.js';
import type { MaskedLMBatch } from '../model/index.js';

export interface DataSpec {
  specs: string[];
  docPerLine: boolean;
  /** JSONL / Parquet field holding the text. */
  textField?: string;
  validationFraction: number;
  vocabSize: number;
  tokenizer?: string;
  cacheDir: string;
  /** Characters of training text a new tokenizer learns from (a bounded sample of a big corpus). */
  tokenizerSample?: number;
}

export interface PreparedCorpus {
  tokenizer: BertTokenizer;
  train: TokenCache;
  validation: TokenCache;
  report: string;
}

/**
 * Gets the tokenizer (trained once per corpus on a bounded sample, then reused) and the token
 * caches (built in one streaming pass, then reused; an interrupted build resumes).
 */
export async function prepareCorpus(
  d: DataSpec,
  progress?: boolean,
  say?: (line: string) => void,
): Promise<PreparedCorpus> {
  checkCacheOutsideInputs(d.cacheDir, d.specs);
  // a cache folder that cannot be written fails now, naming the cause, not after training a tokenizer
  fsStep('use the cache folder', d.cacheDir, () => {
    fs.mkdirSync(d.cacheDir, { recursive: true });
    fs.accessSync(d.cacheDir, fs.constants.W_OK);
  });
  const corpus = { docPerLine: d.docPerLine, textField: d.textField };
  const source = corpusSource(d.specs, corpus);
  if (source.repeated.length)
    say?.(
      `data: note: ${source.repeated.length} input(s) named more than once are read once (${source.repeated.slice(0, 3).join(', ')}${source.repeated.length > 3 ? ', ...' : ''})`,
    );
  // a one-document corpus (a book on one line) is refused now, not after training and tokenizing
  await checkTwoDocuments(d.specs, corpus);
  let tokenizer: BertTokenizer;
  if (d.tokenizer) {
    tokenizer = BertTokenizer.fromFile(d.tokenizer); // a missing file, a FIFO or a link loop: one line
  } else {
    // Trained once at full size; smaller vocabularies are prefixes of it (see src/data/tokenizer-train.ts).
    const full = await corpusTokenizer(d, source, corpus, say);
    tokenizer = d.vocabSize < full.vocabSize ? full.truncate(d.vocabSize) : full;
  }
  const solo = !((workerEnv()?.worldSize ?? 1) > 1);
  const tokDir = path.join(d.cacheDir, 'tokens', `${source.id.slice(0, 16)}-${tokenizer.fingerprint.slice(0, 12)}`);
  const encoder = lazyEncoder(tokenizer);
  let caches;
  try {
    caches = await ensureCorpusCaches({
      specs: d.specs,
      corpus,
      validationFraction: d.validationFraction,
      dir: tokDir,
      tokenizer: encoder,
      progress,
      source,
      // one process: a signal stops the build between documents (ranks of a data-parallel run stop
      // together after their first step instead: one stopping here alone would leave the others waiting)
      shouldStop: solo ? () => stopRequested() !== null : undefined,
    });
  } catch (e) {
    const sig = stopRequested();
    if (!(e instanceof StoppedEarly) || !sig) throw e;
    throw new Interrupted(
      `stopped${signalNote(sig)} while tokenizing the corpus, before any training step: nothing to save; the token caches resume where they got to on the next run`,
      sig,
    );
  } finally {
    await encoder.close();
  }
  if (caches.resumed) say?.(`data: resumed an interrupted tokenization in ${tokDir}`);
  const { train, validation, summary } = caches;
  const report = `${summary.report}; vocabulary ${tokenizer.vocabSize}; ${train.numTokens} training tokens, ${validation.numTokens} validation tokens`;
  return { tokenizer, train, validation, report };
}

/**
 * A cache inside an input folder would be read back as data on the next run (the corpus grows by
 * its own cache each time), so it is refused, as an --out inside an input is. Globs are checked
 * by the folder before their first wildcard.
 */
export function checkCacheOutsideInputs(cacheDir: string, specs: readonly string[]): void {
  const cache = realPath(cacheDir);
  for (const spec of specs) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(spec) && !fs.existsSync(spec)) continue; // stdlib:, hf: and the like
    const wild = spec.search(/[*?[{]/);
    const base = wild < 0 ? spec : path.dirname(spec.slice(0, wild) + 'x');
    if (!fs.existsSync(base) || !fs.statSync(base).isDirectory()) continue;
    if (isWithin(cache, realPath(base)))
      throw new GrowbertError(
        `--cache-dir ${cacheDir} lies inside the input ${spec}: the cache would be read back as data; give a --cache-dir outside it (e.g. --cache-dir ${path.join(path.dirname(realPath(base)), '.growbert-cache')})`,
      );
  }
}

/** The tokenizer trained on this corpus's sample, from the cache when there is one. */
async function corpusTokenizer(
  d: DataSpec,
  source: CorpusSource,
  corpus: CorpusOptions,
  say?: (line: string) => void,
): Promise<BertTokenizer> {
  // Which trained tokenizer belongs to this corpus is recorded, so later runs skip reading the sample.
  const recordKey = crypto
    .createHash('sha256')
    .update(`${source.id}\u0000${d.validationFraction}\u0000${d.tokenizerSample ?? ''}`)
    .digest('hex');
  const record = path.join(d.cacheDir, 'tokenizers', 'by-source', `${recordKey.slice(0, 32)}.json`);
  try {
    const { corpusId } = JSON.parse(fs.readFileSync(record, 'utf8')) as { corpusId: string };
    const file = path.join(d.cacheDir, 'tokenizers', corpusId, 'tokenizer.json');
    if (fs.existsSync(file)) return BertTokenizer.fromFile(file);
  } catch {
    // No record yet: sample below.
  }
  const sample = await sampleTrainingDocuments(source, {
    corpus,
    validationFraction: d.validationFraction,
    maxChars: d.tokenizerSample,
  });
  if (sample.docs.length === 0) throw emptyCorpus(d.specs);
  const corpusId = corpusHash(sample.docs).slice(0, 16);
  const r = ensureTokenizer({ dir: path.join(d.cacheDir, 'tokenizers', corpusId), docs: sample.docs });
  if (r.trained) say?.(`data: ${sample.report}`);
  fs.mkdirSync(path.dirname(record), { recursive: true });
  atomicWriteFile(record, JSON.stringify({ corpusId }) + '\n');
  return r.tokenizer;
}

/** Bulk encoding on worker threads when the fast encoder reproduces this tokenizer, started on first use. */
function lazyEncoder(tokenizer: BertTokenizer): CacheTokenizer & { close(): Promise<void> } {
  let pool: EncoderPool | undefined;
  return {
    fingerprint: tokenizer.fingerprint,
    encodeBatch(texts) {
      const spec = pool ? undefined : tokenizer.fastEncoderSpec();
      if (!pool && !spec) return tokenizer.encodeBatch(texts);
      pool ??= new EncoderPool(spec!, tokenizer.fingerprint);
      return pool.encodeBatch(texts);
    },
    close: async () => {
      await pool?.close();
    },
  };
}

export interface StreamOptions {
  seqLength: number;
  batchSize: number;
  maxPredictions: number;
  maskProb: number;
  wholeWordMasking: boolean;
  nsp: boolean;
  seed: number;
  /** 'document' (default) or 'full' (rows filled across documents; per document with NSP). */
  packing?: Packing;
}

export function makeStream(c: PreparedCorpus, o: StreamOptions): SequenceSource {
  return new SequenceSource(c.train, {
    seqLen: o.seqLength,
    batchSize: o.batchSize,
    seed: o.seed,
    specialIds: c.tokenizer.specialIds,
    continuation: c.tokenizer.continuationTable(),
    nsp: o.nsp,
    packing: o.packing,
    // by content when the cache records it: the same documents resume from any path or cache folder
    dataId: c.train.manifest.content ? `content:${c.train.manifest.content}` : c.train.manifest.hash,
  });
}

export function makeMasker(c: PreparedCorpus, o: StreamOptions, seed: number): Masker {
  return new Masker(
    {
      vocabSize: c.tokenizer.vocabSize,
      maskId: c.tokenizer.specialIds.mask,
      maskProb: o.maskProb,
      maxPredictions: o.maxPredictions,
      wholeWord: o.wholeWordMasking,
      // Random replacements never draw growbert's special ids 0..4.
      randomRange: [5, c.tokenizer.vocabSize],
    },
    seed,
  );
}

/**
 * One line for the run's data summary: the share of padding positions the chosen packing leaves
 * in training rows (measured on the first rows of the training cache), beside the other packing.
 */
export function paddingReport(c: PreparedCorpus, o: Pick<StreamOptions, 'seqLength' | 'nsp' | 'packing'>): string {
  const base = {
    seqLen: o.seqLength,
    specialIds: c.tokenizer.specialIds,
    continuation: c.tokenizer.continuationTable(),
    nsp: o.nsp,
  };
  const used: Packing = o.nsp ? 'document' : (o.packing ?? 'document');
  const pct = (p: Packing): string => `${(100 * paddingFraction(c.train, { ...base, packing: p })).toFixed(1)}%`;
  const other: Packing = used === 'full' ? 'document' : 'full';
  const note = o.nsp && o.packing === 'full' ? ' (NSP pairs need one document per row)' : '';
  return (
    `packing ${used}${note}: ${pct(used)} of positions are padding at sequence length ${o.seqLength}` +
    (o.nsp ? '' : ` (${other} packing: ${pct(other)})`)
  );
}

export type ModelBatch = MaskedLMBatch & { tokens: number };

/**
 * A packed, masked batch as model inputs on `device` (int64 ids and masks). Takes ownership of
 * the masker's tensors: the ones the model needs are moved (or kept on the CPU), the rest freed.
 */
export function toModelBatch(b: Batch, m: MaskedBatch, device: Device): ModelBatch {
  const shape = [b.size, b.seqLen];
  const move = (t: Tensor): Tensor => {
    if (device === 'cpu') return t;
    const d = t.to(device);
    t.dispose();
    return d;
  };
  const ints = (a: Int32Array | Uint8Array): Tensor => tidy(() => move(tensor(a, { shape }).to('int64')));
  dispose([m.maskedWeights, m.labels, m.numMasked]);
  return {
    inputIds: move(m.inputIds),
    tokenTypeIds: ints(b.tokenTypeIds),
    attentionMask: ints(b.attentionMask),
    maskedPositions: move(m.maskedPositions),
    maskedLabels: move(m.maskedLabels),
    tokens: b.lengths.reduce((x, y) => x + y, 0),
  };
}

/**
 * The fixed validation set: the first `maxBatches` batches of the validation split, masked with
 * a fixed seed, so every evaluation (and every run with the same data and shape) sees the same
 * inputs. Kept alive for the whole run.
 */
export function validationSet(c: PreparedCorpus, o: StreamOptions, maxBatches: number, device: Device): ModelBatch[] {
  const masker = makeMasker(c, o, 1234);
  const out: ModelBatch[] = [];
  for (const b of validationBatches(c.validation, {
    seqLen: o.seqLength,
    batchSize: o.batchSize,
    specialIds: c.tokenizer.specialIds,
    continuation: c.tokenizer.continuationTable(),
    nsp: o.nsp,
    packing: o.packing,
    maxBatches: maxBatches > 0 ? maxBatches : undefined,
  })) {
    out.push(toModelBatch(b, masker.mask(b), device));
  }
  if (out.length === 0)
    throw new GrowbertError('the validation split produced no sequences; use a larger corpus or --validation-fraction');
  return out;
}
