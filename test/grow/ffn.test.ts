// FFN operators: share (the paper's), split (Net2Net), factorized (multiply out / grow rank).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_NOISE, checkPreservation, growFfn, type FfnOp } from '../../src/grow/index.js';
import { BertForMaskedLM } from '../../src/model/index.js';
import { dispose, tidy, type Tensor } from '../../src/tensor/index.js';
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

const WIDE = { ...SMALL, intermediateSize: 128 };
const W1 = 'bert.encoder.layer.1.intermediate.dense.weight';
const B1 = 'bert.encoder.layer.1.intermediate.dense.bias';
const W2 = 'bert.encoder.layer.1.output.dense.weight';
const B2 = 'bert.encoder.layer.1.output.dense.bias';

for (const F2 of [256, 384]) {
  test(`share 128 -> ${F2}: tiled weights, W2 / k, moments m / k and v / k^2, exact, source untouched`, () => {
    const k = F2 / 128;
    const s = trainedSource(WIDE);
    const snap = snapshot(s);
    const r = growFfn(s.src, { intermediateSize: F2 }, 'share', { noise: 0 });
    assertUnchanged(s, snap);
    assert.equal(r.preserving, true);
    const src = s.model.namedParameters(),
      g = r.model.namedParameters(),
      so = s.opt.state();
    assert.deepEqual(g.get(W1)!.shape, [F2, 16]);
    assert.deepEqual(g.get(W2)!.shape, [16, F2]);
    assert.equal(r.model.numParameters() - s.model.numParameters(), 2 * (k - 1) * 128 * (2 * 16 + 1));
    tidy(() => {
      assert.ok(g.get(W1)!.equal(src.get(W1)!.repeat(k, 1)));
      assert.ok(g.get(B1)!.equal(src.get(B1)!.repeat(k)));
      assert.ok(diff(g.get(W2)!, src.get(W2)!.repeat(1, k).div(k)) === 0);
      assert.ok(g.get(B2)!.equal(src.get(B2)!));
      // moments: the weights' map (copied -> copied, / k -> m / k, v / k^2); steps inherited
      assert.ok(st(r, `${W1}.exp_avg`).equal(so.get(`${W1}.exp_avg`)!.repeat(k, 1)));
      assert.ok(st(r, `${W1}.exp_avg_sq`).equal(so.get(`${W1}.exp_avg_sq`)!.repeat(k, 1)));
      assert.equal(diff(st(r, `${W2}.exp_avg`), so.get(`${W2}.exp_avg`)!.repeat(1, k).div(k)), 0);
      assert.equal(
        diff(
          st(r, `${W2}.exp_avg_sq`),
          so
            .get(`${W2}.exp_avg_sq`)!
            .repeat(1, k)
            .div(k * k),
        ),
        0,
      );
      assert.equal(st(r, `${W2}.step`).item(), 3);
    });
    const batch = makeBatch(6);
    const p = checkPreservation(s.model, r.model, batch);
    console.log(
      `share 128->${F2}: maxAbs ${p.maxAbsLogitDiff.toExponential(2)}, maxRel ${p.maxRelLogitDiff.toExponential(2)}, params ${p.paramsBefore} -> ${p.paramsAfter}`,
    );
    assert.ok(p.maxRelLogitDiff <= 1e-5);
    // training continues and the duplicated units get gradients
    const t = trainAfter(r, 3, 5, (ps) =>
      tidy(() => {
        // every duplicated unit (rows of W1, columns of W2 beyond the source's 128) gets a gradient
        assert.ok(
          ps
            .get(W1)!
            .grad!.narrow(0, 128, F2 - 128)
            .abs()
            .sum(1)
            .min()
            .item() > 0,
        );
        assert.ok(
          ps
            .get(W2)!
            .grad!.narrow(1, 128, F2 - 128)
            .abs()
            .sum(0)
            .min()
            .item() > 0,
        );
      }),
    );
    assertTrained(t);
    dispose(batch);
    disposeResult(r);
    s.dispose();
  });
}

