// Hidden size and heads (FPI): exact for whole multiples, measured error otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPreservation, growHidden } from '../../src/grow/index.js';
import { dispose, tidy } from '../../src/tensor/index.js';
import {
  SMALL,
  assertUnchanged,
  diff,
  disposeResult,
  makeBatch,
  snapshot,
  st,
  trainAfter,
  trainedSource,
  assertTrained,
} from './helpers.js';

const Q = 'bert.encoder.layer.0.attention.self.query.weight';
const WE = 'bert.embeddings.word_embeddings.weight';
const HEAD_LN = 'cls.predictions.transform.LayerNorm.weight';

for (const [H2, heads, noise] of [
  [32, 4, 0],
  [48, 6, 0],
  [32, 4, 0.05],
] as [number, number, number][]) {
  test(`fpi 16 -> ${H2} (heads 2 -> ${heads}, head size 8)${noise ? ` with noise ${noise}` : ''}: exact, moments mapped`, () => {
    const k = H2 / 16;
    const s = trainedSource(SMALL);
    const snap = snapshot(s);
    const r = growHidden(s.src, { hiddenSize: H2 }, { noise });
    assertUnchanged(s, snap);
    assert.equal(r.preserving, true);
    assert.equal(r.model.config.numAttentionHeads, heads);
    const src = s.model.namedParameters(),
      g = r.model.namedParameters(),
      so = s.opt.state();
    assert.deepEqual(g.get(Q)!.shape, [H2, H2]);
    assert.deepEqual(g.get(WE)!.shape, [60, H2]);
    if (noise === 0) {
      tidy(() => {
        // heads tile like the units (2 -> 4 heads: [0, 1, 0, 1]), so every map is j mod 16
        assert.ok(g.get(WE)!.equal(src.get(WE)!.repeat(1, k)));
        assert.equal(diff(g.get(Q)!, src.get(Q)!.repeat(k, k).div(k)), 0);
        assert.equal(diff(g.get(HEAD_LN)!, src.get(HEAD_LN)!.repeat(k).div(k)), 0);
        assert.equal(diff(st(r, `${Q}.exp_avg`), so.get(`${Q}.exp_avg`)!.repeat(k, k).div(k)), 0);
        assert.equal(
          diff(
            st(r, `${Q}.exp_avg_sq`),
            so
              .get(`${Q}.exp_avg_sq`)!
              .repeat(k, k)
              .div(k * k),
          ),
          0,
        );
        assert.ok(st(r, `${WE}.exp_avg`).equal(so.get(`${WE}.exp_avg`)!.repeat(1, k)));
      });
    } else {
      tidy(() => assert.ok(diff(g.get(Q)!, src.get(Q)!.repeat(k, k).div(k)) > 0, 'no noise on the divided columns'));
    }
    const batch = makeBatch(12);
    const p = checkPreservation(s.model, r.model, batch);
    console.log(
      `fpi 16->${H2} heads 2->${heads} noise ${noise}: maxAbs ${p.maxAbsLogitDiff.toExponential(2)}, maxRel ${p.maxRelLogitDiff.toExponential(2)}, params ${p.paramsBefore} -> ${p.paramsAfter}`,
    );
    assert.ok(p.maxRelLogitDiff <= 1e-5);
    const t = trainAfter(r, 3);
    assertTrained(t);
    dispose(batch);
    disposeResult(r);
    s.dispose();
  });
}

test('fpi 16 -> 24 (heads 2 -> 3): not a multiple, so LayerNorm statistics shift; the error is measured', () => {
  const s = trainedSource(SMALL);
  const r = growHidden(s.src, { numAttentionHeads: 3 }, { seed: 2 });
  assert.equal(r.model.config.hiddenSize, 24);
  assert.equal(r.preserving, false);
  assert.match(r.report.join('\n'), /NOT exact/);
  const batch = makeBatch(13);
  const p = checkPreservation(s.model, r.model, batch);
  console.log(
    `fpi 16->24 heads 2->3 (uneven): maxAbs ${p.maxAbsLogitDiff.toExponential(2)}, maxRel ${p.maxRelLogitDiff.toExponential(2)}, loss ${p.lossBefore.toFixed(4)} -> ${p.lossAfter.toFixed(4)}`,
  );
  assert.ok(p.maxRelLogitDiff > 1e-5 && p.maxRelLogitDiff < 1, `relative error ${p.maxRelLogitDiff}`);
  const t = trainAfter(r, 3);
  assertTrained(t);
  dispose(batch);
  disposeResult(r);
  s.dispose();
});

test('fpi with policy grad: copied units take 1/k of the moments, divided inputs keep them', () => {
  const s = trainedSource(SMALL);
  const r = growHidden(s.src, { hiddenSize: 32 }, { policy: 'grad' });
  const so = s.opt.state();
  tidy(() => {
    assert.equal(diff(st(r, `${WE}.exp_avg`), so.get(`${WE}.exp_avg`)!.repeat(1, 2).div(2)), 0);
    // Q: rows are copied (1/2), columns divided (kept): / 2 once
    assert.equal(diff(st(r, `${Q}.exp_avg_sq`), so.get(`${Q}.exp_avg_sq`)!.repeat(2, 2).div(4)), 0);
    assert.ok(st(r, `${HEAD_LN}.exp_avg`).equal(so.get(`${HEAD_LN}.exp_avg`)!.repeat(2)));
  });
  disposeResult(r);
  s.dispose();
});

test('hidden: a changed head size, a non-multiple of the head size, a smaller target are GrowbertErrors', () => {
  const s = trainedSource(SMALL);
  const bad = (t: { hiddenSize?: number; numAttentionHeads?: number }, re: RegExp) =>
    assert.throws(
      () => growHidden(s.src, t),
      (e: Error) => e.name === 'GrowbertError' && re.test(e.message) && !e.message.includes('\n'),
    );
  bad({ hiddenSize: 32, numAttentionHeads: 2 }, /changes the head size 8; .*use numAttentionHeads 4/);
  bad({ hiddenSize: 20 }, /hiddenSize 20 is not a multiple of the head size 8/);
  bad({ numAttentionHeads: 1 }, /hiddenSize target 8 is smaller than the source's 16/);
  s.dispose();
});
