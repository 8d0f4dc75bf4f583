/**
 * The train / validation split, per document, by a hash of its text: deterministic, independent
 * of corpus order and format, and leak-free (duplicated texts land on the same side). The key of
 * one document (`splitKey`) is all a streaming build needs; `splitDocuments` applies it to a list.
 */
import * as crypto from 'node:crypto';
import { GrowbertError } from '../io/errors.js';
import { countWords, formatCount, type Document } from './corpus.js';

/** A document's place in [0, 1): it goes to validation when below the validation fraction. */
export function splitKey(text: string, seed: number | string = 0): number {
  const h = crypto.createHash('sha256').update(String(seed)).update('\u0000').update(text).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/** Throws for a fraction outside [0, 1). */
export function checkValidationFraction(fraction: number): void {
  if (!(fraction >= 0 && fraction < 1))
    throw new GrowbertError(`validation fraction ${fraction} is out of range; use a value in [0, 1)`);
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
  checkValidationFraction(fraction);
  const keys = docs.map((d) => splitKey(d.text, seed));
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