test('share: without noise the copies never diverge; the default zero-sum noise keeps the function and breaks the symmetry', () => {
  const s = trainedSource(WIDE);
  const batch = makeBatch(8);
  const copiesDiffer = (w: Tensor) => tidy(() => diff(w.narrow(0, 0, 128), w.narrow(0, 128, 128)));
  const plain = growFfn(s.src, { intermediateSize: 256 }, 'share', { noise: 0 });
  trainAfter(plain, 3).opt.dispose();
  // Without noise the copies get the same gradients, so they differ by rounding only: equal rows of a
  // matmul need not round equally where the BLAS blocks them differently (3.7e-9 seen on an AMD EPYC).
  const plainDiff = copiesDiffer(plain.model.namedParameters().get(W1)!);
  console.log(`share without noise: copies differ by ${plainDiff.toExponential(2)} after 3 steps`);
  assert.ok(plainDiff <= 1e-6, `noise-free copies diverged by ${plainDiff}`);

  // no noise option: the default (DEFAULT_NOISE), which must be on
  assert.ok(DEFAULT_NOISE > 0);
  for (const [noisy, what] of [
    [growFfn(s.src, { intermediateSize: 256 }, 'share'), `default ${DEFAULT_NOISE}`],
    [growFfn(s.src, { intermediateSize: 256 }, 'share', { noise: 1, seed: 1 }), '1'],
  ] as const) {
    assert.equal(noisy.preserving, true);
    const p = checkPreservation(s.model, noisy.model, batch);
    console.log(`share 128->256 with noise ${what}: maxRel ${p.maxRelLogitDiff.toExponential(2)}`);
    assert.ok(p.maxRelLogitDiff <= 1e-5);
    // the noise sits on W2's copies and sums to zero over them
    tidy(() => {
      const w2 = noisy.model.namedParameters().get(W2)!;
      assert.ok(diff(w2.narrow(1, 0, 128), w2.narrow(1, 128, 128)) > 0);
      assert.ok(diff(w2.narrow(1, 0, 128).add(w2.narrow(1, 128, 128)), s.model.namedParameters().get(W2)!) < 1e-6);
    });
    assert.equal(copiesDiffer(noisy.model.namedParameters().get(W1)!), 0, 'W1 copies start equal');
    trainAfter(noisy, 3).opt.dispose();
    const noisyDiff = copiesDiffer(noisy.model.namedParameters().get(W1)!);
    console.log(`share with noise ${what}: copies differ by ${noisyDiff.toExponential(2)} after 3 steps`);
    assert.ok(noisyDiff > 100 * Math.max(plainDiff, 1e-8), `copies with noise ${what} did not diverge`);
    disposeResult(noisy);
  }
  dispose(batch);
  disposeResult(plain);
  s.dispose();
});

test('split 128 -> 200 (Net2Net): first units kept, copies sum back, exact, moments follow', () => {
  const s = trainedSource(WIDE);
  const snap = snapshot(s);
  const r = growFfn(s.src, { intermediateSize: 200 }, 'split', { seed: 3 });
  assertUnchanged(s, snap);
  assert.equal(r.preserving, true);
  const src = s.model.namedParameters(),
    g = r.model.namedParameters(),
    so = s.opt.state();
  assert.deepEqual(g.get(W1)!.shape, [200, 16]);
  assert.deepEqual(g.get(W2)!.shape, [16, 200]);
  tidy(() => {
    assert.ok(g.get(W1)!.narrow(0, 0, 128).equal(src.get(W1)!));
    // the divided columns of W2 (and its moments) sum back to the source's
    assert.ok(diff(g.get(W2)!.sum(1), src.get(W2)!.sum(1)) < 1e-6);
    assert.ok(diff(st(r, `${W2}.exp_avg`).sum(1), so.get(`${W2}.exp_avg`)!.sum(1)) < 1e-9);
  });
  const batch = makeBatch(9);
  const p = checkPreservation(s.model, r.model, batch);
  console.log(
    `split 128->200: maxAbs ${p.maxAbsLogitDiff.toExponential(2)}, maxRel ${p.maxRelLogitDiff.toExponential(2)}`,
  );
  assert.ok(p.maxRelLogitDiff <= 1e-5);
  const t = trainAfter(r, 3);
  assertTrained(t);
  // the same seed gives the same map; another seed another one
  const again = growFfn(s.src, { intermediateSize: 200 }, 'split', { seed: 3 });
  const other = growFfn(s.src, { intermediateSize: 200 }, 'split', { seed: 4 });
  tidy(() => {
    assert.ok(
      again.model
        .namedParameters()
        .get(W1)!
        .equal(growFfn(s.src, { intermediateSize: 200 }, 'split', { seed: 3 }).model.namedParameters().get(W1)!),
    );
    assert.ok(!other.model.namedParameters().get(W1)!.equal(again.model.namedParameters().get(W1)!));
  });
  dispose(batch);
  [r, again, other].forEach(disposeResult);
  s.dispose();
});

