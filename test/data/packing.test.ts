import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GrowbertError } from '../../src/io/errors.js';
import { readCorpus } from '../../src/data/corpus.js';
import { Rng } from '../../src/data/rng.js';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { ensureTokenCache } from '../../src/data/token-cache.js';
import { InMemoryDocs, type Batch, type PackingOptions } from '../../src/data/packing.js';
import { SequenceSource, validationBatches, type SequenceSourceState } from '../../src/data/sequence-source.js';

// A synthetic vocabulary: 0..4 specials, 5..99 word starts, 100..149 '##' pieces.
const SPECIALS = { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 };
const VOCAB = 150;
const CONT = Uint8Array.from({ length: VOCAB }, (_, i) => (i >= 100 ? 1 : 0));
const isCont = (id: number): boolean => CONT[id] === 1;

/** Documents of words with 0-2 continuation pieces each, lengths from 1 to ~`maxLen`. */
function makeDocs(n: number, maxLen: number, seed = 1): Int32Array[] {
  const r = Rng.fromSeed(seed);
  return Array.from({ length: n }, () => {
    const len = 1 + r.int(maxLen);
    const out: number[] = [];
    while (out.length < len) {
      out.push(5 + r.int(95));
      const pieces = r.int(3);
      for (let k = 0; k < pieces && out.length < len; k++) out.push(100 + r.int(50));
    }
    return Int32Array.from(out);
  });
}

const DOCS = makeDocs(40, 300);
const S = 32;
const base: PackingOptions = { seqLen: S, specialIds: SPECIALS, continuation: CONT };

interface Row {
  a: number[];
  b: number[] | null;
  label?: number;
}

/** Check every invariant of a batch and return its rows as segments. */
function checkBatch(batch: Batch): Row[] {
  const { size, seqLen } = batch;
  assert.equal(batch.inputIds.length, size * seqLen);
  const rows: Row[] = [];
  for (let r = 0; r < size; r++) {
    const o = r * seqLen;
    const ids = [...batch.inputIds.subarray(o, o + seqLen)];
    const types = [...batch.tokenTypeIds.subarray(o, o + seqLen)];
    const attn = [...batch.attentionMask.subarray(o, o + seqLen)];
    const special = [...batch.specialMask.subarray(o, o + seqLen)];
    const ws = [...batch.wordStart.subarray(o, o + seqLen)];
    const len = batch.lengths[r]!;
    assert.ok(len >= 3 && len <= seqLen, `row ${r} length ${len}`);
    assert.equal(ids[0], SPECIALS.cls, 'starts with [CLS]');
    assert.equal(ids[len - 1], SPECIALS.sep, 'real tokens end with [SEP]');
    for (let i = 0; i < seqLen; i++) {
      assert.equal(attn[i], i < len ? 1 : 0, 'attention mask covers exactly the real tokens');
      if (i >= len) {
        assert.equal(ids[i], SPECIALS.pad);
        assert.equal(types[i], 0);
      }
      const isSpecial = ids[i] === SPECIALS.cls || ids[i] === SPECIALS.sep || ids[i] === SPECIALS.pad;
      assert.equal(special[i], isSpecial ? 1 : 0, 'special mask marks [CLS] [SEP] [PAD]');
      if (isSpecial) assert.equal(ws[i], 1);
    }
    const seps = ids.slice(0, len).flatMap((id, i) => (id === SPECIALS.sep ? [i] : []));
    assert.ok(seps.length === 1 || seps.length === 2, `${seps.length} [SEP]s`);
    const a = ids.slice(1, seps[0]);
    assert.ok(a.length >= 1, 'A is never empty');
    for (let i = 0; i <= seps[0]!; i++) assert.equal(types[i], 0, '[CLS] A [SEP] is segment 0');
    let b: number[] | null = null;
    if (seps.length === 2) {
      b = ids.slice(seps[0]! + 1, seps[1]);
      assert.ok(b.length >= 1, 'B is never empty');
      for (let i = seps[0]! + 1; i < len; i++) assert.equal(types[i], 1, 'B [SEP] is segment 1');
    }
    // Word starts: '##' pieces are not, except where one opens a segment.
    for (const [start, seg] of [[1, a] as const, ...(b ? [[seps[0]! + 1, b] as const] : [])]) {
      seg.forEach((id, j) => assert.equal(ws[start + j], j === 0 || !isCont(id) ? 1 : 0));
    }
    rows.push({ a, b, label: batch.nspLabels?.[r] });
  }
  return rows;
}

