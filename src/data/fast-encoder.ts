/**
 * A tight BERT WordPiece encoder for bulk tokenization (the token cache), with ids identical to
 * the Hugging Face `tokenizers` binding's.
 *
 * Why: the binding's `encodeBatch` spends most of its time per encoding on the JavaScript side
 * (an Encoding object with offsets, masks and words per text), which caps it near 4 MB/s here.
 * This encoder writes ids straight into one Int32Array per batch and runs in worker threads.
 *
 * How it stays exact: text is cut at ASCII whitespace (which every BERT normalizer keeps as a
 * word boundary). A chunk of plain ASCII is normalized here (drop control characters, lowercase,
 * split punctuation: all that BERT's normalizer and pre-tokenizer do to ASCII). A chunk with any
 * other character goes through the binding's own normalizer (Unicode cleaning, CJK spacing, NFD,
 * accent stripping, lowercasing) and is then split like its pre-tokenizer; a test checks that
 * split for every code point. Special tokens are matched in the raw text first, as Hugging Face does.
 */
import { bertNormalizer, type Normalizer } from 'tokenizers';

/** Everything the encoder needs, as plain data that can be posted to a worker. */
export interface FastEncoderSpec {
  /** Model vocabulary, token -> id, as entries. */
  vocab: [string, number][];
  unkId: number;
  prefix: string;
  maxInputCharsPerWord: number;
  /** Tokens matched in the raw text before normalization (the specials). */
  addedTokens: { content: string; id: number }[];
  lowercase: boolean;
  stripAccents: boolean;
  cleanText: boolean;
  handleChineseChars: boolean;
}

/** ASCII classes after BERT cleaning: word character, space, punctuation, dropped control. */
const WORD = 0;
const SPACE = 1;
const PUNCT = 2;
const DROP = 3;
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (c === 9 || c === 10 || c === 13 || c === 32) ASCII_CLASS[c] = SPACE;
  else if (c < 32 || c === 127) ASCII_CLASS[c] = DROP;
  else if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
    ASCII_CLASS[c] = PUNCT;
  else ASCII_CLASS[c] = WORD;
}
// eslint-disable-next-line no-control-regex -- these are exactly the characters BERT's cleaning drops
const DROPPED = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
const WHITE = /\p{White_Space}/u;
const PUNCT_RE = /\p{P}/u;
/**
 * Where the binding's punctuation table (an older Unicode) and this Node's \p{P} disagree, the
 * binding wins: punctuation added to Unicode since is part of a word there, and two characters
 * are punctuation only there. The every-code-point test in test/data/fast-encoder.test.ts keeps
 * these lists true for the Node and binding versions in use.
 */
const NOT_PUNCT: readonly [number, number][] = [
  [0x61d, 0x61d],
  [0x9fd, 0x9fd],
  [0xa76, 0xa76],
  [0xc77, 0xc77],
  [0xc84, 0xc84],
  [0x1b4e, 0x1b4f],
  [0x1b7d, 0x1b7f],
  [0x2e43, 0x2e4f],
  [0x2e52, 0x2e5d],
  [0x10d6e, 0x10d6e],
  [0x10ead, 0x10ead],
  [0x10ed0, 0x10ed0],
  [0x10f55, 0x10f59],
  [0x10f86, 0x10f89],
  [0x113d4, 0x113d5],
  [0x113d7, 0x113d8],
  [0x1144b, 0x1144f],
  [0x1145a, 0x1145b],
  [0x1145d, 0x1145d],
  [0x11660, 0x1166c],
  [0x116b9, 0x116b9],
  [0x1183b, 0x1183b],
  [0x11944, 0x11946],
  [0x119e2, 0x119e2],
  [0x11a3f, 0x11a46],
  [0x11a9a, 0x11a9c],
  [0x11a9e, 0x11aa2],
  [0x11b00, 0x11b09],
  [0x11be1, 0x11be1],
  [0x11c41, 0x11c45],
  [0x11c70, 0x11c71],
  [0x11ef7, 0x11ef8],
  [0x11f43, 0x11f4f],
  [0x11fff, 0x11fff],
  [0x12ff1, 0x12ff2],
  [0x16d6d, 0x16d6f],
  [0x16e97, 0x16e9a],
  [0x16fe2, 0x16fe2],
  [0x1e5ff, 0x1e5ff],
  [0x1e95e, 0x1e95f],
];
const EXTRA_PUNCT = new Set([0x166d, 0x111c9]);

