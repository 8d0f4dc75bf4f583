// Everything pre-training reads, made ready once: the corpus split, the tokenizer (trained once
// per corpus and cached, so runs over the same corpus share one), the token caches, the
// training stream, the masker, and a fixed set of masked validation batches.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from '../io/errors.js';
import {
  BertTokenizer, Masker, SequenceSource, corpusHash, ensureTokenCache, ensureTokenizer, readCorpus, splitDocuments,
  validationBatches, type Batch, type MaskedBatch, type TokenCache,
} from '../data/index.js';
import { dispose, tensor, tidy, type Device, type Tensor } from '../tensor/index.js';
import type { MaskedLMBatch } from '../model/index.js';

export interface DataSpec {
  specs: string[];
  docPerLine: boolean;
  validationFraction: number;
  vocabSize: number;
  tokenizer?: string;
  cacheDir: string;
}

export interface PreparedCorpus {
  tokenizer: BertTokenizer;
  train: TokenCache;
  validation: TokenCache;
  report: string;
}

/** Reads and splits the corpus, gets the tokenizer and the token caches (built once, then reused). */
export async function prepareCorpus(d: DataSpec, progress?: boolean): Promise<PreparedCorpus> {
  const docs = readCorpus(d.specs, { docPerLine: d.docPerLine });
  // The split seed is fixed (not the training seed) so every run over a corpus validates on the
  // same documents and their losses compare.
  const split = splitDocuments(docs, { validationFraction: d.validationFraction, seed: 0 });
  if (split.validation.length === 0) throw new GrowbertError(`the corpus (${d.specs.join(', ')}) has ${docs.length} document(s); validation needs at least 2 — add text or use --doc-per-line`);
  const corpusId = corpusHash(split.train).slice(0, 16);
  let tokenizer: BertTokenizer;
  if (d.tokenizer) {
    if (!fs.existsSync(d.tokenizer)) throw new GrowbertError(`tokenizer file ${d.tokenizer} does not exist; give a vocab.txt or tokenizer.json`);
    tokenizer = BertTokenizer.fromFile(d.tokenizer);
  } else {
    // Trained once at full size; smaller vocabularies are prefixes of it (see src/data/tokenizer-train.ts).
    const full = ensureTokenizer({ dir: path.join(d.cacheDir, 'tokenizers', corpusId), docs: split.train }).tokenizer;
    tokenizer = d.vocabSize < full.vocabSize ? full.truncate(d.vocabSize) : full;
  }
  const tokDir = path.join(d.cacheDir, 'tokens', `${corpusId}-${tokenizer.fingerprint.slice(0, 12)}`);
  const train = await ensureTokenCache({ dir: path.join(tokDir, 'train'), docs: split.train, tokenizer, progress });
  const validation = await ensureTokenCache({ dir: path.join(tokDir, 'validation'), docs: split.validation, tokenizer, progress });
  const report = `${split.report}; vocabulary ${tokenizer.vocabSize}; ${train.numTokens} training tokens, ${validation.numTokens} validation tokens`;
  return { tokenizer, train, validation, report };
}

export interface StreamOptions {
  seqLength: number;
  batchSize: number;
  maxPredictions: number;
  maskProb: number;
  wholeWordMasking: boolean;
  nsp: boolean;
  seed: number;
}

export function makeStream(c: PreparedCorpus, o: StreamOptions): SequenceSource {
  return new SequenceSource(c.train, {
    seqLen: o.seqLength, batchSize: o.batchSize, seed: o.seed, specialIds: c.tokenizer.specialIds,
    continuation: c.tokenizer.continuationTable(), nsp: o.nsp, dataId: c.train.manifest.hash,
  });
}

export function makeMasker(c: PreparedCorpus, o: StreamOptions, seed: number): Masker {
  return new Masker({
    vocabSize: c.tokenizer.vocabSize, maskId: c.tokenizer.specialIds.mask, maskProb: o.maskProb,
    maxPredictions: o.maxPredictions, wholeWord: o.wholeWordMasking,
    // Random replacements never draw growbert's special ids 0..4.
    randomRange: [5, c.tokenizer.vocabSize],
  }, seed);
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
    seqLen: o.seqLength, batchSize: o.batchSize, specialIds: c.tokenizer.specialIds,
    continuation: c.tokenizer.continuationTable(), nsp: o.nsp, maxBatches: maxBatches > 0 ? maxBatches : undefined,
  })) {
    out.push(toModelBatch(b, masker.mask(b), device));
  }
  if (out.length === 0) throw new GrowbertError('the validation split produced no sequences; use a larger corpus or --validation-fraction');
  return out;
}
