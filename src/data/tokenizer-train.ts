/**
 * Learning a WordPiece vocabulary: src/data/wordpiece-train.ts, the BPE-style algorithm of the
 * `tokenizers` binding's WordPieceTrainer (its defaults: 30000 tokens, no special tokens) made
 * deterministic: the same texts give the same vocabulary, bit for bit (the binding's trainer
 * broke ties in hash-map order, so two trainings on one text differed in a few percent of their
 * pieces). The specials are prepended here, and a smaller vocab size is a prefix of the learned
 * list. That prefix is what training with the smaller size would give: the list holds the
 * alphabet (single characters, plain and '##'), then pieces in merge order, and stopping merges
 * early is exactly a smaller vocabulary. `alphabetEnd` checks the ordering claim on every training.
 */
import { GrowbertError } from '../io/errors.js';
import type { Document } from './corpus.js';
import { SPECIAL_TOKENS } from './wordpiece.js';
import { trainWordPiece } from './wordpiece-train.js';

export interface TrainOptions {
  /**
   * Final vocabulary size including the 5 specials; default and maximum: all that was learned
   * (30000 pieces + specials). Must be at least specials + alphabet of the corpus.
   */
  vocabSize?: number;
}

/** Learn the id-ordered token list: specials, alphabet, merged pieces (truncated to vocabSize). */
export function learnWordPieceVocab(texts: readonly (string | Document)[], opts: TrainOptions = {}): string[] {
  const learned = trainWordPiece(texts.map((t) => (typeof t === 'string' ? t : t.text)));
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