function collect(src: SequenceSource, batches: number): Batch[] {
  return Array.from({ length: batches }, () => src.nextBatch());
}

test('rows are well formed and one epoch reads every token once, in the epoch order', () => {
  const src = new SequenceSource(new InMemoryDocs(DOCS), { ...base, batchSize: 1, seed: 3 });
  const total = DOCS.reduce((n, d) => n + d.length, 0);
  const order = Rng.fromSeed(3, 'order', 0).permutation(DOCS.length);
  const expected = [...order].flatMap((d) => [...DOCS[d]!]);
  const got: number[] = [];
  let splitMidWord = 0;
  while (got.length < total) {
    assert.equal(src.epoch, 0);
    const [row] = checkBatch(src.nextBatch());
    got.push(...row!.a, ...(row!.b ?? []));
    if (row!.b && isCont(row!.b[0]!)) splitMidWord++;
    if (isCont(row!.a[0]!)) splitMidWord++;
  }
  assert.deepEqual(got, expected, 'B continues A and chunks continue each other');
  assert.equal(splitMidWord, 0, 'cuts land on word starts');
  src.nextBatch();
  assert.equal(src.epoch, 1, 'the next epoch starts after the last token');
  assert.equal(src.state().index, 0);
});

test('same seed, same batches; another seed, other batches; epochs reshuffle', () => {
  const opts = { ...base, batchSize: 8, seed: 11 };
  const a = collect(new SequenceSource(new InMemoryDocs(DOCS), opts), 60);
  const b = collect(new SequenceSource(new InMemoryDocs(DOCS), opts), 60);
  assert.deepEqual(a, b);
  const c = collect(new SequenceSource(new InMemoryDocs(DOCS), { ...opts, seed: 12 }), 5);
  assert.notDeepEqual(c, a.slice(0, 5));
  const src = new SequenceSource(new InMemoryDocs(DOCS), opts);
  const firstRows: number[][] = [];
  for (let i = 0; i < 3000 && firstRows.length < 3; i++) {
    const before = src.epoch;
    const batch = src.nextBatch(1);
    if (i === 0 || src.epoch !== before) firstRows.push([...batch.inputIds.subarray(0, 6)]);
  }
  assert.equal(firstRows.length, 3, 'ran through two epoch boundaries');
  assert.notDeepEqual(firstRows[1], firstRows[2], 'each epoch has its own order');
  for (const batch of a) checkBatch(batch);
});

test('state() survives JSON and restore() continues with identical batches', () => {
  const opts = { ...base, batchSize: 6, seed: 5, nsp: true, shortSeqProb: 0.2, dataId: 'data-1' };
  const src = new SequenceSource(new InMemoryDocs(DOCS), opts);
  collect(src, 37);
  const saved: SequenceSourceState = JSON.parse(JSON.stringify(src.state()));
  assert.equal(saved.sequences, 37 * 6);
  const expected = collect(src, 80); // crosses epoch boundaries
  assert.ok(src.epoch >= 1);
  const resumed = new SequenceSource(new InMemoryDocs(DOCS), opts);
  resumed.restore(saved);
  assert.deepEqual(collect(resumed, 80), expected);
  // Batch size and sequence length are not part of the position.
  const rows = new SequenceSource(new InMemoryDocs(DOCS), { ...opts, batchSize: 2 });
  rows.restore(saved);
  const flat = Array.from({ length: 3 }, () => rows.nextBatch());
  assert.deepEqual(
    flat.flatMap((b) => [...b.inputIds]),
    [...expected[0]!.inputIds],
  );
  const longer = new SequenceSource(new InMemoryDocs(DOCS), { ...opts, seqLen: 64 });
  longer.restore(saved);
  checkBatch(longer.nextBatch());
  // Mismatched data or seed is refused.
  const is = (re: RegExp) => (e: unknown) => e instanceof GrowbertError && re.test(e.message);
  assert.throws(
    () => new SequenceSource(new InMemoryDocs(DOCS.slice(1)), opts).restore(saved),
    is(/the corpus now has \d+ documents, the run was trained on \d+/),
  );
  assert.throws(() => new SequenceSource(new InMemoryDocs(DOCS), { ...opts, seed: 6 }).restore(saved), is(/seed/));
  assert.throws(
    () => new SequenceSource(new InMemoryDocs(DOCS), { ...opts, dataId: 'data-2' }).restore(saved),
    is(/the corpus is not the one this run was trained on/),
  );
  assert.throws(
    () => new SequenceSource(new InMemoryDocs(DOCS), opts).restore({ ...saved, version: 2 } as never),
    is(/version/),
  );
});

