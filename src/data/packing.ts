/**
 * Packing token streams into BERT pre-training sequences `[CLS] A [SEP] B [SEP]`, after
 * create_pretraining_data.py but on token chunks instead of sentences (we do not split
 * sentences): each sequence takes up to S-3 tokens from a document's cursor and cuts them at a
 * random point into A and B, so B continues A. With NSP, half of the B segments instead come from
 * a random other document (label 1) and the unused rest of the chunk is put back, as in BERT.
 *
 * Cuts prefer word starts (chunk ends back off to a word start when that loses at most half the
 * chunk; split points are drawn among word starts, and a one-word chunk is not split), so
 * whole-word masking rarely sees a word torn across segments. Everything random comes from one `Rng` passed in, so a
 * position plus
 * the RNG state reproduces the stream exactly.
 */
import { GrowbertError } from '../io/errors.js';
import { Rng } from './rng.js';
import type { SpecialIds } from './tokenizer.js';

/** Token documents to pack from; `TokenCache` and `InMemoryDocs` implement it. */
export interface DocSource {
  readonly numDocs: number;
  docLength(doc: number): number;
  readTokens(doc: number, start?: number, end?: number): Int32Array;
}

/** Documents held as arrays: for tests, small corpora and fine-tuning data. */
export class InMemoryDocs implements DocSource {
  constructor(private readonly docs: readonly Int32Array[]) {}
  get numDocs(): number {
    return this.docs.length;
  }
  docLength(doc: number): number {
    return this.docs[doc]!.length;
  }
  readTokens(doc: number, start = 0, end?: number): Int32Array {
    return this.docs[doc]!.slice(start, end);
  }
}

export interface PackingOptions {
  /** Sequence length S, specials included (at least 4). */
  seqLen: number;
  specialIds: SpecialIds;
  /** Per vocabulary id, 1 for '##' pieces (`BertTokenizer.continuationTable()`). */
  continuation: Uint8Array;
  /** Next-sentence prediction: random B half the time, labels in `nspLabels` (default false). */
  nsp?: boolean;
  /** Chance of a shorter target length, drawn in [2, S-3], as BERT's short_seq_prob (default 0). */
  shortSeqProb?: number;
  /**
   * 'document' (default): a row holds one document's tokens, its tail row padded. 'full': rows
   * are filled from consecutive documents, each chunk closed by [SEP] (RoBERTa's FULL-SENTENCES,
   * Cramming), so only an epoch's last row is padded. NSP needs A and B from one document, so
   * with `nsp` packing is per document whatever this says.
   */
  packing?: Packing;
}

export type Packing = 'document' | 'full';
export const PACKINGS: readonly Packing[] = ['document', 'full'];

/** B sequences of length S as flat row-major arrays (index = row * S + position). */
export interface Batch {
  /** Rows B (the last validation batch may have fewer than asked). */
  size: number;
  seqLen: number;
  inputIds: Int32Array;
  /** 0 for `[CLS] A [SEP]` and padding, 1 for `B [SEP]`. */
  tokenTypeIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Uint8Array;
  /** 1 where a token begins a word (or is special, or opens a segment); 0 for '##' pieces. */
  wordStart: Uint8Array;
  /** 1 for [CLS], [SEP], [PAD] (and a [MASK] found in raw text): never masking targets. */
  specialMask: Uint8Array;
  /** Non-padding length of each row. */
  lengths: Int32Array;
  /** With NSP: 1 if B is from a random document, 0 if it continues A. */
  nspLabels?: Int32Array;
}

export function allocBatch(rows: number, seqLen: number, nsp: boolean): Batch {
  const n = rows * seqLen;
  const b: Batch = {
    size: rows,
    seqLen,
    inputIds: new Int32Array(n),
    tokenTypeIds: new Int32Array(n),
    attentionMask: new Uint8Array(n),
    wordStart: new Uint8Array(n),
    specialMask: new Uint8Array(n),
    lengths: new Int32Array(rows),
  };
  if (nsp) b.nspLabels = new Int32Array(rows);
  return b;
}

/** Resets one row to all padding (no attention, special, word start) and returns its offset. */
function clearRow(batch: Batch, row: number, pad: number): number {
  const S = batch.seqLen;
  const o = row * S;
  batch.inputIds.fill(pad, o, o + S);
  batch.tokenTypeIds.fill(0, o, o + S);
  batch.attentionMask.fill(0, o, o + S);
  batch.wordStart.fill(1, o, o + S);
  batch.specialMask.fill(1, o, o + S);
  return o;
}

/**
 * Share of padding positions in the rows one pass over `docs` (in stored order) packs into, from
 * its first `maxRows` rows: what `--packing` costs in wasted compute on this data.
 */
