/**
 * Learning a WordPiece vocabulary with the `tokenizers` binding.
 *
 * What the binding offers (0.23): `Tokenizer.train(files)` with the model's default trainer and
 * no options: vocab size 30000, no special tokens, and progress output written by Rust straight
 * to stdout. So training runs in a child process (keeping our stdout clean for results), the
 * specials are prepended here, and a smaller vocab size is a prefix of the learned list. That
 * prefix is what training with the smaller size would give: the list holds the alphabet (single
 * characters, plain and '##'), then pieces in merge order, and stopping merges early is exactly a
 * smaller BPE-style vocabulary. `alphabetEnd` checks the ordering claim on every training.
 *
 * Not reproducible: the trainer breaks ties between equally frequent merges by hash-map order,
 * so two trainings on the same text differ in a few percent of their pieces. Train once, save
 * it, and reuse the saved files (`ensureTokenizer` does that).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GrowbertError } from '../io/errors.js';
import type { Document } from './corpus.js';
import { SPECIAL_TOKENS } from './wordpiece.js';

export interface TrainOptions {
  /**
   * Final vocabulary size including the 5 specials; default and maximum: all that was learned
   * (30000 pieces + specials). Must be at least specials + alphabet of the corpus.
   */
  vocabSize?: number;
}

const WORKER = fileURLToPath(new URL('./tokenizer-train-worker.js', import.meta.url));

/** Learn the id-ordered token list: specials, alphabet, merged pieces (truncated to vocabSize). */
export function learnWordPieceVocab(texts: readonly (string | Document)[], opts: TrainOptions = {}): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-tok-'));
  let learned: string[];
  try {
    const corpus = path.join(dir, 'corpus.txt');
    const out = path.join(dir, 'vocab.json');
    fs.writeFileSync(corpus, texts.map((t) => (typeof t === 'string' ? t : t.text)).join('\n'));
    const r = spawnSync(process.execPath, [WORKER, corpus, out], {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    if (r.error || r.status !== 0) {
      const why = r.error?.message ?? (r.stderr || `exit ${r.status}`).trim().split('\n').slice(-1)[0];
      throw new Error(`tokenizer training failed: ${why}`);
    }
    learned = JSON.parse(fs.readFileSync(out, 'utf8')) as string[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (learned.length === 0) throw new GrowbertError('tokenizer training saw no text; give a corpus with words in it');
  const specials: readonly string[] = SPECIAL_TOKENS;
  const all = [...SPECIAL_TOKENS, ...learned.filter((t) => !specials.includes(t))];
  return truncateVocab(all, Math.min(opts.vocabSize ?? all.length, all.length), '##');
}

/** The first `vocabSize` tokens of a specials-first trained list, refusing to cut the alphabet. */
export function truncateVocab(tokens: readonly string[], vocabSize: number, prefix: string): string[] {
  const alphabet = alphabetEnd(tokens, prefix);
  if (!(Number.isInteger(vocabSize) && vocabSize >= alphabet)) {
    throw new GrowbertError(
      `vocab size ${vocabSize} is below the ${alphabet} this corpus needs (${SPECIAL_TOKENS.length} specials + ` +
        `${alphabet - SPECIAL_TOKENS.length} single characters); use a vocab size of at least ${alphabet}`,
    );
  }
  return tokens.slice(0, vocabSize);
}

/**
 * Index just past the specials + single characters at the front of a trained list, checking
 * the claim that every later token is a merged piece (so any prefix covering the alphabet loses
 * no character and every word stays encodable).
 */
export function alphabetEnd(tokens: readonly string[], prefix: string): number {
  const isChar = (t: string): boolean => {
    const body = t.startsWith(prefix) && t.length > prefix.length ? t.slice(prefix.length) : t;
    return [...body].length === 1;
  };
  let end = SPECIAL_TOKENS.length;
  while (end < tokens.length && isChar(tokens[end]!)) end++;
  for (let i = end; i < tokens.length; i++) {
    if (isChar(tokens[i]!)) {
      throw new GrowbertError(
        `vocabulary lists the character '${tokens[i]}' (id ${i}) after merged pieces, so a prefix of it would drop characters; ` +
          `only vocabularies growbert trained can be truncated`,
      );
    }
  }
  return end;
}
