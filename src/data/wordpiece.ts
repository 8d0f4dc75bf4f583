/**
 * WordPiece matching and decoding in TypeScript, mirroring the Rust `tokenizers` crate.
 *
 * Why not just call the binding: its encode/decode are async (they run on a thread pool), and
 * callers like GLUE preprocessing, packing tests and the CLI want a plain synchronous
 * `encode(text)`. Normalization and pre-tokenization still come from the binding (they are
 * synchronous there), so only the small greedy matcher and the decoder live here; a test checks
 * they agree with the binding token for token on a whole book.
 */

/** BERT's special tokens; vocabularies growbert builds put them first, in this order (ids 0..4). */
export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export interface WordPieceParams {
  unkToken: string;
  /** Marks a piece that continues a word, '##' in BERT. */
  continuingSubwordPrefix: string;
  /** Longer words (in code points) become [UNK] whole, as in Rust (default 100). */
  maxInputCharsPerWord: number;
}

export const BERT_WORDPIECE: WordPieceParams = {
  unkToken: '[UNK]',
  continuingSubwordPrefix: '##',
  maxInputCharsPerWord: 100,
};

export class WordPieceMatcher {
  readonly unkId: number;

  /** `vocab` is the model vocabulary (token -> id), without added tokens outside it. */
  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    readonly params: WordPieceParams,
  ) {
    const unk = vocab.get(params.unkToken);
    if (unk === undefined) throw new Error(`WordPiece vocabulary lacks its unknown token ${params.unkToken}`);
    this.unkId = unk;
  }

  /** The vocabulary's (token, id) pairs. */
  vocabEntries(): IterableIterator<[string, number]> {
    return this.vocab.entries();
  }

  /**
   * Append the ids of one pre-tokenized word to `out`: greedy longest-match-first from the left;
   * if any remainder has no match the whole word is [UNK] (not just the failing piece).
   */
  tokenizeWord(word: string, out: number[]): void {
    const direct = this.vocab.get(word);
    if (direct !== undefined) {
      // Fast path for whole-word hits (most words), still subject to the length limit.
      if (word.length <= this.params.maxInputCharsPerWord || [...word].length <= this.params.maxInputCharsPerWord) {
        out.push(direct);
        return;
      }
    }
    const chars = [...word];
    if (chars.length > this.params.maxInputCharsPerWord) {
      out.push(this.unkId);
      return;
    }
    const mark = out.length;
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found = -1;
      while (start < end) {
        let sub = chars.slice(start, end).join('');
        if (start > 0) sub = this.params.continuingSubwordPrefix + sub;
        const id = this.vocab.get(sub);
        if (id !== undefined) {
          found = id;
          break;
        }
        end--;
      }
      if (found < 0) {
        out.length = mark;
        out.push(this.unkId);
        return;
      }
      out.push(found);
      start = end;
    }
  }
}

/**
 * Join WordPiece tokens back into text the way the Rust WordPiece decoder does: a token with the
 * prefix glues onto the previous one, others get a leading space; then (per token) BERT's cleanup
 * of spaces before punctuation and contractions.
 */
export function decodeWordPieceTokens(tokens: readonly string[], prefix = '##', cleanup = true): string {
  let s = '';
  tokens.forEach((tok, i) => {
    let t = tok;
    if (i !== 0) t = t.startsWith(prefix) ? t.slice(prefix.length) : ` ${t}`;
    if (cleanup) t = cleanupSpaces(t);
    s += t;
  });
  return s;
}

function cleanupSpaces(s: string): string {
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(' do not', " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