export function paddingFraction(docs: DocSource, opts: PackingOptions, maxRows = 4096): number {
  const packer = new SequencePacker(docs, opts, Rng.fromSeed(0, 'padding'), () =>
    Int32Array.from({ length: docs.numDocs }, (_, i) => i),
  );
  const batch = allocBatch(1, opts.seqLen, opts.nsp ?? false);
  let rows = 0;
  let real = 0;
  while (rows < maxRows && !packer.atEpochEnd()) {
    packer.fillRow(batch, 0);
    real += batch.lengths[0]!;
    rows++;
  }
  return rows === 0 ? 0 : 1 - real / (rows * opts.seqLen);
}

export function checkPackingOptions(opts: PackingOptions): void {
  if (!(Number.isInteger(opts.seqLen) && opts.seqLen >= 4)) {
    throw new GrowbertError(
      `sequence length ${opts.seqLen} is too short; use at least 4 ([CLS] A [SEP] B [SEP] needs 3 specials)`,
    );
  }
  if (opts.nsp && opts.seqLen < 5) {
    throw new GrowbertError(
      `sequence length ${opts.seqLen} is too short for NSP; use at least 5 (3 specials + a token for each of A and B)`,
    );
  }
  const p = opts.shortSeqProb ?? 0;
  if (!(p >= 0 && p <= 1))
    throw new GrowbertError(`short sequence probability ${p} is out of range; use a value in [0, 1]`);
  if (opts.packing !== undefined && !PACKINGS.includes(opts.packing))
    throw new GrowbertError(`packing '${opts.packing}' is unknown; use ${PACKINGS.join(' or ')}`);
}

/** A packer's position: which document of the epoch's order, and where in it. */
export interface PackPosition {
  epoch: number;
  /** Index into the epoch's document order. */
  index: number;
  /** Token offset within the current document. */
  cursor: number;
}

/**
 * Walks documents in a per-epoch order and writes one packed sequence per `fillRow` call.
 * Owns no batching or serialization; `SequenceSource` and `validationBatches` add those.
 */
export class SequencePacker {
  pos: PackPosition = { epoch: 0, index: 0, cursor: 0 };
  private order: Int32Array;
  private readonly nsp: boolean;
  private readonly full: boolean;
  private readonly maxTokens: number;

  constructor(
    readonly docs: DocSource,
    readonly opts: PackingOptions,
    public rng: Rng,
    /** The document order of an epoch (a permutation of 0..numDocs-1). */
    private readonly orderFor: (epoch: number) => Int32Array,
  ) {
    checkPackingOptions(opts);
    if (docs.numDocs === 0)
      throw new GrowbertError('nothing to pack: the token data holds no documents; check the corpus and split');
    this.nsp = opts.nsp ?? false;
    this.full = opts.packing === 'full' && !this.nsp;
    this.maxTokens = opts.seqLen - 3;
    this.order = orderFor(0);
  }

  /** Jump to a position (from a saved state). */
  seek(pos: PackPosition): void {
    this.order = this.orderFor(pos.epoch);
    this.pos = { ...pos };
  }

  /** True when the current epoch has no tokens left (the next fill starts a new epoch). */
  atEpochEnd(): boolean {
    this.skipExhausted();
    return this.pos.index >= this.order.length;
  }

  /** Write the next sequence into `row` of `batch`, moving to the next epoch when one ends. */
  fillRow(batch: Batch, row: number): void {
    if (this.atEpochEnd()) {
      this.seek({ epoch: this.pos.epoch + 1, index: 0, cursor: 0 });
      if (this.atEpochEnd()) throw new GrowbertError('nothing to pack: every document is empty');
    }
    if (this.full) {
      this.fillRowFull(batch, row);
      return;
    }
    const { rng } = this;
    const doc = this.order[this.pos.index]!;
    const len = this.docs.docLength(doc);
    const p = this.pos.cursor;
    let target = this.maxTokens;
    const shortProb = this.opts.shortSeqProb ?? 0;
    if (shortProb > 0 && this.maxTokens > 2 && rng.float() < shortProb) target = rng.intBetween(2, this.maxTokens);

    let take = Math.min(target, len - p);
    // Read one token past the chunk to see whether the cut would tear a word.
    const chunk = this.docs.readTokens(doc, p, Math.min(len, p + take + 1));
    if (chunk.length > take && this.isCont(chunk[take]!)) {
      let q = take - 1;
      while (q > 0 && this.isCont(chunk[q]!)) q--;
      if (q > 0 && q >= take / 2) take = q;
    }

    let a = take >= 2 ? this.splitPoint(chunk, take) : take;
    let b: Int32Array | undefined;
    let label = 0;
    if (this.nsp && (a === take || rng.float() < 0.5)) {
      label = 1;
      a = Math.min(a, target - 1); // leave B at least one token (target >= 2 with NSP)
      b = this.randomSegment(doc, target - a);
      this.pos.cursor = p + a; // BERT puts the unused rest of the chunk back
    } else {
      if (a < take) b = chunk.subarray(a, take);
      this.pos.cursor = p + take;
    }
    this.writeRow(batch, row, chunk.subarray(0, a), b);
    if (batch.nspLabels) batch.nspLabels[row] = label;
  }

