// The cost model against a hand count for a small shape, written out matmul by matmul
// (2 FLOPs per multiply-add): plain, length-pooled, and with a factorized FFN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardFlopsPerSequence, layerFlops, pooledLen, stepFlops, type StepShape } from '../../src/schedule/cost.js';

// H hidden, F FFN, N layers, V vocabulary, S sequence, P masked predictions, B batch
const H = 4,
  F = 8,
  N = 2,
  V = 10,
  S = 6,
  P = 2,
  B = 3;
const shape = (o: { poolingSize?: number; ffnRank?: number } = {}): StepShape => ({
  config: {
    hiddenSize: H,
    intermediateSize: F,
    numHiddenLayers: N,
    vocabSize: V,
    poolingSize: o.poolingSize ?? 1,
    ffnRank: o.ffnRank ?? 0,
  },
  batchSize: B,
  seqLength: S,
  maxPredictions: P,
});

/** One layer by hand: Lq query rows attend to Lk key/value rows. */
function handLayer(Lq: number, Lk: number, ffn: number) {
  const q = 2 * Lq * H * H; // queries [Lq,H] x [H,H]
  const k = 2 * Lk * H * H; // keys    [Lk,H] x [H,H]
  const v = 2 * Lk * H * H; // values  [Lk,H] x [H,H]
  const scores = 2 * Lq * Lk * H; // Q K^T summed over all heads: [Lq,H/h] x [H/h,Lk] per head
  const mixing = 2 * Lq * Lk * H; // probs [Lq,Lk] x V [Lk,H/h] per head
  const outProj = 2 * Lq * H * H; // attention output [Lq,H] x [H,H]
  return q + k + v + scores + mixing + outProj + ffn;
}
const denseFfn = (L: number) => 2 * L * H * F + 2 * L * F * H; // up [L,H]x[H,F], down [L,F]x[F,H]
// the MLM head at the P masked positions only: transform [P,H]x[H,H], decoder [P,H]x[H,V]
const head = 2 * P * H * H + 2 * P * H * V;

test('plain: every term by hand', () => {
  // per layer at S = 6: q 192 + k 192 + v 192 + scores 288 + mixing 288 + out 192 + FFN 768 = 2112
  assert.equal(handLayer(S, S, denseFfn(S)), 2112);
  assert.equal(layerFlops(H, F, 0, S, S), 2112);
  assert.equal(head, 64 + 160);
  const forward = N * 2112 + 224;
  assert.equal(forward, 4448);
  assert.equal(forwardFlopsPerSequence(shape()), forward);
  // a training step: forward + backward (2x forward) over the batch
  assert.equal(stepFlops(shape()), 3 * B * forward);
  assert.equal(stepFlops(shape()), 40032);
  assert.equal(stepFlops(shape(), 4), 4 * 40032, 'gradient accumulation multiplies the step');
});

test('length pooling k=2: only the S-P unmasked tokens pool; layer 1 pooled+P queries over (S-P)+P keys, the rest at pooled+P', () => {
  assert.equal(pooledLen(S, 2), 4); // [CLS] + ceil(5 / 2) windows
  assert.equal(pooledLen(S, 1), S);
  assert.equal(pooledLen(7, 3), 3);
  assert.equal(pooledLen(128, 2), 65);
  // the unmasked stream has S - P = 4 tokens: [CLS] + ceil(3 / 2) = 3 pooled slots
  const U = S - P;
  assert.equal(pooledLen(U, 2), 3);
  const Lp = 3 + P,
    Lkeys = U + P; // 5 queries; 6 keys: each masked token once
  // layer 1: q 2*5*16=160, k and v 2*6*16=192 each, scores and mixing 2*5*6*4=240 each, out 160, FFN 4*5*32=640
  const layer1 = handLayer(Lp, Lkeys, denseFfn(Lp));
  assert.equal(layer1, 160 + 192 + 192 + 240 + 240 + 160 + 640);
  assert.equal(layerFlops(H, F, 0, Lp, Lkeys), layer1);
  // layer 2 at the pooled length + P = 5: q, k, v, out 160 each, scores and mixing 2*5*5*4=200 each, FFN 640
  const layer2 = handLayer(Lp, Lp, denseFfn(Lp));
  assert.equal(layer2, 4 * 160 + 2 * 200 + 640);
  const pool = U * H; // window means: one add per unmasked token and unit
  const forward = pool + layer1 + layer2 + head;
  assert.equal(forward, 16 + 1824 + 1680 + 224);
  assert.equal(forwardFlopsPerSequence(shape({ poolingSize: 2 })), forward);
  assert.equal(stepFlops(shape({ poolingSize: 2 })), 3 * B * forward);
  // at a real length pooling saves a lot
  const long = { ...shape(), seqLength: 128, maxPredictions: 20 };
  const pooled = { ...long, config: { ...long.config, poolingSize: 2 } };
  assert.ok(stepFlops(pooled) < 0.75 * stepFlops(long));
});

test('factorized FFN of rank r: each FFN matrix is [L,H]x[H,r] then x[r,F] (and back)', () => {
  const r = 2;
  const ffn = (L: number) => 2 * (2 * L * H * r + 2 * L * r * F); // up: H->r->F, down: F->r->H
  assert.equal(ffn(S), 576);
  const layer = handLayer(S, S, ffn(S));
  assert.equal(layer, 192 * 3 + 288 + 288 + 192 + 576);
  assert.equal(layerFlops(H, F, r, S, S), layer);
  const forward = N * layer + head;
  assert.equal(forward, 4064);
  assert.equal(forwardFlopsPerSequence(shape({ ffnRank: r })), forward);
  assert.equal(stepFlops(shape({ ffnRank: r })), 3 * B * forward);
  // factorized and pooled together
  const Lp = pooledLen(S - P, 2) + P;
  const both = (S - P) * H + handLayer(Lp, S, ffn(Lp)) + handLayer(Lp, Lp, ffn(Lp)) + head;
  assert.equal(forwardFlopsPerSequence(shape({ ffnRank: r, poolingSize: 2 })), both);
});

test('cost grows with every dimension', () => {
  const base = stepFlops(shape());
  const bigger = (over: Partial<StepShape['config']>, rest: Partial<StepShape> = {}) =>
    stepFlops({ ...shape(), ...rest, config: { ...shape().config, ...over } });
  for (const [what, f] of [
    ['layers', bigger({ numHiddenLayers: 3 })],
    ['hidden', bigger({ hiddenSize: 8 })],
    ['ffn', bigger({ intermediateSize: 16 })],
    ['vocab', bigger({ vocabSize: 20 })],
    ['seq', bigger({}, { seqLength: 12 })],
    ['predictions', bigger({}, { maxPredictions: 3 })],
    ['batch', bigger({}, { batchSize: 4 })],
  ] as const) {
    assert.ok(f > base, `more ${what} costs more`);
  }
});
