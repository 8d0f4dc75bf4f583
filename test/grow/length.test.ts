// Length operators: pooling k -> smaller, truncation (the position table must cover the length).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPreservation, growLength } from '../../src/grow/index.js';
import { dispose } from '../../src/tensor/index.js';
import {
  SMALL,
  assertUnchanged,
  disposeResult,
  makeBatch,
  snapshot,
  st,
  trainAfter,
  trainedSource,
} from './helpers.js';

test('pool 2 -> 1: no parameter or moment changes, the function does (measured)', () => {
  const s = trainedSource({ ...SMALL, poolingSize: 2 });
  const snap = snapshot(s);
  const r = growLength(s.src, { poolingSize: 1 });
  assertUnchanged(s, snap);
  assert.equal(r.model.config.poolingSize, 1);
  assert.equal(r.preserving, false);
  const src = s.model.namedParameters(),
    so = s.opt.state();
  for (const [n, p] of r.model.namedParameters()) {
    assert.ok(p.equal(src.get(n)!), n);
    for (const slot of ['exp_avg', 'exp_avg_sq', 'step'])
      assert.ok(st(r, `${n}.${slot}`).equal(so.get(`${n}.${slot}`)!), `${n}.${slot}`);
  }
  const batch = makeBatch(14);
  const p = checkPreservation(s.model, r.model, batch);
  console.log(
    `pool 2->1: maxRel ${p.maxRelLogitDiff.toExponential(2)}, loss ${p.lossBefore.toFixed(4)} -> ${p.lossAfter.toFixed(4)}, params ${p.paramsBefore} -> ${p.paramsAfter}`,
  );
  assert.equal(p.paramsBefore, p.paramsAfter);
  const t = trainAfter(r, 2);
  assert.ok(t.losses.every(Number.isFinite));
  t.opt.dispose();
  dispose(batch);
  disposeResult(r);

  const four = trainedSource({ ...SMALL, poolingSize: 4 });
  const half = growLength(four.src, { poolingSize: 2 });
  assert.equal(half.model.config.poolingSize, 2);
  disposeResult(half);
  four.dispose();
  s.dispose();
});

test('truncate: a no-op on weights (exact) when the position table covers the new length', () => {
  const s = trainedSource(SMALL);
  const r = growLength(s.src, { seqLength: 24 });
  assert.equal(r.preserving, true);
  assert.match(r.report[0], /truncate, next stage trains on length 24/);
  const batch = makeBatch(15);
  assert.equal(checkPreservation(s.model, r.model, batch).maxAbsLogitDiff, 0);
  dispose(batch);
  disposeResult(r);
  s.dispose();
});

test('length: a length beyond maxPositionEmbeddings, or more pooling, is a GrowbertError', () => {
  const s = trainedSource(SMALL);
  assert.throws(() => growLength(s.src, { seqLength: 25 }), {
    name: 'GrowbertError',
    message: /length 25 exceeds maxPositionEmbeddings 24/,
  });
  assert.throws(() => growLength(s.src, { poolingSize: 2 }), {
    name: 'GrowbertError',
    message: /poolingSize target 2 is larger than the source's 1/,
  });
  s.dispose();
});
