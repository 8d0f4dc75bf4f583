// Depth operators: stack, interleave, identity (with and without the LayerNorm transfer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPreservation, depthMap, growDepth, type DepthOp } from '../../src/grow/index.js';
import { dispose } from '../../src/tensor/index.js';
import {
  SMALL,
  assertUnchanged,
  disposeResult,
  makeBatch,
  shapes,
  snapshot,
  st,
  trainAfter,
  trainedSource,
  assertTrained,
  assertIdentityCopiesZeroed,
} from './helpers.js';

const L = (i: number) => `bert.encoder.layer.${i}.`;

test("depthMap: stack is i mod N, interleave floor(i N / N')", () => {
  assert.deepEqual(depthMap('stack', 6, 12), [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
  assert.deepEqual(depthMap('stack', 2, 3), [0, 1, 0]);
  assert.deepEqual(depthMap('interleave', 3, 6), [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(depthMap('interleave', 2, 3), [0, 0, 1]);
  assert.deepEqual(depthMap('interleave', 3, 5), [0, 0, 1, 1, 2]);
  assert.deepEqual(depthMap('identity', 2, 5), [0, 0, 0, 1, 1]);
});

for (const [op, n2] of [
  ['stack', 4],
  ['stack', 3],
  ['interleave', 4],
  ['interleave', 3],
] as [DepthOp, number][]) {
  test(`${op} 2 -> ${n2}: copied weights and moments, shapes, source untouched, training continues`, () => {
    const s = trainedSource(SMALL);
    const snap = snapshot(s);
    const r = growDepth(s.src, n2, op);
    assertUnchanged(s, snap);
    assert.equal(r.model.config.numHiddenLayers, n2);
    assert.equal(r.preserving, false);
    const map = depthMap(op, 2, n2);
    const perLayer = (s.model.numParameters() - 0) / 1;
    const src = s.model.namedParameters(),
      grown = r.model.namedParameters();
    const layerParams = [...src.keys()].filter((n) => n.startsWith(L(0)));
    const layerSize = layerParams.reduce((a, n) => a + src.get(n)!.numel, 0);
    assert.equal(r.model.numParameters(), perLayer + (n2 - 2) * layerSize);
    for (let i = 0; i < n2; i++) {
      for (const rel of layerParams.map((n) => n.slice(L(0).length))) {
        assert.ok(grown.get(L(i) + rel)!.equal(src.get(L(map[i]) + rel)!), `${L(i)}${rel}`);
        for (const slot of ['exp_avg', 'exp_avg_sq', 'step']) {
          assert.ok(
            st(r, `${L(i)}${rel}.${slot}`).equal(s.opt.state().get(`${L(map[i])}${rel}.${slot}`)!),
            `${L(i)}${rel}.${slot}`,
          );
        }
      }
    }
    const batch = makeBatch(3);
    const p = checkPreservation(s.model, r.model, batch);
    console.log(
      `${op} 2->${n2}: maxRel ${p.maxRelLogitDiff.toExponential(2)}, loss ${p.lossBefore.toFixed(4)} -> ${p.lossAfter.toFixed(4)}`,
    );
    const t = trainAfter(r);
    assert.ok(t.losses.every(Number.isFinite));
    assertTrained(t);
    dispose(batch);
    disposeResult(r);
    s.dispose();
  });
}

for (const n2 of [3, 4, 5]) {
  test(`identity 2 -> ${n2}: exact with the LayerNorm transfer, zero outputs and zero moments for new parameters`, () => {
    const s = trainedSource(SMALL);
    const snap = snapshot(s);
    const r = growDepth(s.src, n2, 'identity');
    assertUnchanged(s, snap);
    assert.equal(r.preserving, true);
    assert.deepEqual(shapes(r.model)[`${L(n2 - 1)}output.dense.weight`], [16, 32]);
    const batch = makeBatch(4);
    const p = checkPreservation(s.model, r.model, batch);
    console.log(
      `identity 2->${n2} (LN transfer): maxAbs ${p.maxAbsLogitDiff.toExponential(2)}, maxRel ${p.maxRelLogitDiff.toExponential(2)}, loss ${p.lossBefore} -> ${p.lossAfter}`,
    );
    assert.ok(p.maxRelLogitDiff <= 1e-5, `relative logit error ${p.maxRelLogitDiff}`);
    assert.ok(Math.abs(p.lossAfter - p.lossBefore) <= 1e-5 * p.lossBefore);

    const map = depthMap('identity', 2, n2);
    assertIdentityCopiesZeroed(r, map);
    const grown = r.model.namedParameters();
    for (let i = 1; i < n2; i++) {
      if (map[i] !== map[i - 1]) continue; // a source layer's first copy
      // query copied from the repeated layer, with its moments and step
      assert.ok(
        grown
          .get(`${L(i)}attention.self.query.weight`)!
          .equal(s.model.namedParameters().get(`${L(map[i])}attention.self.query.weight`)!),
      );
      assert.equal(st(r, `${L(i)}attention.self.query.weight.step`).item(), 3);
    }
    // the LayerNorm affine of each repeated layer ends up on the last layer of its group
    const last = map.lastIndexOf(0);
    if (last > 0) {
      assert.ok(
        grown
          .get(`${L(last)}output.LayerNorm.weight`)!
          .equal(s.model.namedParameters().get(`${L(0)}output.LayerNorm.weight`)!),
      );
      assert.equal(
        grown
          .get(`${L(0)}output.LayerNorm.weight`)!
          .sub(1)
          .abs()
          .max()
          .item(),
        0,
      );
      assert.equal(st(r, `${L(0)}output.LayerNorm.weight.step`).item(), 0);
    }

    // without the transfer: not exact, and by how much
    const naive = growDepth(s.src, n2, 'identity', { lnTransfer: false });
    assert.equal(naive.preserving, false);
    const q = checkPreservation(s.model, naive.model, batch);
    console.log(
      `identity 2->${n2} (LN reset, no transfer): maxRel ${q.maxRelLogitDiff.toExponential(2)}, loss ${q.lossBefore.toFixed(4)} -> ${q.lossAfter.toFixed(4)}`,
    );
    assert.ok(q.maxRelLogitDiff > 1e-3);

    // training continues; after one step every parameter of the new layers gets a gradient
    const t = trainAfter(r, 3);
    assert.ok(t.losses.every(Number.isFinite));
    assertTrained(t);
    dispose(batch);
    disposeResult(r);
    disposeResult(naive);
    s.dispose();
  });
}

test('identity on a factorized FFN zeroes only the B factor, so both factors learn', () => {
  const s = trainedSource({ ...SMALL, ffnRank: 4 });
  const r = growDepth(s.src, 4, 'identity');
  const grown = r.model.namedParameters();
  assert.equal(
    grown
      .get(`${L(1)}output.dense.lowrank_b.weight`)!
      .abs()
      .max()
      .item(),
    0,
  );
  assert.ok(
    grown
      .get(`${L(1)}output.dense.lowrank_a.weight`)!
      .abs()
      .max()
      .item() > 0,
  );
  const batch = makeBatch(4);
  assert.ok(checkPreservation(s.model, r.model, batch).maxRelLogitDiff <= 1e-5);
  const t = trainAfter(r, 3);
  assertTrained(t);
  dispose(batch);
  disposeResult(r);
  s.dispose();
});

test('depth: a smaller target or an unknown operator is a one-line GrowbertError', () => {
  const s = trainedSource({ ...SMALL, numHiddenLayers: 3 });
  assert.throws(() => growDepth(s.src, 2, 'stack'), {
    name: 'GrowbertError',
    message: /numHiddenLayers target 2 is smaller than the source's 3/,
  });
  assert.throws(() => growDepth(s.src, 4, 'copy' as DepthOp), {
    name: 'GrowbertError',
    message: /unknown depth operator 'copy'/,
  });
  s.dispose();
});
