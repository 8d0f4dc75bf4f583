/**
 * Train-once tokenizers. Training is not reproducible (see tokenizer-train.ts), so runs that
 * should be compared (a grown model against its baseline) must share one saved tokenizer rather
 * than each training their own: `ensureTokenizer` reuses the tokenizer saved in a folder when it
 * was trained on the same corpus with the same options, and trains and saves one otherwise.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { corpusHash, type Document } from './corpus.js';
import { BertTokenizer } from './tokenizer.js';
import type { TrainOptions } from './tokenizer-train.js';

const META = 'tokenizer-source.json';

export interface EnsureTokenizerOptions extends TrainOptions {
  /** Folder holding (or to hold) vocab.txt, tokenizer.json and tokenizer-source.json. */
  dir: string;
  docs: readonly Document[];
}

interface TokenizerSource {
  corpus: string;
  vocabSize: number | null;
}

/** The tokenizer in `dir` if trained on `docs` with these options, else a newly trained and saved one. */
export function ensureTokenizer(opts: EnsureTokenizerOptions): { tokenizer: BertTokenizer; trained: boolean } {
  const want: TokenizerSource = { corpus: corpusHash(opts.docs), vocabSize: opts.vocabSize ?? null };
  const metaPath = path.join(opts.dir, META);
  try {
    const have = JSON.parse(fs.readFileSync(metaPath, 'utf8')) as TokenizerSource;
    if (
      have.corpus === want.corpus &&
      have.vocabSize === want.vocabSize &&
      fs.existsSync(path.join(opts.dir, 'tokenizer.json'))
    ) {
      return { tokenizer: BertTokenizer.fromFile(path.join(opts.dir, 'tokenizer.json')), trained: false };
    }
  } catch {
    // No (readable) record: train below.
  }
  const tokenizer = BertTokenizer.train(opts.docs, { vocabSize: opts.vocabSize });
  // Record last: a crash mid-save leaves no record, so the next call retrains.
  fs.rmSync(metaPath, { force: true });
  tokenizer.save(opts.dir);
  atomicWriteFile(metaPath, JSON.stringify(want, null, 2) + '\n');
  return { tokenizer, trained: true };
}