test('NSP: about half random next, labels in the batch, continuations really continue', () => {
  const src = new SequenceSource(new InMemoryDocs(DOCS), { ...base, batchSize: 50, seed: 9, nsp: true });
  let random = 0;
  let rows = 0;
  const concat = DOCS.map((d) => [...d].join(','));
  for (const batch of collect(src, 40)) {
    assert.ok(batch.nspLabels && batch.nspLabels.length === 50);
    for (const row of checkBatch(batch)) {
      rows++;
      assert.ok(row.b, 'NSP rows always have B');
      if (row.label === 1) random++;
      else {
        const ab = [...row.a, ...row.b!].join(',');
        assert.ok(
          concat.some((d) => d.includes(ab)),
          'label 0: A then B is contiguous text of one document',
        );
      }
    }
  }
  assert.ok(random / rows > 0.4 && random / rows < 0.6, `${random}/${rows} random`);
  assert.equal(
    new SequenceSource(new InMemoryDocs(DOCS), { ...base, batchSize: 1, seed: 1 }).nextBatch().nspLabels,
    undefined,
  );
});

test('short sequences, tiny documents, one-token documents', () => {
  const src = new SequenceSource(new InMemoryDocs(DOCS), { ...base, batchSize: 64, seed: 2, shortSeqProb: 0.5 });
  const lengths = collect(src, 5).flatMap((b) => checkBatch(b) && [...b.lengths]);
  assert.ok(lengths.filter((l) => l < S - 4).length > lengths.length / 4, 'many shorter rows');
  const tiny = [Int32Array.of(7), Int32Array.of(8, 9), Int32Array.of(10, 101, 102), new Int32Array(0)];
  const t = new SequenceSource(new InMemoryDocs(tiny), { ...base, batchSize: 3, seed: 1, shuffle: false });
  const rows = checkBatch(t.nextBatch());
  assert.deepEqual(rows[0], { a: [7], b: null, label: undefined });
  assert.deepEqual(rows[1], { a: [8], b: [9], label: undefined });
  assert.deepEqual(
    rows[2],
    { a: [10, 101, 102], b: null, label: undefined },
    'no word start to split at: whole word in A',
  );
  assert.deepEqual(
    checkBatch(t.nextBatch(1))[0],
    { a: [7], b: null, label: undefined },
    'empty document skipped, next epoch',
  );
  // A segment that opens with a torn '##' piece still marks it as a word start.
  const torn = [Int32Array.from([5, ...Array(40).fill(120)])];
  const b = new SequenceSource(new InMemoryDocs(torn), { ...base, batchSize: 2, seed: 1 }).nextBatch();
  checkBatch(b);
  assert.equal(b.wordStart[S + 1], 1);
  // With NSP a one-word chunk of full length still leaves room for its random B.
  const nsp = new SequenceSource(new InMemoryDocs([...torn, ...tiny]), {
    ...base,
    batchSize: 16,
    seed: 1,
    nsp: true,
    shortSeqProb: 0.3,
  });
  for (const batch of collect(nsp, 10)) for (const row of checkBatch(batch)) assert.ok(row.b && row.b.length >= 1);
});