test('factorized: multiplying out is exact, dense W start fresh; growing the rank is exact', () => {
  const s = trainedSource({ ...WIDE, ffnRank: 4 });
  const snap = snapshot(s);
  const dense = growFfn(s.src, { ffnRank: 0 }, 'factorized');
  assertUnchanged(s, snap);
  assert.equal(dense.preserving, true);
  const g = dense.model.namedParameters();
  assert.deepEqual(g.get(W1)!.shape, [128, 16]);
  assert.ok(!g.has(`${W1.slice(0, -'.weight'.length)}.lowrank_a.weight`));
  assert.equal(st(dense, `${W1}.exp_avg`).abs().max().item(), 0);
  assert.equal(st(dense, `${W1}.step`).item(), 0);
  assert.equal(st(dense, `${B1}.step`).item(), 3);
  const batch = makeBatch(10);
  const p = checkPreservation(s.model, dense.model, batch);
  console.log(
    `factorized rank 4 -> dense: maxRel ${p.maxRelLogitDiff.toExponential(2)}, params ${p.paramsBefore} -> ${p.paramsAfter}`,
  );
  assert.ok(p.maxRelLogitDiff <= 1e-5);

  const rank = growFfn(s.src, { ffnRank: 10 }, 'factorized', { noise: 0.05 });
  assert.deepEqual(
    rank.model.namedParameters().get('bert.encoder.layer.0.output.dense.lowrank_a.weight')!.shape,
    [10, 128],
  );
  const q = checkPreservation(s.model, rank.model, batch);
  console.log(`factorized rank 4 -> 10 (noise 0.05): maxRel ${q.maxRelLogitDiff.toExponential(2)}`);
  assert.ok(q.maxRelLogitDiff <= 1e-5);
  for (const r of [dense, rank]) {
    const t = trainAfter(r, 2);
    assertTrained(t);
    disposeResult(r);
  }
  dispose(batch);
  s.dispose();
});

test('gradients after share: copied W1 rows get the source gradient / k, divided W2 columns the source gradient', () => {
  // the fact behind policy 'grad' (docs/operators.md): moments scale with the gradients, not the weights
  const cfg = { ...WIDE, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 };
  const s = trainedSource(cfg);
  const r = growFfn(s.src, { intermediateSize: 384 }, 'share', { policy: 'grad', noise: 0 });
  const batch = makeBatch(11);
  const grads = (m: BertForMaskedLM) => {
    tidy(() => m.forward(batch).loss!.backward());
    const ps = m.namedParameters();
    return [ps.get(W1)!.grad!, ps.get(W2)!.grad!];
  };
  const [g1, g2] = grads(s.model),
    [h1, h2] = grads(r.model);
  tidy(() => {
    const scale = g1.abs().max().item();
    assert.ok(diff(h1, g1.repeat(3, 1).div(3)) < 1e-5 * scale);
    assert.ok(diff(h2, g2.repeat(1, 3)) < 1e-5 * g2.abs().max().item());
    // policy 'grad' maps the moments the same way
    const so = s.opt.state();
    assert.equal(diff(st(r, `${W1}.exp_avg`), so.get(`${W1}.exp_avg`)!.repeat(3, 1).div(3)), 0);
    assert.equal(diff(st(r, `${W1}.exp_avg_sq`), so.get(`${W1}.exp_avg_sq`)!.repeat(3, 1).div(9)), 0);
    assert.ok(st(r, `${W2}.exp_avg`).equal(so.get(`${W2}.exp_avg`)!.repeat(1, 3)));
  });
  dispose([g1, g2, h1, h2, batch]);
  disposeResult(r);
  s.dispose();
});

test('ffn: bad inputs are one-line GrowbertErrors naming the dimension', () => {
  const s = trainedSource(WIDE);
  const bad = (t: { intermediateSize?: number; ffnRank?: number }, op: FfnOp, re: RegExp) =>
    assert.throws(
      () => growFfn(s.src, t, op),
      (e: Error) => e.name === 'GrowbertError' && re.test(e.message) && !e.message.includes('\n'),
    );
  bad({ intermediateSize: 200 }, 'share', /ffn=share .*intermediateSize 128 -> 200 is not a multiple/);
  bad({ intermediateSize: 64 }, 'split', /intermediateSize target 64 is smaller than the source's 128/);
  bad({ ffnRank: 4 }, 'share', /ffnRank 0 -> 4 needs ffn=factorized/);
  bad({ ffnRank: 0, intermediateSize: 256 }, 'factorized', /ffn=factorized changes only ffnRank/);
  bad({ ffnRank: 4 }, 'factorized', /needs a factorized source/);
  s.dispose();
  const f = trainedSource({ ...WIDE, ffnRank: 8 });
  assert.throws(() => growFfn(f.src, { ffnRank: 4 }, 'factorized'), /ffnRank target 4 is smaller than the source's 8/);
  assert.throws(() => growFfn(f.src, { ffnRank: 40 }, 'factorized'), /ffnRank 40 exceeds min\(hiddenSize 16/);
  f.dispose();
});
