/**
 * Uncased BERT WordPiece tokenizer over the Hugging Face `tokenizers` binding.
 *
 * The binding supplies the BERT normalizer (lowercase, strip accents, clean text, spaces around
 * CJK characters), the BERT pre-tokenizer, training, fast batched encoding and the
 * tokenizer.json format. Single-text encode/decode run through `wordpiece.ts` so they can be
 * synchronous. Trained vocabularies put the specials first: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3
 * [MASK]=4, as in Google's BERT vocabularies shifted to the front.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Normalizer, PreTokenizer, Tokenizer } from 'tokenizers';
import { GrowbertError } from '../io/errors.js';
import { readInputText, statInput } from '../io/input-file.js';
import type { Document } from './corpus.js';
import {
  BERT_WORDPIECE,
  SPECIAL_TOKENS,
  WordPieceMatcher,
  decodeWordPieceTokens,
  type WordPieceParams,
} from './wordpiece.js';
import type { FastEncoderSpec } from './fast-encoder.js';
import { learnWordPieceVocab, truncateVocab, type TrainOptions } from './tokenizer-train.js';
import {
  canonicalJson,
  jsonParts,
  readVocabFile,
  saveTokenizerFiles,
  wordPieceParts,
  type AddedToken,
  type TokenizerModelConfig,
  type TokenizerParts,
} from './tokenizer-files.js';

export { SPECIAL_TOKENS };
export type { TrainOptions };

export interface SpecialIds {
  pad: number;
  unk: number;
  cls: number;
  sep: number;
  mask: number;
}

export class BertTokenizer {
  readonly specialIds: SpecialIds;
  readonly vocabSize: number;
  /** Canonical hash of everything that decides token ids; token caches key on it. */
  readonly fingerprint: string;
  private readonly tokens: string[];
  private readonly ids: Map<string, number>;
  private readonly matcher: WordPieceMatcher;
  private readonly normalizer: Normalizer | null;
  private readonly preTokenizer: PreTokenizer | null;
  private readonly addedTokens: AddedToken[];
  private readonly continuation: Uint8Array;
  private readonly specialSet: Set<number>;
  private readonly modelConfig: TokenizerModelConfig;
  private readonly tk: Tokenizer;

  private constructor(parts: TokenizerParts) {
    const { tk, ids, config: modelConfig } = parts;
    this.tk = tk;
    this.modelConfig = modelConfig;
    let size = 0;
    for (const id of ids.values()) size = Math.max(size, id + 1);
    this.tokens = new Array<string>(size).fill('');
    for (const [t, id] of ids) this.tokens[id] = t;
    this.ids = ids;
    this.vocabSize = size;
    this.matcher = new WordPieceMatcher(parts.modelVocab, modelConfig.params);
    this.normalizer = tk.getNormalizer();
    this.preTokenizer = tk.getPreTokenizer();
    const need = (t: string): number => {
      const id = this.ids.get(t);
      if (id === undefined)
        throw new GrowbertError(`tokenizer vocabulary lacks ${t}; growbert needs ${SPECIAL_TOKENS.join(' ')} in it`);
      return id;
    };
    this.specialIds = {
      pad: need('[PAD]'),
      unk: need('[UNK]'),
      cls: need('[CLS]'),
      sep: need('[SEP]'),
      mask: need('[MASK]'),
    };
    this.addedTokens =
      modelConfig.addedTokens ?? SPECIAL_TOKENS.map((t) => ({ content: t, id: need(t), special: true }));
    this.specialSet = new Set([
      ...Object.values(this.specialIds),
      ...this.addedTokens.filter((t) => t.special).map((t) => t.id),
    ]);
    const prefix = modelConfig.params.continuingSubwordPrefix;
    this.continuation = Uint8Array.from(this.tokens, (t) => (t.startsWith(prefix) && t.length > prefix.length ? 1 : 0));
    const { params, normalizer, preTokenizer } = modelConfig;
    this.fingerprint = crypto
      .createHash('sha256')
      .update(canonicalJson({ params, normalizer, preTokenizer }))
      .update('\u0000')
      .update(this.tokens.join('\n'))
      .digest('hex');
  }

  /** Build an uncased BERT tokenizer from an id-ordered token list (must contain the specials). */
  static fromVocab(tokens: readonly string[], params: WordPieceParams = BERT_WORDPIECE): BertTokenizer {
    return new BertTokenizer(wordPieceParts(tokens, params));
  }

  /**
   * Load `vocab.txt` (one token per line, line number = id), `tokenizer.json` (Hugging Face
   * format, WordPiece model), or a folder holding either (tokenizer.json preferred).
   */
  static fromFile(file: string): BertTokenizer {
    const st = statInput(file, 'tokenizer file', 'give a vocab.txt, a tokenizer.json or a run folder holding one');
    if (st.isDirectory()) {
      for (const name of ['tokenizer.json', 'vocab.txt']) {
        if (fs.existsSync(path.join(file, name))) return BertTokenizer.fromFile(path.join(file, name));
      }
      throw new GrowbertError(
        `folder '${file}' holds neither tokenizer.json nor vocab.txt; train a tokenizer or point at its file`,
      );
    }
    if (file.endsWith('.json')) return BertTokenizer.fromJson(readInputText(file, 'tokenizer file'), file);
    return BertTokenizer.fromVocab(readVocabFile(file));
  }

  /** Parse a Hugging Face tokenizer.json string; `where` names it in errors. */
  static fromJson(json: string, where = 'tokenizer.json'): BertTokenizer {
    return new BertTokenizer(jsonParts(json, where));
  }

  /**
   * Learn an uncased WordPiece vocabulary from texts (see `learnWordPieceVocab`; ~3 s for the
   * default corpus). Deterministic: the same texts give the same vocabulary, bit for bit.
   */
  static train(texts: readonly (string | Document)[], opts: TrainOptions = {}): BertTokenizer {
    return BertTokenizer.fromVocab(learnWordPieceVocab(texts, opts));
  }

  /**
   * The same tokenizer with only the first `vocabSize` tokens (at least specials + alphabet); for vocabularies growbert
   * trained.
   */
  truncate(vocabSize: number): BertTokenizer {
    return BertTokenizer.fromVocab(
      truncateVocab(this.tokens, vocabSize, this.matcher.params.continuingSubwordPrefix),
      this.matcher.params,
    );
  }

  /** Write `vocab.txt`, `tokenizer.json` and `tokenizer_config.json` into `dir` (atomically). */
  save(dir: string): void {
    saveTokenizerFiles(dir, this.tokens, this.tk);
  }

  /**
   * Token ids of `text`, without [CLS]/[SEP]. A literal "[MASK]" etc. in the text maps to its special id, as in Hugging
   * Face.
   */
  encode(text: string): Int32Array {
    const out: number[] = [];
    for (const piece of this.splitAddedTokens(text)) {
      if (typeof piece === 'number') {
        out.push(piece);
        continue;
      }
      const norm = this.normalizer ? this.normalizer.normalizeString(piece) : piece;
      if (this.preTokenizer) {
        for (const [word] of this.preTokenizer.preTokenizeString(norm)) this.matcher.tokenizeWord(word, out);
      } else {
        for (const word of norm.split(/\s+/)) if (word) this.matcher.tokenizeWord(word, out);
      }
    }
    return Int32Array.from(out);
  }

  /**
   * What `FastWordPieceEncoder` needs to give this tokenizer's ids, or undefined when its
   * normalizer, pre-tokenizer or added tokens are ones that encoder does not reproduce (then
   * bulk encoding uses the binding's `encodeBatch`).
   */
  fastEncoderSpec(): FastEncoderSpec | undefined {
    const n = this.modelConfig.normalizer as Record<string, unknown> | null;
    const p = this.modelConfig.preTokenizer as Record<string, unknown> | null;
    if (n?.type !== 'BertNormalizer' || n.clean_text !== true || p?.type !== 'BertPreTokenizer') return undefined;
    const plainAdded = this.addedTokens.every(
      (t) => t.special && !t.normalized && !t.lstrip && !t.rstrip && !t.single_word && t.content.length > 0,
    );
    if (!plainAdded) return undefined;
    const lowercase = n.lowercase !== false;
    return {
      vocab: [...this.matcher.vocabEntries()],
      unkId: this.matcher.unkId,
      prefix: this.matcher.params.continuingSubwordPrefix,
      maxInputCharsPerWord: this.matcher.params.maxInputCharsPerWord,
      addedTokens: this.addedTokens.map((t) => ({ content: t.content, id: t.id })),
      lowercase,
      // Hugging Face: strip_accents null follows lowercase.
      stripAccents: n.strip_accents === null || n.strip_accents === undefined ? lowercase : Boolean(n.strip_accents),
      cleanText: true,
      handleChineseChars: n.handle_chinese_chars !== false,
    };
  }

  /** Many texts at once on the binding's thread pool; ids as from `encode`. */
  async encodeBatch(texts: readonly string[]): Promise<Int32Array[]> {
    if (texts.length === 0) return [];
    const encs = await this.tk.encodeBatch([...texts], { addSpecialTokens: false });
    return encs.map((e) => Int32Array.from(e.getIds()));
  }

  /**
   * `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]` with segment ids 0 for `[CLS] a [SEP]` and 1 for
   * `b [SEP]`. With `maxLength`, tokens are cut from the ends as Hugging Face's `longest_first`
   * truncation cuts them (see `longestFirst`).
   */
  encodePair(
    a: string | Int32Array,
    b?: string | Int32Array,
    maxLength?: number,
  ): { ids: Int32Array; typeIds: Int32Array } {
    let ia = typeof a === 'string' ? this.encode(a) : a;
    // an empty second text is no second text, as in transformers (`tok(a, '')` is `tok(a)`; ' ' is a pair)
    let ib = b === undefined || b === '' ? undefined : typeof b === 'string' ? this.encode(b) : b;
    const specials = ib === undefined ? 2 : 3;
    if (maxLength !== undefined) {
      const budget = maxLength - specials;
      if (budget < 0)
        throw new GrowbertError(
          `max length ${maxLength} is too short for the special tokens; use at least ${specials}`,
        );
      // as Hugging Face: each text is first cut to whole words holding maxLength tokens, then the pair
      ia = this.cutAtWord(ia, maxLength);
      ib = ib && this.cutAtWord(ib, maxLength);
      const [la, lb] = longestFirst(ia.length, ib?.length ?? 0, maxLength, ib !== undefined);
      ia = ia.subarray(0, la);
      ib = ib?.subarray(0, lb);
    }
    const n = ia.length + (ib?.length ?? 0) + specials;
    const ids = new Int32Array(n);
    const typeIds = new Int32Array(n);
    const { cls, sep } = this.specialIds;
    ids[0] = cls;
    ids.set(ia, 1);
    ids[ia.length + 1] = sep;
    if (ib !== undefined) {
      const off = ia.length + 2;
      ids.set(ib, off);
      ids[n - 1] = sep;
      typeIds.fill(1, off);
    }
    return { ids, typeIds };
  }

  /**
   * `ids` cut after the word holding its `n`-th token (whole words up to at least n tokens): what
   * tokenizers keeps of one text before it truncates a pair (it stops encoding there).
   */
  private cutAtWord(ids: Int32Array, n: number): Int32Array {
    if (ids.length <= n) return ids;
    let end = n;
    while (end < ids.length && this.continuation[ids[end]!]) end++;
    return ids.subarray(0, end);
  }

  /** Text for ids, as the Hugging Face decoder gives it (specials skipped by default). */
  decode(ids: ArrayLike<number>, opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? true;
    const toks: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (skip && this.specialSet.has(id)) continue;
      const t = this.tokens[id];
      if (t !== undefined) toks.push(t);
    }
    return decodeWordPieceTokens(toks, this.matcher.params.continuingSubwordPrefix, true);
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  /** All tokens in id order. */
  vocab(): readonly string[] {
    return this.tokens;
  }

  isSpecial(id: number): boolean {
    return this.specialSet.has(id);
  }

  /** Per vocabulary id, 1 if the token continues a word ('##...'); index it with ids. */
  continuationTable(): Uint8Array {
    return this.continuation;
  }

  /** 1 where an id begins a word (no '##' prefix; specials count as starts), for whole-word masking. */
  wordStarts(ids: ArrayLike<number>): Uint8Array {
    const out = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = this.continuation[ids[i]!] ? 0 : 1;
    return out;
  }

  /** The text cut at special-token strings (which are matched before normalization). */
  private splitAddedTokens(text: string): (string | number)[] {
    const parts: (string | number)[] = [];
    let rest = 0;
    for (;;) {
      let best = -1;
      let bestTok: (typeof this.addedTokens)[number] | undefined;
      for (const t of this.addedTokens) {
        const at = text.indexOf(t.content, rest);
        if (at >= 0 && (best < 0 || at < best || (at === best && t.content.length > bestTok!.content.length))) {
          best = at;
          bestTok = t;
        }
      }
      if (!bestTok) break;
      if (best > rest) parts.push(text.slice(rest, best));
      parts.push(bestTok.id);
      rest = best + bestTok.content.length;
    }
    if (rest < text.length) parts.push(text.slice(rest));
    return parts;
  }
}

/**
 * The lengths Hugging Face's `longest_first` truncation keeps of a text of `la` tokens and one of
 * `lb` (`pair`; else a single text) within `maxLength` positions, special tokens included
 * (tokenizers' `truncate_encodings`): when only the longer must shrink it keeps what the shorter
 * leaves; when both must, each keeps half, and an odd budget's spare token goes to the longer one
 * (to the second on a tie). transformers 5.18 over tokenizers 0.23 first cuts each text after the
 * word holding its maxLength-th token (`encodePair` does: cutAtWord); with that, this equals it on
 * a grid of 50,000 lengths and word sizes and in the interop suite (test/export/interop.test.ts).
 */
export function longestFirst(la: number, lb: number, maxLength: number, pair = lb > 0): [number, number] {
  const budget = maxLength - (pair ? 3 : 2);
  if (la + lb <= budget) return [la, lb];
  const swap = la > lb;
  let n1 = swap ? lb : la; // the shorter
  let n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = Math.floor(budget / 2);
    n2 = n1 + (budget % 2);
  }
  const [ka, kb] = swap ? [n2, n1] : [n1, n2];
  return [Math.min(la, ka), Math.min(lb, kb)];
}