test('option errors', () => {
  const docs = new InMemoryDocs(DOCS);
  const is = (re: RegExp) => (e: unknown) => e instanceof GrowbertError && re.test(e.message);
  assert.throws(() => new SequenceSource(docs, { ...base, seqLen: 3, batchSize: 1, seed: 0 }), is(/at least 4/));
  assert.throws(
    () => new SequenceSource(docs, { ...base, seqLen: 4, nsp: true, batchSize: 1, seed: 0 }),
    is(/NSP; use at least 5/),
  );
  assert.throws(() => new SequenceSource(docs, { ...base, batchSize: 0, seed: 0 }), is(/batch size/));
  assert.throws(
    () => new SequenceSource(docs, { ...base, shortSeqProb: 2, batchSize: 1, seed: 0 }),
    is(/short sequence/),
  );
  assert.throws(() => new SequenceSource(new InMemoryDocs([]), { ...base, batchSize: 1, seed: 0 }), is(/no documents/));
  assert.throws(
    () => new SequenceSource(new InMemoryDocs([new Int32Array(0)]), { ...base, batchSize: 1, seed: 0 }).nextBatch(),
    is(/every document is empty/),
  );
  // The smallest lengths work.
  checkBatch(new SequenceSource(docs, { ...base, seqLen: 4, batchSize: 4, seed: 0 }).nextBatch());
  checkBatch(new SequenceSource(docs, { ...base, seqLen: 5, nsp: true, batchSize: 4, seed: 0 }).nextBatch());
});

test('validation batches: one fixed pass over all tokens, identical every time', () => {
  const docs = new InMemoryDocs(DOCS);
  const opts = { ...base, batchSize: 16 };
  const a = [...validationBatches(docs, opts)];
  const b = [...validationBatches(docs, opts)];
  assert.deepEqual(a, b);
  const tokens = a.flatMap((batch) => checkBatch(batch).flatMap((r) => [...r.a, ...(r.b ?? [])]));
  assert.deepEqual(
    tokens,
    DOCS.flatMap((d) => [...d]),
    'stored order, every token once',
  );
  assert.ok(a.slice(0, -1).every((x) => x.size === 16));
  const last = a.at(-1)!;
  assert.ok(last.size >= 1 && last.size <= 16);
  assert.equal(last.inputIds.length, last.size * S);
  assert.equal([...validationBatches(docs, { ...opts, maxBatches: 2 })].length, 2);
  assert.notDeepEqual(
    [...validationBatches(docs, { ...opts, seed: 1, maxBatches: 1 })],
    a.slice(0, 1),
    'the seed picks the split points',
  );
  assert.deepEqual([...validationBatches(new InMemoryDocs([]), opts)], []);
  const nsp = [...validationBatches(docs, { ...opts, nsp: true })];
  assert.deepEqual(nsp, [...validationBatches(docs, { ...opts, nsp: true })]);
  nsp.forEach(checkBatch);
});

test('packs from a token cache built from real text', async () => {
  const docs = (await readCorpus(['stdlib:moby-dick'])).slice(0, 6);
  const tok = BertTokenizer.train(docs, { vocabSize: 1500 });
  const cache = await ensureTokenCache({
    dir: fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-pack-')),
    docs,
    tokenizer: tok,
  });
  const opts = {
    seqLen: 64,
    specialIds: tok.specialIds,
    continuation: tok.continuationTable(),
    batchSize: 8,
    seed: 1,
    dataId: cache.manifest.hash,
  };
  const src = new SequenceSource(cache, opts);
  const batch = src.nextBatch();
  assert.equal(batch.inputIds[0], tok.specialIds.cls);
  const row0 = batch.inputIds.subarray(0, batch.lengths[0]);
  assert.deepEqual(
    [...batch.wordStart.subarray(0, batch.lengths[0])],
    [...tok.wordStarts(row0)].map((w, i) => (i === 1 ? 1 : w)),
  );
  assert.ok(tok.decode(row0).length > 50);
  const state = src.state();
  assert.equal(state.dataId, cache.manifest.hash);
  const next = src.nextBatch();
  const again = new SequenceSource(cache, opts);
  again.restore(JSON.parse(JSON.stringify(state)));
  assert.deepEqual(again.nextBatch(), next);
  const val = [...validationBatches(cache, { ...opts, maxBatches: 3 })];
  assert.equal(val.length, 3);
  cache.close();
});
