// Masking statistics and invariants on a large synthetic batch; JS loops here only check results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, dispose, memory, tidy } from '../../src/tensor/index.js';
import { Masker, maskBatch, type MaskingInput, type MaskedBatch } from '../../src/data/masking.js';
import { Rng } from '../../src/data/rng.js';

const CLS = 2,
  SEP = 3,
  PAD = 0,
  MASK = 4,
  V = 1000;

/** B rows: [CLS] a [SEP] b [SEP] [PAD]..., random lengths, ~40% of tokens continue a word. */
function synthBatch(B: number, S: number, seed: number): MaskingInput {
  const rng = Rng.fromSeed(seed);
  const r = () => rng.nextU32() / 2 ** 32;
  const n = B * S;
  const ids = new Int32Array(n),
    special = new Uint8Array(n),
    ws = new Uint8Array(n);
  for (let b = 0; b < B; b++) {
    const len = 8 + Math.floor(r() * (S - 8)); // real tokens incl. specials
    const sep1 = 2 + Math.floor(r() * (len - 4));
    for (let s = 0; s < S; s++) {
      const i = b * S + s;
      if (s >= len) {
        ids[i] = PAD;
        special[i] = 1;
        ws[i] = 1;
        continue;
      }
      if (s === 0 || s === sep1 || s === len - 1) {
        ids[i] = s === 0 ? CLS : SEP;
        special[i] = 1;
        ws[i] = 1;
        continue;
      }
      ids[i] = 5 + Math.floor(r() * (V - 5));
      ws[i] = s === 1 || s === sep1 + 1 || r() < 0.6 ? 1 : 0;
    }
  }
  return { size: B, seqLen: S, inputIds: ids, specialMask: special, wordStart: ws };
}

const roundHalfEven = (x: number) => {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
};
const rows = (t: { toArray(): number[] }, w: number) => {
  const a = t.toArray();
  return Array.from({ length: a.length / w }, (_, i) => a.slice(i * w, (i + 1) * w));
};

/** Checks every invariant that holds for any seed; returns counts for the statistics. */
function check(inp: MaskingInput, out: MaskedBatch, P: number, wholeWord: boolean) {
  const B = inp.size,
    S = inp.seqLen;
  const pos = rows(out.maskedPositions, P),
    lab = rows(out.maskedLabels, P),
    w = rows(out.maskedWeights, P);
  const ids = rows(out.inputIds, S),
    full = rows(out.labels, S),
    nm = out.numMasked.toArray();
  const st = { cand: 0, masked: 0, toMask: 0, random: 0, kept: 0, multiWords: 0 };
  for (let b = 0; b < B; b++) {
    const orig = (s: number) => inp.inputIds[b * S + s];
    const isCand = (s: number) => inp.specialMask[b * S + s] === 0;
    let nc = 0;
    for (let s = 0; s < S; s++) nc += isCand(s) ? 1 : 0;
    const ntp = Math.min(P, Math.max(1, roundHalfEven(nc * 0.15)), nc);
    const k = nm[b];
    assert.ok(k <= P && k <= ntp, `row ${b}: ${k} targets, cap ${ntp}`);
    if (!wholeWord) assert.equal(k, ntp, `row ${b}`);
    const chosen = new Set<number>();
    for (let j = 0; j < P; j++) {
      if (j < k) {
        const p = pos[b][j];
        assert.ok(isCand(p), `row ${b}: special position ${p} masked`);
        assert.ok(j === 0 || p > pos[b][j - 1], 'positions ascending and distinct');
        assert.equal(lab[b][j], orig(p));
        assert.equal(w[b][j], 1);
        chosen.add(p);
        const now = ids[b][p];
        if (now === MASK) st.toMask++;
        else if (now === orig(p)) st.kept++;
        else st.random++;
      } else {
        assert.deepEqual([pos[b][j], lab[b][j], w[b][j]], [0, -100, 0]);
      }
    }
    for (let s = 0; s < S; s++) {
      if (!chosen.has(s)) assert.equal(ids[b][s], orig(s), `row ${b}: unchosen position ${s} changed`);
      assert.equal(full[b][s], chosen.has(s) ? orig(s) : -100);
    }
    if (wholeWord) {
      // Words: all candidate tokens chosen or none; and greedy is complete: no unchosen word fits the room left.
      const words: number[][] = [];
      for (let s = 0; s < S; s++) {
        if (s === 0 || inp.wordStart![b * S + s]) words.push([]);
        if (isCand(s)) words[words.length - 1].push(s);
      }
      for (const wd of words) {
        const c = wd.filter((s) => chosen.has(s)).length;
        assert.ok(c === 0 || c === wd.length, `row ${b}: word ${wd} split`);
        if (c > 1) st.multiWords++;
        if (c === 0 && wd.length > 0)
          assert.ok(wd.length > ntp - k, `row ${b}: word of ${wd.length} fits the ${ntp - k} left`);
      }
    }
    st.cand += nc;
    st.masked += k;
  }
  return st;
}

test('token masking: ~15% of candidates, 80/10/10, specials untouched, labels and padding', () => {
  const inp = synthBatch(512, 128, 1);
  const P = 20;
  const out = maskBatch(inp, { vocabSize: V, maskId: MASK, maxPredictions: P, randomRange: [5, V] }, new Generator(7));
  assert.deepEqual(out.inputIds.shape, [512, 128]);
  assert.deepEqual(out.maskedPositions.shape, [512, P]);
  assert.equal(out.inputIds.dtype, 'int64');
  assert.equal(out.maskedLabels.dtype, 'int64');
  const st = check(inp, out, P, false);
  const frac = st.masked / st.cand;
  assert.ok(Math.abs(frac - 0.15) < 0.01, `masked fraction ${frac}`);
  const m = st.toMask / st.masked,
    r = st.random / st.masked,
    k = st.kept / st.masked;
  assert.ok(Math.abs(m - 0.8) < 0.02 && Math.abs(r - 0.1) < 0.015 && Math.abs(k - 0.1) < 0.015, `split ${m} ${r} ${k}`);
  dispose(out);
});

