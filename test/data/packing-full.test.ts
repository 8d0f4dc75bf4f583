// --packing full: rows filled from consecutive documents with [SEP] between their chunks, no
// token lost or repeated, padding only at an epoch's end; resumable like document packing; NSP
// keeps its per-document pairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/data/rng.js';
import { InMemoryDocs, paddingFraction, type PackingOptions } from '../../src/data/packing.js';
import { SequenceSource, validationBatches } from '../../src/data/sequence-source.js';

const SPECIALS = { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 };
const CONT = Uint8Array.from({ length: 150 }, (_, i) => (i >= 100 ? 1 : 0));

function makeDocs(n: number, maxLen: number, seed = 1): Int32Array[] {
  const r = Rng.fromSeed(seed);
  return Array.from({ length: n }, () => Int32Array.from({ length: 1 + r.int(maxLen) }, () => 5 + r.int(145)));
}

const S = 32;
const full: PackingOptions = { seqLen: S, specialIds: SPECIALS, continuation: CONT, packing: 'full' };

test('full packing: every token once, in order, chunks closed by [SEP], rows full except the last', () => {
  const docs = makeDocs(60, 50);
  const batches = [...validationBatches(new InMemoryDocs(docs), { ...full, batchSize: 8 })];
  const stream: number[] = [];
  const rows = batches.reduce((n, b) => n + b.size, 0);
  let filledRows = 0;
  for (const b of batches) {
    for (let r = 0; r < b.size; r++) {
      const o = r * S;
      const len = b.lengths[r]!;
      assert.equal(b.inputIds[o], SPECIALS.cls);
      assert.equal(b.inputIds[o + len - 1], SPECIALS.sep);
      for (let i = o; i < o + S; i++) {
        assert.equal(b.tokenTypeIds[i], 0);
        assert.equal(b.attentionMask[i], i < o + len ? 1 : 0);
        if (i >= o + len) assert.equal(b.inputIds[i], SPECIALS.pad);
      }
      if (len >= S - 1) filledRows++;
      for (let i = o + 1; i < o + len; i++) stream.push(b.inputIds[i]!);
    }
  }
  assert.ok(filledRows >= rows - 1, `${filledRows} of ${rows} rows full`);
  // Removing the [SEP]s gives the documents' tokens concatenated in order.
  const tokens = stream.filter((id) => id !== SPECIALS.sep);
  const want = docs.flatMap((d) => [...d]);
  assert.deepEqual(tokens, want);
  // Every document ends at a [SEP].
  let k = 0;
  for (const d of docs) {
    let seen = 0;
    while (seen < d.length) if (stream[k++] !== SPECIALS.sep) seen++;
    assert.equal(stream[k++], SPECIALS.sep);
  }
});

test('padding: one-sentence documents waste under 1% with full packing, far more per document', () => {
  const docs = new InMemoryDocs(makeDocs(3000, 20, 3));
  const perDoc = paddingFraction(docs, { ...full, seqLen: 128, packing: 'document' });
  const packed = paddingFraction(docs, { ...full, seqLen: 128 });
  assert.ok(packed < 0.01, `full packing pads ${packed}`);
  assert.ok(perDoc > 0.5, `document packing pads ${perDoc}`);
});

test('full packing resumes exactly from a saved state; NSP keeps per-document pairs', () => {
  const docs = new InMemoryDocs(makeDocs(50, 80, 5));
  const opts = { ...full, batchSize: 4, seed: 9 };
  const a = new SequenceSource(docs, opts);
  for (let i = 0; i < 7; i++) a.nextBatch();
  const saved = a.state();
  const next = [a.nextBatch(), a.nextBatch()];
  const b = new SequenceSource(docs, opts);
  b.restore(saved);
  assert.deepEqual([b.nextBatch(), b.nextBatch()], next);
  // Across epochs: every epoch ends with its one partly filled row, then continues.
  const c = new SequenceSource(docs, opts);
  for (let i = 0; i < 200; i++) c.nextBatch();
  assert.ok(c.epoch >= 2, `epoch ${c.epoch}`);
  const nsp = new SequenceSource(docs, { ...opts, nsp: true });
  const batch = nsp.nextBatch(64);
  const labels = [...batch.nspLabels!];
  assert.ok(labels.includes(0) && labels.includes(1), 'both NSP labels');
  assert.ok([...batch.tokenTypeIds].includes(1), 'B segments have type 1');
});
