// A deterministic WordPiece (BPE-style) vocabulary trainer: the same texts give the same
// vocabulary, bit for bit, on every run and machine.
//
// Why not the `tokenizers` binding's trainer: it numbers the continuation pieces ('##x') in
// hash-map order and breaks ties between equally frequent merges by those numbers, so three
// trainings on one file gave three vocabularies (and runs that differed in their losses). This
// is the same algorithm (HF's BpeTrainer as WordPieceTrainer runs it, with its defaults: 30000
// tokens, no minimum frequency, no alphabet limit) with every order fixed: the alphabet and the
// continuation characters by code point, ties by the lower pair of ids.
// Words come from the binding's BERT normalizer (synchronous) and BERT's pre-tokenizer split
// (src/data/fast-encoder.ts bertSplitClass), as in the binding's training.
import { bertNormalizer } from 'tokenizers';
import { bertSplitClass } from './fast-encoder.js';

export interface WordPieceTrainOptions {
  /** Tokens to learn, alphabet included (default 30000, the binding's default). */
  vocabSize?: number;
  /** Marks a piece that continues a word (default '##'). */
  prefix?: string;
}

const ASCII_KIND = Array.from({ length: 128 }, (_, c) => bertSplitClass(String.fromCharCode(c)));

/** Word counts of normalized, pre-tokenized texts (punctuation marks are words of their own). */
export function countWords(texts: Iterable<string>): Map<string, number> {
  const norm = bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true });
  const counts = new Map<string, number>();
  const add = (w: string) => counts.set(w, (counts.get(w) ?? 0) + 1);
  for (const text of texts) {
    const s = norm.normalizeString(text);
    let start = -1;
    for (let i = 0; i < s.length;) {
      const c = s.codePointAt(i)!;
      const len = c > 0xffff ? 2 : 1;
      const kind = c < 128 ? ASCII_KIND[c] : bertSplitClass(String.fromCodePoint(c));
      if (kind === 'word') {
        if (start < 0) start = i;
      } else {
        if (start >= 0) add(s.slice(start, i));
        start = -1;
        if (kind === 'punct') add(s.slice(i, i + len));
      }
      i += len;
    }
    if (start >= 0) add(s.slice(start));
  }
  return counts;
}

const PAIR = 2 ** 21; // ids stay below 2^21: a pair (a, b) is the number a * PAIR + b, ordered as (a, b)

/** A max-heap of [count, pair]: higher count first, then the lower pair. */
class MergeQueue {
  private h: number[] = []; // count, pair, count, pair, ...
  get size(): number {
    return this.h.length / 2;
  }
  private before(i: number, j: number): boolean {
    const h = this.h;
    return h[2 * i] > h[2 * j] || (h[2 * i] === h[2 * j] && h[2 * i + 1] < h[2 * j + 1]);
  }
  private swap(i: number, j: number): void {
    const h = this.h;
    [h[2 * i], h[2 * j], h[2 * i + 1], h[2 * j + 1]] = [h[2 * j], h[2 * i], h[2 * j + 1], h[2 * i + 1]];
  }
  push(count: number, pair: number): void {
    this.h.push(count, pair);
    for (let i = this.size - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.h[0], this.h[1]];
    const last = this.size - 1;
    this.swap(0, last);
    this.h.length -= 2;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.before(l, m)) m = l;
      if (r < this.size && this.before(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

/** Learns the id-ordered token list: alphabet, continuation characters, then merged pieces. */
export function trainWordPiece(texts: Iterable<string>, o: WordPieceTrainOptions = {}): string[] {
  const prefix = o.prefix ?? '##';
  const limit = o.vocabSize ?? 30000;
  const counts = countWords(texts);
  const words = [...counts.keys()].sort(); // a fixed order: word indices, and so all that follows
  const freq = words.map((w) => counts.get(w)!);
  const chars = words.map((w) => [...w]);
  const first = [...new Set(chars.flatMap((c) => c))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const cont = [...new Set(chars.flatMap((c) => c.slice(1)))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const vocab = [...first, ...cont.map((c) => prefix + c)];
  const ids = new Map(vocab.map((t, i) => [t, i]));
  const symbols = chars.map((c) => c.map((ch, i) => ids.get(i === 0 ? ch : prefix + ch)!));
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addPair = (pair: number, n: number, w: number) => {
    pairCount.set(pair, (pairCount.get(pair) ?? 0) + n);
    if (n > 0) {
      let s = where.get(pair);
      if (!s) where.set(pair, (s = new Set()));
      s.add(w);
    }
  };
  symbols.forEach((s, w) => {
    for (let i = 0; i + 1 < s.length; i++) addPair(s[i] * PAIR + s[i + 1], freq[w], w);
  });
  const queue = new MergeQueue();
  for (const pair of [...pairCount.keys()].sort((a, b) => a - b)) queue.push(pairCount.get(pair)!, pair);
  while (vocab.length < limit && queue.size > 0) {
    const [count, pair] = queue.pop();
    const now = pairCount.get(pair) ?? 0;
    if (now !== count) {
      if (now > 0) queue.push(now, pair); // a stale entry: requeue with the count it has now
      continue;
    }
    if (count < 1) break;
    const a = Math.floor(pair / PAIR);
    const b = pair % PAIR;
    const token = vocab[a] + vocab[b].slice(vocab[b].startsWith(prefix) ? prefix.length : 0);
    let id = ids.get(token);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(token);
      ids.set(token, id);
    }
    const touched = new Set<number>();
    // (the order of words and of pushes does not matter: counts add up, the queue's order is total)
    for (const w of where.get(pair) ?? []) {
      mergeWord(symbols[w], a, b, id, (p, d) => {
        addPair(p, d * freq[w], w);
        if (d > 0) touched.add(p);
      });
    }
    where.delete(pair);
    for (const p of touched) {
      const n = pairCount.get(p) ?? 0;
      if (n > 0) queue.push(n, p);
    }
  }
  return vocab;
}

/** Replaces every (a, b) in `s` by `id`, reporting each neighbouring pair that goes (-1) or comes (+1). */
function mergeWord(s: number[], a: number, b: number, id: number, change: (pair: number, d: number) => void): void {
  for (let i = 0; i + 1 < s.length; i++) {
    if (s[i] !== a || s[i + 1] !== b) continue;
    change(a * PAIR + b, -1);
    if (i > 0) {
      change(s[i - 1] * PAIR + a, -1);
      change(s[i - 1] * PAIR + id, 1);
    }
    if (i + 2 < s.length) {
      change(b * PAIR + s[i + 2], -1);
      change(id * PAIR + s[i + 2], 1);
    }
    s.splice(i, 2, id);
  }
}
