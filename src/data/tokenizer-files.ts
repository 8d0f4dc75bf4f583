/**
 * The tokenizer's files and how a `BertTokenizer` is assembled from them: vocab.txt (one token
 * per line), Hugging Face's tokenizer.json, an id-ordered token list; and saving all three files
 * HF's AutoTokenizer loads. Split from tokenizer.ts (which encodes and decodes) along that seam:
 * this side knows file formats and the `tokenizers` binding's set-up, that side only the parts.
 *
 * Every table keyed by tokens is a Map or a null-prototype object: a vocabulary may hold any
 * string, `constructor` and `__proto__` included (a plain object loses both). The binding's
 * getVocab() returns a plain object, so token tables are built from our own inputs, never from it.
 */
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
import { GrowbertError } from '../io/errors.js';
import { atomicWriteFile, tempPathFor } from '../io/atomic.js';
import { readInputText } from '../io/input-file.js';
import { BERT_WORDPIECE, SPECIAL_TOKENS, type WordPieceParams } from './wordpiece.js';

/** A token matched in raw text before normalization (the specials, in BERT). */
export interface AddedToken {
  content: string;
  id: number;
  special: boolean;
  /** Hugging Face's matching options; the fast encoder handles only the specials' defaults. */
  normalized?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  single_word?: boolean;
}

/** What decides a tokenizer's ids besides its vocabulary (hashed into its fingerprint). */
export interface TokenizerModelConfig {
  params: WordPieceParams;
  normalizer: unknown;
  preTokenizer: unknown;
  addedTokens?: AddedToken[];
}

/** Everything a BertTokenizer is made of. */
export interface TokenizerParts {
  tk: Tokenizer;
  /** the model's WordPiece vocabulary (token -> id), without added tokens outside it */
  modelVocab: Map<string, number>;
  /** every token, added ones included (token -> id) */
  ids: Map<string, number>;
  config: TokenizerModelConfig;
}

/** The normalizer used for vocabularies we build (same as BERT uncased). */
const BERT_NORMALIZER_CONFIG = {
  type: 'BertNormalizer',
  clean_text: true,
  handle_chinese_chars: true,
  strip_accents: true,
  lowercase: true,
};

/** An uncased BERT WordPiece tokenizer from an id-ordered token list (which must hold the specials). */
export function wordPieceParts(tokens: readonly string[], params: WordPieceParams = BERT_WORDPIECE): TokenizerParts {
  const ids = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (!ids.has(t)) ids.set(t, i);
  });
  for (const s of SPECIAL_TOKENS) {
    if (!ids.has(s))
      throw new GrowbertError(
        `vocabulary lacks ${s}; add ${SPECIAL_TOKENS.join(' ')} to it (growbert puts them first)`,
      );
  }
  // the binding takes an object: without a prototype, `__proto__` and `constructor` are plain keys
  const vocab = Object.create(null) as Record<string, number>;
  for (const [t, i] of ids) vocab[t] = i;
  const tk = new Tokenizer(
    WordPiece.init(vocab, {
      unkToken: params.unkToken,
      continuingSubwordPrefix: params.continuingSubwordPrefix,
      maxInputCharsPerWord: params.maxInputCharsPerWord,
    }),
  );
  tk.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
  tk.setPreTokenizer(bertPreTokenizer());
  const cls = ids.get('[CLS]')!;
  const sep = ids.get('[SEP]')!;
  tk.setPostProcessor(
    templateProcessing('[CLS] $A:0 [SEP]:0', '[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1', [
      ['[CLS]', cls],
      ['[SEP]', sep],
    ]),
  );
  tk.setDecoder(wordPieceDecoder(params.continuingSubwordPrefix, true));
  tk.addSpecialTokens([...SPECIAL_TOKENS]);
  return {
    tk,
    modelVocab: ids,
    ids,
    config: { params, normalizer: BERT_NORMALIZER_CONFIG, preTokenizer: { type: 'BertPreTokenizer' } },
  };
}

interface TokenizerJson {
  model?: {
    type?: string;
    unk_token?: string;
    continuing_subword_prefix?: string;
    max_input_chars_per_word?: number;
    vocab?: unknown;
  };
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  added_tokens?: AddedToken[];
}

/** A Hugging Face tokenizer.json (WordPiece model) as parts; `where` names it in errors. */
export function jsonParts(json: string, where = 'tokenizer.json'): TokenizerParts {
  let cfg: TokenizerJson;
  try {
    cfg = JSON.parse(json) as TokenizerJson;
  } catch (e) {
    throw new GrowbertError(
      `${where} is not valid JSON (${(e as Error).message}); re-save it with a Hugging Face tokenizer`,
    );
  }
  if (cfg?.model?.type !== 'WordPiece') {
    throw new GrowbertError(
      `${where} holds a ${cfg?.model?.type ?? 'unknown'} model; growbert needs a WordPiece (BERT) tokenizer`,
    );
  }
  const vocab = cfg.model.vocab;
  if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab))
    throw new GrowbertError(`${where} has no model.vocab object; re-save it with a Hugging Face tokenizer`);
  let tk: Tokenizer;
  try {
    tk = Tokenizer.fromString(json);
  } catch (e) {
    throw new GrowbertError(
      `${where} could not be loaded (${(e as Error).message}); re-save it with a current Hugging Face tokenizers`,
    );
  }
  // JSON.parse makes own properties of every key (`__proto__` too): Object.entries sees them all
  const modelVocab = new Map(Object.entries(vocab as Record<string, number>).map(([t, i]) => [t, Number(i)]));
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
  const ids = new Map(modelVocab);
  for (const t of addedTokens ?? []) ids.set(t.content, t.id);
  const params: WordPieceParams = {
    unkToken: cfg.model.unk_token ?? BERT_WORDPIECE.unkToken,
    continuingSubwordPrefix: cfg.model.continuing_subword_prefix ?? BERT_WORDPIECE.continuingSubwordPrefix,
    maxInputCharsPerWord: cfg.model.max_input_chars_per_word ?? BERT_WORDPIECE.maxInputCharsPerWord,
  };
  const config = { params, normalizer: cfg.normalizer ?? null, preTokenizer: cfg.pre_tokenizer ?? null, addedTokens };
  return { tk, modelVocab, ids, config };
}

/**
 * vocab.txt as Rust's WordPiece::read_file reads it: one token per line, trailing whitespace
 * dropped; a leading byte-order mark (editors on Windows write one) is not part of the first token.
 */
export function readVocabFile(file: string): string[] {
  const lines = readInputText(file, 'tokenizer file').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const tokens = lines.map((l) => l.trimEnd());
  checkNoDuplicates(tokens, file);
  return tokens;
}

/** Writes `vocab.txt`, `tokenizer.json` and `tokenizer_config.json` into `dir` (each atomically). */
export function saveTokenizerFiles(dir: string, tokens: readonly string[], tk: Tokenizer): void {
  fs.mkdirSync(dir, { recursive: true });
  atomicWriteFile(path.join(dir, 'vocab.txt'), tokens.join('\n') + '\n');
  // The binding writes the file itself: let it write a temp name, fsync, then rename.
  const target = path.join(dir, 'tokenizer.json');
  const tmp = tempPathFor(target);
  try {
    tk.save(tmp, true);
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

/** JSON with sorted keys, so equal configs hash equally whatever their key order. */
export function canonicalJson(v: unknown): string {
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
