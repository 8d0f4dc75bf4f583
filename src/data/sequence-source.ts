/**
 * Batches of packed sequences for training (endless, reshuffled each epoch, resumable) and for
 * validation (one fixed pass, identical across runs).
 *
 * Resuming: `state()` is plain JSON (epoch, place in the epoch's order, token cursor, RNG state)
 * that a checkpoint stores; `restore()` continues with exactly the batches an uninterrupted run
 * would have produced. The epoch order is recomputed from (seed, epoch) rather than stored, and
 * the state does not depend on batch size or sequence length, so a growth stage may change
 * either and still continue from the same place in the data.
 */
import { GrowbertError } from '../io/errors.js';
import { Rng, type RngState } from './rng.js';
import { allocBatch, SequencePacker, type Batch, type DocSource, type PackingOptions } from './packing.js';

export interface SequenceSourceOptions extends PackingOptions {
  /** Rows per batch. */
  batchSize: number;
  /** Seed of the epoch shuffles and of the split points. */
  seed: number | string;
  /** Shuffle documents each epoch (default true); false reads them in cache order. */
  shuffle?: boolean;
  /**
   * Identity of the data (e.g. the token cache's `manifest.hash`): stored in the state so a
   * resume onto different data fails loudly instead of silently reading other text.
   */
  dataId?: string;
}

export interface SequenceSourceState {
  version: 1;
  seed: number | string;
  shuffle: boolean;
  dataId: string | null;
  numDocs: number;
  epoch: number;
  index: number;
  cursor: number;
  rng: RngState;
  /** Sequences produced so far (for logs: epochs = sequences / sequences per epoch). */
  sequences: number;
}

export class SequenceSource {
  private readonly packer: SequencePacker;
  private readonly shuffle: boolean;
  private sequences = 0;

  constructor(
    readonly docs: DocSource,
    readonly opts: SequenceSourceOptions,
  ) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1))
      throw new GrowbertError(`batch size ${opts.batchSize} is invalid; use a positive integer`);
    this.shuffle = opts.shuffle ?? true;
    const n = docs.numDocs;
    const seed = opts.seed;
    const orderFor = (epoch: number): Int32Array =>
      this.shuffle ? Rng.fromSeed(seed, 'order', epoch).permutation(n) : identity(n);
    this.packer = new SequencePacker(docs, opts, Rng.fromSeed(seed, 'pack'), orderFor);
  }

  /** Current epoch (0-based): how many full passes over the documents were started before this one. */
  get epoch(): number {
    return this.packer.pos.epoch;
  }

  /** The next `batchSize` sequences; epochs roll over inside a batch when one ends. */
  nextBatch(batchSize = this.opts.batchSize): Batch {
    const nsp = this.opts.nsp ?? false;
    const batch = allocBatch(batchSize, this.opts.seqLen, nsp);
    for (let r = 0; r < batchSize; r++) this.packer.fillRow(batch, r);
    this.sequences += batchSize;
    return batch;
  }

  /** Everything needed to continue exactly from here, as JSON-safe values. */
  state(): SequenceSourceState {
    const { epoch, index, cursor } = this.packer.pos;
    return {
      version: 1,
      seed: this.opts.seed,
      shuffle: this.shuffle,
      dataId: this.opts.dataId ?? null,
      numDocs: this.docs.numDocs,
      epoch,
      index,
      cursor,
      rng: this.packer.rng.state(),
      sequences: this.sequences,
    };
  }

  /** Continue from a `state()`; it must come from the same data, seed and shuffle setting. */
  restore(state: SequenceSourceState): void {
    if (state?.version !== 1)
      throw new GrowbertError(
        `data position has unknown version ${state?.version}; it was written by another growbert`,
      );
    const mismatch = (what: string, saved: unknown, now: unknown): never => {
      throw new GrowbertError(
        `cannot resume the data stream: the checkpoint's ${what} is ${JSON.stringify(saved)} but now it is ${JSON.stringify(now)}; resume with the same data and seed`,
      );
    };
    if (state.numDocs !== this.docs.numDocs)
      throw new GrowbertError(
        `cannot resume: the corpus now has ${this.docs.numDocs} documents, the run was trained on ${state.numDocs} (another --data, or a changed or missing config.json); resume with the run's own --data`,
      );
    // Ids of caches built before streaming builds (a bare hash, no ':train') cannot be recomputed
    // now; for those checkpoints the document count above is the check.
    // Content ids (content:...) compare only with content ids, path-keyed ones only with their kind.
    const kind = (id: string) => (id.startsWith('content:') ? 'content' : id.includes(':') ? 'keyed' : 'bare');
    const comparable = (id: string): boolean => kind(id) === kind(this.opts.dataId ?? '');
    if (
      (this.opts.dataId ?? null) !== null &&
      state.dataId !== null &&
      comparable(state.dataId) &&
      state.dataId !== this.opts.dataId
    ) {
      throw new GrowbertError(
        `cannot resume: the corpus is not the one this run was trained on (its token cache id was ${state.dataId}, now ${this.opts.dataId}: the documents or their tokens differ); resume with the run's own --data`,
      );
    }
    if (String(state.seed) !== String(this.opts.seed)) mismatch('seed', state.seed, this.opts.seed);
    if (state.shuffle !== this.shuffle) mismatch('shuffle setting', state.shuffle, this.shuffle);
    if (!(state.index >= 0 && state.index <= this.docs.numDocs && state.cursor >= 0 && state.epoch >= 0)) {
      throw new GrowbertError(
        `data position ${JSON.stringify({ epoch: state.epoch, index: state.index, cursor: state.cursor })} is out of range; the checkpoint is damaged`,
      );
    }
    this.packer.seek({ epoch: state.epoch, index: state.index, cursor: state.cursor });
    this.packer.rng = Rng.restore(state.rng);
    this.sequences = state.sequences;
  }
}