test('the cap P binds on long rows; positions are chosen uniformly among candidates', () => {
  const B = 2000,
    S = 32;
  const inp = synthBatch(B, S, 2);
  const out = maskBatch(inp, { vocabSize: V, maskId: MASK, maxPredictions: 2 }, new Generator(3));
  check(inp, out, 2, false);
  // A row with k targets among nc candidates hits each candidate with chance k / nc.
  const hits = new Array(S).fill(0),
    seen = new Array(S).fill(0);
  const pos = rows(out.maskedPositions, 2),
    nm = out.numMasked.toArray();
  for (let b = 0; b < B; b++) {
    const nc = inp.specialMask.slice(b * S, b * S + S).filter((x) => x === 0).length;
    for (let s = 0; s < S; s++) if (inp.specialMask[b * S + s] === 0) seen[s] += nm[b] / nc;
    for (let j = 0; j < nm[b]; j++) hits[pos[b][j]]++;
  }
  for (let s = 1; s < 20; s++)
    assert.ok(
      Math.abs(hits[s] - seen[s]) < 5 * Math.sqrt(seen[s]) + 5,
      `position ${s}: ${hits[s]} hits, expected ~${seen[s].toFixed(0)}`,
    );
  dispose(out);
});

test('whole-word masking never splits a word and fills the budget greedily', () => {
  const inp = synthBatch(512, 128, 4);
  const out = maskBatch(inp, { vocabSize: V, maskId: MASK, maxPredictions: 20, wholeWord: true }, new Generator(11));
  const st = check(inp, out, 20, true);
  assert.ok(Math.abs(st.masked / st.cand - 0.15) < 0.015, `masked fraction ${st.masked / st.cand}`);
  assert.ok(st.multiWords > 500, `only ${st.multiWords} multi-token words masked`);
  dispose(out);
});

test('deterministic from the seed, and resumable through state()/restore()', () => {
  const a = synthBatch(16, 64, 5),
    b = synthBatch(16, 64, 6);
  const opts = { vocabSize: V, maskId: MASK, wholeWord: true };
  const same = (x: MaskedBatch, y: MaskedBatch) =>
    (Object.keys(x) as (keyof MaskedBatch)[]).every((k) => x[k].equal(y[k]));
  const m1 = new Masker(opts, 42),
    m2 = new Masker(opts, 42),
    m3 = new Masker(opts, 43);
  const [x1, y1, z1] = [m1.mask(a), m2.mask(a), m3.mask(a)];
  assert.ok(same(x1, y1));
  assert.ok(!same(x1, z1));
  const saved = m1.state();
  const x2 = m1.mask(b);
  m2.mask(a); // m2 now elsewhere in its stream
  m2.restore(saved);
  const y2 = m2.mask(b);
  assert.ok(same(x2, y2));
  assert.ok(!same(x2, m1.mask(b)));
  dispose([x1, y1, z1, x2, y2, saved]);
});

test('bad options and inputs are GrowbertErrors; no tensors leak', () => {
  const inp = synthBatch(4, 16, 7);
  const g = new Generator(1);
  assert.throws(() => maskBatch(inp, { vocabSize: V, maskId: MASK, maxPredictions: 17 }, g), /maxPredictions/);
  assert.throws(() => maskBatch(inp, { vocabSize: V, maskId: V }, g), /maskId/);
  assert.throws(
    () => maskBatch({ ...inp, wordStart: undefined }, { vocabSize: V, maskId: MASK, wholeWord: true }, g),
    /wordStart/,
  );
  assert.throws(
    () => maskBatch(inp, { vocabSize: V, maskId: MASK, maskFraction: 0.95, randomFraction: 0.1 }, g),
    /maskFraction/,
  );
  const before = memory().tensors;
  tidy(() => {
    maskBatch(inp, { vocabSize: V, maskId: MASK, wholeWord: true }, g);
  });
  assert.equal(memory().tensors, before);
});

test('rows without candidates get no targets; a 1-round greedy still never splits words', () => {
  const inp = synthBatch(64, 32, 8);
  inp.specialMask.fill(1, 0, 32); // row 0: all special (e.g. an all-padding row)
  const out = maskBatch(
    inp,
    { vocabSize: V, maskId: MASK, wholeWord: true, maxRounds: 1, maxPredictions: 5 },
    new Generator(2),
  );
  assert.equal(out.numMasked.toArray()[0], 0);
  assert.deepEqual(out.inputIds.toArray().slice(0, 32), Array.from(inp.inputIds.slice(0, 32)));
  const pos = rows(out.maskedPositions, 5),
    nm = out.numMasked.toArray();
  for (let b = 0; b < 64; b++) {
    const chosen = new Set(pos[b].slice(0, nm[b]));
    for (let s = 1; s < 32; s++) {
      // A continuation token is chosen exactly when the token before it (same word) is, unless that one is special.
      if (inp.wordStart![b * 32 + s] === 0 && inp.specialMask[b * 32 + s - 1] === 0)
        assert.equal(chosen.has(s), chosen.has(s - 1), `row ${b} pos ${s}`);
    }
  }
  dispose(out);
});
