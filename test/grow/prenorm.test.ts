// Growth of the pre-LN variant (arch 'prenorm') through the same operators as BERT's: depth by
// identity layers is exact with no LayerNorm bookkeeping (zero output projections make a pre-LN
// layer the identity), and FFN, hidden/heads and rank growth are exact as for post-LN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPreservation, depthMap, grow, growDepth, growFfn } from '../../src/grow/index.js';
import { dispose } from '../../src/tensor/index.js';
import {
  SMALL,
  assertTrained,
  assertUnchanged,
  disposeResult,
  makeBatch,
  snapshot,
  st,
  trainAfter,
  trainedSource,
  assertIdentityCopiesZeroed,
} from './helpers.js';

const PRE = { ...SMALL, arch: 'prenorm' as const };
const L = (i: number) => `bert.encoder.layer.${i}.`;

for (const lnTransfer of [true, false]) {
  test(`prenorm identity 2 -> 5 (lnTransfer ${lnTransfer}): exact, zero output projections, LayerNorms copied`, () => {
    const s = trainedSource(PRE);
    const snap = snapshot(s);
    const r = growDepth(s.src, 5, 'identity', { lnTransfer });
    assertUnchanged(s, snap);
    assert.equal(r.preserving, true);
    assert.match(r.report[0], /LayerNorms copied; exact/);
    const batch = makeBatch(4);
    const p = checkPreservation(s.model, r.model, batch);
    console.log(
      `prenorm identity 2->5: maxAbs ${p.maxAbsLogitDiff.toExponential(2)}, maxRel ${p.maxRelLogitDiff.toExponential(2)}`,
    );
    assert.ok(p.maxRelLogitDiff <= 1e-6, `relative logit error ${p.maxRelLogitDiff}`);
    const src = s.model.namedParameters(),
      grown = r.model.namedParameters();
    const map = depthMap('identity', 2, 5);
    assertIdentityCopiesZeroed(r, map);
    for (let i = 1; i < 5; i++) {
      if (map[i] !== map[i - 1]) continue;
      for (const rel of ['attention.LayerNorm.weight', 'intermediate.LayerNorm.bias', 'attention.self.key.weight']) {
        assert.ok(grown.get(L(i) + rel)!.equal(src.get(L(map[i]) + rel)!), `${L(i)}${rel} copies layer ${map[i]}`);
        assert.equal(st(r, `${L(i)}${rel}.step`).item(), 3);
      }
    }
    assert.ok(
      grown.get('bert.LayerNorm.weight')!.equal(src.get('bert.LayerNorm.weight')!),
      'the final LayerNorm is carried over',
    );
    assertTrained(trainAfter(r, 3));
    dispose(batch);
    disposeResult(r);
    s.dispose();
  });
}

test('prenorm: hidden 16 -> 32 (heads 2 -> 4), FFN 32 -> 64 (share) and depth 2 -> 4 (identity) in one growth, exact', () => {
  const s = trainedSource(PRE);
  const r = grow(
    s.src,
    { hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 4 },
    { depth: 'identity', ffn: 'share' },
  );
  assert.equal(r.preserving, true);
  assert.equal(r.model.config.arch, 'prenorm');
  assert.deepEqual(r.model.namedParameters().get('bert.LayerNorm.weight')!.shape, [32]);
  const batch = makeBatch(6);
  const p = checkPreservation(s.model, r.model, batch);
  console.log(`prenorm hidden+ffn+identity: maxRel ${p.maxRelLogitDiff.toExponential(2)}`);
  assert.ok(p.maxRelLogitDiff <= 1e-5, `relative logit error ${p.maxRelLogitDiff}`);
  assertTrained(trainAfter(r, 3));
  dispose(batch);
  disposeResult(r);
  s.dispose();
});

test('prenorm: FFN split and a factorized FFN multiplied out are exact; stack changes the function', () => {
  const s = trainedSource(PRE);
  const batch = makeBatch(8);
  const split = growFfn(s.src, { intermediateSize: 50 }, 'split');
  assert.ok(checkPreservation(s.model, split.model, batch).maxRelLogitDiff <= 1e-5);
  disposeResult(split);
  const stack = growDepth(s.src, 4, 'stack');
  assert.equal(stack.preserving, false);
  assert.ok(checkPreservation(s.model, stack.model, batch).maxRelLogitDiff > 1e-3);
  disposeResult(stack);
  s.dispose();
  const f = trainedSource({ ...PRE, ffnRank: 4 });
  const dense = growFfn(f.src, { ffnRank: 0 }, 'factorized');
  assert.equal(dense.model.config.ffnRank, 0);
  assert.ok(checkPreservation(f.model, dense.model, batch).maxRelLogitDiff <= 1e-5);
  assertTrained(trainAfter(dense, 2));
  disposeResult(dense);
  f.dispose();
  dispose(batch);
});