export interface ValidationOptions extends PackingOptions {
  batchSize: number;
  /** Fixed seed of the split points (default 0): keep it for comparable validation losses. */
  seed?: number | string;
  /** Stop after this many batches (default: the whole validation set). */
  maxBatches?: number;
}

/**
 * One deterministic pass over `docs` in their stored order: the same data and options always
 * give the same batches, so validation losses compare across runs and growth stages. The last
 * batch holds the remaining rows (`size` < batchSize).
 */
export function* validationBatches(docs: DocSource, opts: ValidationOptions): Generator<Batch> {
  if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1))
    throw new GrowbertError(`batch size ${opts.batchSize} is invalid; use a positive integer`);
  if (docs.numDocs === 0) return; // no validation split (a one-document corpus)
  const packer = new SequencePacker(docs, opts, Rng.fromSeed(opts.seed ?? 0, 'validation'), () =>
    identity(docs.numDocs),
  );
  const nsp = opts.nsp ?? false;
  const max = opts.maxBatches ?? Infinity;
  for (let made = 0; made < max && !packer.atEpochEnd(); made++) {
    // Fill into a full-size buffer, then trim to the rows actually produced.
    const full = allocBatch(opts.batchSize, opts.seqLen, nsp);
    let rows = 0;
    while (rows < opts.batchSize && !packer.atEpochEnd()) packer.fillRow(full, rows++);
    yield rows === opts.batchSize ? full : sliceBatch(full, rows);
  }
}

/** The first `rows` rows of a batch (copies, so the result owns compact arrays). */
export function sliceBatch(b: Batch, rows: number): Batch {
  const n = rows * b.seqLen;
  const out: Batch = {
    size: rows,
    seqLen: b.seqLen,
    inputIds: b.inputIds.slice(0, n),
    tokenTypeIds: b.tokenTypeIds.slice(0, n),
    attentionMask: b.attentionMask.slice(0, n),
    wordStart: b.wordStart.slice(0, n),
    specialMask: b.specialMask.slice(0, n),
    lengths: b.lengths.slice(0, rows),
  };
  if (b.nspLabels) out.nspLabels = b.nspLabels.slice(0, rows);
  return out;
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}