function inRanges(c: number, ranges: readonly [number, number][]): boolean {
  for (const [a, b] of ranges) if (c >= a && c <= b) return true;
  return false;
}

/** Rust's `char::is_whitespace || is_bert_punc` split, on one code point (for normalized text). */
export function bertSplitClass(ch: string): 'space' | 'punct' | 'word' {
  const c = ch.codePointAt(0)!;
  if (c < 128)
    return ASCII_CLASS[c] === SPACE || c === 11 || c === 12 ? 'space' : ASCII_CLASS[c] === PUNCT ? 'punct' : 'word';
  if (WHITE.test(ch)) return 'space';
  if (EXTRA_PUNCT.has(c)) return 'punct';
  return PUNCT_RE.test(ch) && !inRanges(c, NOT_PUNCT) ? 'punct' : 'word';
}

/** A growable Int32Array of ids. */
export class IdSink {
  ids = new Int32Array(1 << 16);
  length = 0;
  push(id: number): void {
    if (this.length === this.ids.length) {
      const bigger = new Int32Array(this.ids.length * 2);
      bigger.set(this.ids);
      this.ids = bigger;
    }
    this.ids[this.length++] = id;
  }
}

export class FastWordPieceEncoder {
  private readonly trie: Trie;
  /** The node reached by the continuation prefix ('##'): continuation pieces hang below it. */
  private readonly contRoot: number;
  private readonly normalizer: Normalizer;

  constructor(readonly spec: FastEncoderSpec) {
    this.trie = buildTrie(spec.vocab);
    let node: number | undefined = ROOT;
    for (let i = 0; i < spec.prefix.length && node !== undefined; i++) {
      const c = spec.prefix.charCodeAt(i);
      node = (c < 128 ? this.trie.ascii[node * 128 + c] : this.trie.children.get(node * 0x10000 + c)) || undefined;
    }
    // No '##' entries at all: continuation lookups start at a node with no children and fail.
    this.contRoot = node ?? this.trie.tokenOf.length;
    this.normalizer = bertNormalizer({
      cleanText: spec.cleanText,
      handleChineseChars: spec.handleChineseChars,
      stripAccents: spec.stripAccents,
      lowercase: spec.lowercase,
    });
  }

  /** Append the ids of `text` (no [CLS]/[SEP]) to `out`. */
  encodeInto(text: string, out: IdSink): void {
    const added = this.spec.addedTokens;
    let rest = 0;
    for (;;) {
      // Leftmost, then longest, added token (as Hugging Face's matcher).
      let best = -1;
      let bestTok: { content: string; id: number } | undefined;
      for (const t of added) {
        const at = text.indexOf(t.content, rest);
        if (at >= 0 && (best < 0 || at < best || (at === best && t.content.length > bestTok!.content.length))) {
          best = at;
          bestTok = t;
        }
      }
      if (!bestTok) break;
      if (best > rest) this.encodePlain(text, rest, best, out);
      out.push(bestTok.id);
      rest = best + bestTok.content.length;
    }
    if (rest < text.length) this.encodePlain(text, rest, text.length, out);
  }

  encode(text: string): Int32Array {
    const sink = new IdSink();
    this.encodeInto(text, sink);
    return sink.ids.slice(0, sink.length);
  }

  /** text[from, to) without added tokens: cut at ASCII whitespace into chunks. */
  private encodePlain(text: string, from: number, to: number, out: IdSink): void {
    let i = from;
    while (i < to) {
      let c = text.charCodeAt(i);
      if (c < 128 && ASCII_CLASS[c] === SPACE) {
        i++;
        continue;
      }
      // A chunk: up to the next ASCII whitespace. Note whether it is all ASCII.
      const start = i;
      let ascii = true;
      while (i < to) {
        c = text.charCodeAt(i);
        if (c < 128) {
          if (ASCII_CLASS[c] === SPACE) break;
        } else ascii = false;
        i++;
      }
      if (ascii) this.asciiChunk(text, start, i, out);
      else this.unicodeChunk(text.slice(start, i), out);
    }
  }

  /** An all-ASCII chunk without whitespace: words and single punctuation marks. */
  private asciiChunk(text: string, start: number, end: number, out: IdSink): void {
    let w = start;
    let dirty = false;
    for (let i = start; i < end; i++) {
      const k = ASCII_CLASS[text.charCodeAt(i)]!;
      if (k === PUNCT) {
        if (i > w) this.asciiWord(text, w, i, dirty, out);
        this.asciiWord(text, i, i + 1, false, out);
        w = i + 1;
        dirty = false;
      } else if (k === DROP) dirty = true;
    }
    if (end > w) this.asciiWord(text, w, end, dirty, out);
  }

