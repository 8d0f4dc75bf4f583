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
import {
  Tokenizer,
  WordPiece,
  bertNormalizer,
  bertPreTokenizer,
  templateProcessing,
  wordPieceDecoder,
} from 'tokenizers';
import type { Normalizer, PreTokenizer } from 'tokenizers';
import { GrowbertError } from '../io/errors.js';
import { atomicWriteFile, tempPathFor } from '../io/atomic.js';
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

export { SPECIAL_TOKENS };
export type { TrainOptions };

export interface SpecialIds {
  pad: number;
  unk: number;
  cls: number;
  sep: number;
  mask: number;
}

/** A token matched in raw text before normalization (the specials, in BERT). */
interface AddedToken {
  content: string;
  id: number;
  special: boolean;
  /** Hugging Face's matching options; the fast encoder handles only the specials' defaults. */
  normalized?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  single_word?: boolean;
}

/** The normalizer used for vocabularies we build (same as BERT uncased). */
const BERT_NORMALIZER_CONFIG = {
  type: 'BertNormalizer',
  clean_text: true,
  handle_chinese_chars: true,
  strip_accents: true,
  lowercase: true,
};

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
  private readonly modelConfig: {
    params: WordPieceParams;
    normalizer: unknown;
    preTokenizer: unknown;
    addedTokens?: AddedToken[];
  };

  private constructor(
    private readonly tk: Tokenizer,
    modelConfig: { params: WordPieceParams; normalizer: unknown; preTokenizer: unknown; addedTokens?: AddedToken[] },
  ) {
    this.modelConfig = modelConfig;
    const full = tk.getVocab(true);
    const size = Math.max(-1, ...Object.values(full)) + 1;
    this.tokens = new Array<string>(size).fill('');
    for (const [t, id] of Object.entries(full)) this.tokens[id] = t;
    this.ids = new Map(Object.entries(full));
    this.vocabSize = size;
    this.matcher = new WordPieceMatcher(new Map(Object.entries(tk.getVocab(false))), modelConfig.params);
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
    this.fingerprint = crypto
      .createHash('sha256')
      .update(
        canonicalJson({
          params: modelConfig.params,
          normalizer: modelConfig.normalizer,
          preTokenizer: modelConfig.preTokenizer,
        }),
      )
      .update('\u0000')
      .update(this.tokens.join('\n'))
      .digest('hex');
  }

  /** Build an uncased BERT tokenizer from an id-ordered token list (must contain the specials). */
  static fromVocab(tokens: readonly string[], params: WordPieceParams = BERT_WORDPIECE): BertTokenizer {
    const vocab: Record<string, number> = {};
    tokens.forEach((t, i) => {
      if (!(t in vocab)) vocab[t] = i;
    });
    for (const s of SPECIAL_TOKENS) {
      if (!(s in vocab))
        throw new GrowbertError(
          `vocabulary lacks ${s}; add ${SPECIAL_TOKENS.join(' ')} to it (growbert puts them first)`,
        );
    }
    const tk = new Tokenizer(
      WordPiece.init(vocab, {
        unkToken: params.unkToken,
        continuingSubwordPrefix: params.continuingSubwordPrefix,
        maxInputCharsPerWord: params.maxInputCharsPerWord,
      }),
    );
    tk.setNormalizer(
      bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }),
    );
    tk.setPreTokenizer(bertPreTokenizer());
    const cls = vocab['[CLS]']!;
    const sep = vocab['[SEP]']!;
    tk.setPostProcessor(
      templateProcessing('[CLS] $A:0 [SEP]:0', '[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1', [
        ['[CLS]', cls],
        ['[SEP]', sep],
      ]),
    );
    tk.setDecoder(wordPieceDecoder(params.continuingSubwordPrefix, true));
    tk.addSpecialTokens([...SPECIAL_TOKENS]);
    return new BertTokenizer(tk, {
      params,
      normalizer: BERT_NORMALIZER_CONFIG,
      preTokenizer: { type: 'BertPreTokenizer' },
    });
  }

  /**
   * Load `vocab.txt` (one token per line, line number = id), `tokenizer.json` (Hugging Face
   * format, WordPiece model), or a folder holding either (tokenizer.json preferred).
   */
  static fromFile(file: string): BertTokenizer {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st)
      throw new GrowbertError(
        `tokenizer file '${file}' does not exist; give a vocab.txt, a tokenizer.json or a run folder holding one`,
      );
    if (st.isDirectory()) {
      for (const name of ['tokenizer.json', 'vocab.txt']) {
        if (fs.existsSync(path.join(file, name))) return BertTokenizer.fromFile(path.join(file, name));
      }
      throw new GrowbertError(
        `folder '${file}' holds neither tokenizer.json nor vocab.txt; train a tokenizer or point at its file`,
      );
    }
    const text = fs.readFileSync(file, 'utf8');
    if (file.endsWith('.json')) return BertTokenizer.fromJson(text, file);
    // Same reading as Rust's WordPiece::read_file: one token per line, trailing whitespace dropped.
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const tokens = lines.map((l) => l.trimEnd());
    checkNoDuplicates(tokens, file);
    return BertTokenizer.fromVocab(tokens);
  }

  /** Parse a Hugging Face tokenizer.json string; `where` names it in errors. */
  static fromJson(json: string, where = 'tokenizer.json'): BertTokenizer {
    let cfg: {
      model?: {
        type?: string;
        unk_token?: string;
        continuing_subword_prefix?: string;
        max_input_chars_per_word?: number;
      };
      normalizer?: unknown;
      pre_tokenizer?: unknown;
      added_tokens?: AddedToken[];
    };
    try {
      cfg = JSON.parse(json);
    } catch (e) {
      throw new GrowbertError(
        `${where} is not valid JSON (${(e as Error).message}); re-save it with a Hugging Face tokenizer`,
      );
    }
    if (cfg.model?.type !== 'WordPiece') {
      throw new GrowbertError(
        `${where} holds a ${cfg.model?.type ?? 'unknown'} model; growbert needs a WordPiece (BERT) tokenizer`,
      );
    }
    let tk: Tokenizer;
    try {
      tk = Tokenizer.fromString(json);
    } catch (e) {
      throw new GrowbertError(
        `${where} could not be loaded (${(e as Error).message}); re-save it with a current Hugging Face tokenizers`,
      );
    }
    const params: WordPieceParams = {
      unkToken: cfg.model.unk_token ?? BERT_WORDPIECE.unkToken,
      continuingSubwordPrefix: cfg.model.continuing_subword_prefix ?? BERT_WORDPIECE.continuingSubwordPrefix,
      maxInputCharsPerWord: cfg.model.max_input_chars_per_word ?? BERT_WORDPIECE.maxInputCharsPerWord,
    };
    const addedTokens = Array.isArray(cfg.added_tokens)
      ? cfg.added_tokens.map((t) => ({
          content: String(t.content),
          id: Number(t.id),
          special: Boolean(t.special),
          normalized: Boolean(t.normalized),
          lstrip: Boolean(t.lstrip),
          rstrip: Boolean(t.rstrip),
          single_word: Boolean(t.single_word),
        }))
      : undefined;
    return new BertTokenizer(tk, {
      params,
      normalizer: cfg.normalizer ?? null,
      preTokenizer: cfg.pre_tokenizer ?? null,
      addedTokens,
    });
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
    fs.mkdirSync(dir, { recursive: true });
    atomicWriteFile(path.join(dir, 'vocab.txt'), this.tokens.join('\n') + '\n');
    // The binding writes the file itself: let it write a temp name, fsync, then rename.
    const target = path.join(dir, 'tokenizer.json');
    const tmp = tempPathFor(target);
    try {
      this.tk.save(tmp, true);
      const fd = fs.openSync(tmp, 'r+');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(tmp, target);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    // Lets Hugging Face's AutoTokenizer load the folder as an uncased BERT tokenizer.
    const config = {
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      strip_accents: null,
      tokenize_chinese_chars: true,
      unk_token: '[UNK]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      cls_token: '[CLS]',
      mask_token: '[MASK]',
    };
    atomicWriteFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
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
   * `b [SEP]`. With `maxLength`, the longer text loses tokens from its end first.
   */
  encodePair(
    a: string | Int32Array,
    b?: string | Int32Array,
    maxLength?: number,
  ): { ids: Int32Array; typeIds: Int32Array } {
    let ia = typeof a === 'string' ? this.encode(a) : a;
    let ib = b === undefined ? undefined : typeof b === 'string' ? this.encode(b) : b;
    const specials = ib === undefined ? 2 : 3;
    if (maxLength !== undefined) {
      const budget = maxLength - specials;
      if (budget < 0)
        throw new GrowbertError(
          `max length ${maxLength} is too short for the special tokens; use at least ${specials}`,
        );
      let la = ia.length;
      let lb = ib?.length ?? 0;
      while (la + lb > budget) {
        if (la > lb) la--;
        else lb--;
      }
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

/** JSON with sorted keys, so equal configs hash equally whatever their key order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * A token listed twice gets the first line's id; the later line's id can never occur, and the
 * model would carry an embedding row no token reaches. Refused, naming the lines (1-based).
 */
function checkNoDuplicates(tokens: readonly string[], file: string): void {
  const first = new Map<string, number>();
  const dups: string[] = [];
  tokens.forEach((t, i) => {
    const at = first.get(t);
    if (at === undefined) first.set(t, i);
    else dups.push(`${JSON.stringify(t)} on lines ${at + 1} and ${i + 1}`);
  });
  if (dups.length)
    throw new GrowbertError(
      `${file} lists ${dups.length} token(s) twice (${dups.slice(0, 3).join('; ')}${dups.length > 3 ? '; ...' : ''}); a repeated line gets an id no text can produce: remove the repeats`,
    );
}