  /**
   * [CLS], then chunks of consecutive documents, each closed by [SEP], until the row is full or
   * the epoch ends. A row may end inside a document; the next row continues it. Segment ids are
   * all 0 (there are no A/B pairs without NSP).
   */
  private fillRowFull(batch: Batch, row: number): void {
    const S = batch.seqLen;
    const { pad, cls, sep, mask } = this.opts.specialIds;
    const o = clearRow(batch, row, pad);
    const { inputIds, attentionMask, wordStart, specialMask } = batch;
    inputIds[o] = cls;
    attentionMask[o] = 1;
    let i = o + 1;
    // Room for at least one token and its [SEP].
    while (o + S - i >= 2 && !this.atEpochEnd()) {
      const doc = this.order[this.pos.index]!;
      const p = this.pos.cursor;
      const take = Math.min(this.docs.docLength(doc) - p, o + S - i - 1);
      const chunk = this.docs.readTokens(doc, p, p + take);
      for (let j = 0; j < take; j++, i++) {
        const id = chunk[j]!;
        inputIds[i] = id;
        attentionMask[i] = 1;
        const special = id === pad || id === cls || id === sep || id === mask;
        specialMask[i] = special ? 1 : 0;
        // The first token of a chunk opens a word even when it is a '##' piece cut from its start.
        wordStart[i] = special || j === 0 || !this.isCont(id) ? 1 : 0;
      }
      inputIds[i] = sep;
      attentionMask[i] = 1;
      i++;
      this.pos.cursor = p + take;
    }
    batch.lengths[row] = i - o;
    if (batch.nspLabels) batch.nspLabels[row] = 0;
  }

  private isCont(id: number): boolean {
    return this.opts.continuation[id] === 1;
  }

  /** Step over finished (or empty) documents. */
  private skipExhausted(): void {
    while (this.pos.index < this.order.length && this.pos.cursor >= this.docs.docLength(this.order[this.pos.index]!)) {
      this.pos.index++;
      this.pos.cursor = 0;
    }
  }

  /**
   * A split in [1, take-1], uniform over the word starts there; `take` (no split) when the chunk
   * is one word, which then goes whole into A (with NSP it gets a random B, like BERT's
   * one-sentence chunks).
   */
  private splitPoint(chunk: Int32Array, take: number): number {
    let n = 0;
    for (let j = 1; j < take; j++) if (!this.isCont(chunk[j]!)) n++;
    if (n === 0) return take;
    let k = this.rng.int(n);
    for (let j = 1; j < take; j++) {
      if (!this.isCont(chunk[j]!) && k-- === 0) return j;
    }
    throw new Error('unreachable');
  }

  /** Up to `want` tokens from a random position of a random other document (for NSP). */
  private randomSegment(doc: number, want: number): Int32Array {
    const n = this.docs.numDocs;
    let other = doc;
    // As BERT: a few tries for a different, non-empty document; with one document, use itself.
    for (let t = 0; t < 10 && n > 1; t++) {
      const r = this.rng.int(n);
      if (r !== doc && this.docs.docLength(r) > 0) {
        other = r;
        break;
      }
    }
    const len = this.docs.docLength(other);
    const start = this.rng.int(Math.max(1, len - want + 1));
    const seg = this.docs.readTokens(other, start, Math.min(len, start + want));
    // Begin at a word start when there is one.
    let s = 0;
    while (s < seg.length - 1 && this.isCont(seg[s]!)) s++;
    return s > 0 && !this.isCont(seg[s]!) ? seg.subarray(s) : seg;
  }

  private writeRow(batch: Batch, row: number, a: Int32Array, b: Int32Array | undefined): void {
    const S = batch.seqLen;
    const { pad, cls, sep, mask } = this.opts.specialIds;
    const o = clearRow(batch, row, pad);
    const { inputIds, tokenTypeIds, attentionMask, wordStart, specialMask } = batch;
    let i = o;
    const put = (id: number, type: number, special: boolean, start: boolean): void => {
      inputIds[i] = id;
      tokenTypeIds[i] = type;
      attentionMask[i] = 1;
      specialMask[i] = special || id === pad || id === cls || id === sep || id === mask ? 1 : 0;
      wordStart[i] = start || specialMask[i] ? 1 : 0;
      i++;
    };
    const segment = (seg: Int32Array, type: number): void => {
      // The first token of a segment opens a word even if it is a '##' piece torn from its start.
      for (let j = 0; j < seg.length; j++) put(seg[j]!, type, false, j === 0 || !this.isCont(seg[j]!));
      put(sep, type, true, true);
    };
    put(cls, 0, true, true);
    segment(a, 0);
    if (b && b.length > 0) segment(b, 1);
    if (i - o > S) throw new Error(`packed ${i - o} tokens into a row of ${S}`);
    batch.lengths[row] = i - o;
  }
}