  private asciiWord(text: string, start: number, end: number, dirty: boolean, out: IdSink): void {
    if (dirty) {
      const word = text.slice(start, end).replace(DROPPED, '');
      if (word.length > 0) this.wordPiece(word, 0, word.length, this.spec.lowercase, out);
      return;
    }
    this.wordPiece(text, start, end, this.spec.lowercase, out);
  }

  /** A chunk with non-ASCII characters: the binding's normalizer, then BERT's pre-tokenizer split. */
  private unicodeChunk(chunk: string, out: IdSink): void {
    const norm = this.normalizer.normalizeString(chunk);
    let word = '';
    for (const ch of norm) {
      const k = bertSplitClass(ch);
      if (k === 'word') {
        word += ch;
        continue;
      }
      if (word) this.wordPiece(word, 0, word.length, false, out);
      word = '';
      if (k === 'punct') this.wordPiece(ch, 0, ch.length, false, out);
    }
    if (word) this.wordPiece(word, 0, word.length, false, out);
  }

  /**
   * Greedy longest-match-first WordPiece over s[start, end) (lowercasing ASCII on the fly when
   * `lower`): each piece is the longest vocabulary entry found by walking a trie of code units,
   * which is what trying ever shorter substrings finds, without making any of them. A word
   * with an unmatched remainder is one [UNK].
   */
  private wordPiece(s: string, start: number, end: number, lower: boolean, out: IdSink): void {
    const max = this.spec.maxInputCharsPerWord;
    if (end - start > max && (end - start > 2 * max || codePoints(s, start, end) > max)) {
      out.push(this.spec.unkId);
      return;
    }
    const { ascii, children, tokenOf } = this.trie;
    const mark = out.length;
    let pos = start;
    while (pos < end) {
      let node = pos === start ? ROOT : this.contRoot;
      let bestId = -1;
      let bestEnd = pos;
      for (let i = pos; i < end; i++) {
        let c = s.charCodeAt(i);
        if (lower && c >= 65 && c <= 90) c |= 32;
        const next = c < 128 ? ascii[node * 128 + c]! : (children.get(node * 0x10000 + c) ?? 0);
        if (next === 0) break; // the root is no one's child, so 0 means none
        node = next;
        const id = tokenOf[node]!;
        if (id >= 0) {
          bestId = id;
          bestEnd = i + 1;
        }
      }
      if (bestId < 0) {
        out.length = mark;
        out.push(this.spec.unkId);
        return;
      }
      out.push(bestId);
      pos = bestEnd;
    }
  }
}

const ROOT = 0;

function codePoints(s: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++; // count each pair once, by its high half
  }
  return n;
}

/** A trie of the vocabulary's code units: start pieces from the root, '##' pieces below the prefix. */
interface Trie {
  /**
   * [node * 128 + ASCII code] -> child node (0: none). A dense table: one array load per
   * character is what makes matching fast (a 30k vocabulary needs ~30 MB for it).
   */
  ascii: Int32Array;
  /** (node * 65536 + other code unit) -> child node. */
  children: Map<number, number>;
  /** Per node: the token id ending there, or -1. */
  tokenOf: Int32Array;
}

function buildTrie(vocab: [string, number][]): Trie {
  const ascii = new Map<number, number>();
  const children = new Map<number, number>();
  const ids: number[] = [-1];
  for (const [tok, id] of vocab) {
    let node = ROOT;
    for (let i = 0; i < tok.length; i++) {
      const c = tok.charCodeAt(i);
      const map = c < 128 ? ascii : children;
      const key = c < 128 ? node * 128 + c : node * 0x10000 + c;
      let next = map.get(key);
      if (next === undefined) {
        next = ids.length;
        ids.push(-1);
        map.set(key, next);
      }
      node = next;
    }
    ids[node] = id;
  }
  const table = new Int32Array(ids.length * 128);
  for (const [key, child] of ascii) table[key] = child;
  return { ascii: table, children, tokenOf: Int32Array.from(ids) };
}

/** Encode many texts into one id array and per-text end offsets (what a worker sends back). */
export function encodeMany(enc: FastWordPieceEncoder, texts: readonly string[]): { ids: Int32Array; ends: Int32Array } {
  const sink = new IdSink();
  const ends = new Int32Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    enc.encodeInto(texts[i]!, sink);
    ends[i] = sink.length;
  }
  return { ids: sink.ids.slice(0, sink.length), ends };
}
