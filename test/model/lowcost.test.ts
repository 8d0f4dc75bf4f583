// The low-cost-stage variants: length pooling and the factorized FFN; and bf16 compute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BertForMaskedLM,
  factorizedToDense,
  meanPool,
  pooledLength,
  toFullRankFFN,
  unmaskedStream,
  type BertConfigInput,
  type MaskedLMBatch,
} from '../../src/model/index.js';
import { dispose, noGrad, randint, tensor, tidy } from '../../src/tensor/index.js';
import { MLM_FIXTURE, loadFixtureModel, maxAbsDiff } from './fixture.js';

const TINY: BertConfigInput = {
  vocabSize: 100,
  hiddenSize: 32,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 64,
  maxPositionEmbeddings: 32,
};

/** Batch of 2 x 11, the second row padded after position 7; 3 masked slots, one of them padding. */
function makeBatch(): MaskedLMBatch {
  return {
    inputIds: randint(1, 100, [2, 11]),
    tokenTypeIds: tensor(
      [
        [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
        [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0],
      ],
      { dtype: 'int64' },
    ),
    attentionMask: tensor(
      [
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
      ],
      { dtype: 'int64' },
    ),
    maskedPositions: tensor(
      [
        [2, 5, 9],
        [1, 6, 0],
      ],
      { dtype: 'int64' },
    ),
    maskedLabels: tensor(
      [
        [11, 12, 13],
        [14, 15, -100],
      ],
      { dtype: 'int64' },
    ),
  };
}

test('meanPool: [CLS] kept, windows of k averaged, short last window, mask = window max', () => {
  tidy(() => {
    // x[0, i] = [i, 10 i], S = 6, k = 2: windows {1,2} {3,4} {5}
    const x = tensor([
      [
        [0, 0],
        [1, 10],
        [2, 20],
        [3, 30],
        [4, 40],
        [5, 50],
      ],
    ]);
    const mask = tensor([[1, 1, 1, 1, 0, 0]], { dtype: 'int64' });
    const p = meanPool(x, mask, 2);
    assert.deepEqual(p.x.shape, [1, 4, 2]);
    assert.deepEqual(p.x.toArray(), [0, 0, 1.5, 15, 3.5, 35, 5, 50]);
    assert.deepEqual(p.mask.toArray(), [1, 1, 1, 0]);
    assert.equal(pooledLength(6, 2), 4);
    // k = 3 over 5 tokens: {1,2,3} {4,5}
    assert.deepEqual(meanPool(x, mask, 3).x.toArray(), [0, 0, 2, 20, 4.5, 45]);
    assert.deepEqual(meanPool(x, mask, 3).mask.toArray(), [1, 1, 0]);
  });
});

test('unmaskedStream: the non-target tokens in order; a row with a padded target drops its last token', () => {
  tidy(() => {
    // x[b, i] = [100 b + i]; row 0 targets 2, 5, 9; row 1 targets 1, 6 and one padded entry (at 0)
    const x = tensor(
      Array.from({ length: 22 }, (_, i) => 100 * Math.floor(i / 11) + (i % 11)),
      { shape: [2, 11, 1] },
    );
    const b = makeBatch();
    const keep = b.attentionMask!;
    const u = unmaskedStream(x, keep, b.maskedPositions!, b.maskedLabels!.ne(-100));
    assert.deepEqual(u.x.shape, [2, 8, 1]);
    assert.deepEqual(u.x.toArray(), [0, 1, 3, 4, 6, 7, 8, 10, 100, 102, 103, 104, 105, 107, 108, 109]);
    assert.deepEqual(u.keep.toArray(), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    dispose(b);
  });
});

test('length pooling: same parameters, [B, P, V] logits, pooled hidden lengths, finite loss, gradients everywhere', () => {
  const plain = new BertForMaskedLM(TINY, { seed: 5 });
  const pooled = new BertForMaskedLM({ ...TINY, poolingSize: 2 }, { seed: 5 });
  const a = plain.namedParameters(),
    b = pooled.namedParameters();
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [n, t] of a) assert.ok(t.equal(b.get(n)!), n);
  const batch = makeBatch();
  tidy(() => {
    const out = pooled.forward(batch, { outputHiddenStates: true });
    assert.deepEqual(out.logits.shape, [2, 3, 100]);
    // embeddings at full length, then the unmasked stream (11 - 3 = 8 tokens) pooled to
    // 1 + ceil(7 / 2) = 5 slots, + 3 masked slots
    assert.deepEqual(
      out.hiddenStates!.map((h) => h.shape[1]),
      [11, 8, 8],
    );
    assert.ok(Number.isFinite(out.loss!.item()));
    out.loss!.backward();
    for (const [n, p] of pooled.namedParameters()) {
      const g = p.grad;
      assert.ok(g && g.abs().sum().item() > 0, `no gradient reached ${n}`);
    }
  });
  assert.throws(() => pooled.forward({ inputIds: batch.inputIds }), /needs maskedPositions/);
  // pooling off in the same model: the plain model's function
  tidy(() =>
    noGrad(() => {
      plain.eval();
      pooled.eval();
      const withPool = pooled.forward(batch).logits;
      assert.ok(maxAbsDiff(withPool, plain.forward(batch).logits) > 1e-4, 'pooling should change the function');
    }),
  );
  dispose(batch);
  plain.dispose();
  pooled.dispose();
});

test('factorized FFN: lowrank names, shapes, gradients; multiplying out gives the same logits', () => {
  const model = new BertForMaskedLM({ ...TINY, ffnRank: 4 }, { seed: 9 });
  const names = model.namedParameters();
  assert.deepEqual(names.get('bert.encoder.layer.0.intermediate.dense.lowrank_a.weight')!.shape, [4, 32]);
  assert.deepEqual(names.get('bert.encoder.layer.0.intermediate.dense.lowrank_b.weight')!.shape, [64, 4]);
  assert.deepEqual(names.get('bert.encoder.layer.0.intermediate.dense.bias')!.shape, [64]);
  assert.deepEqual(names.get('bert.encoder.layer.1.output.dense.lowrank_a.weight')!.shape, [4, 64]);
  assert.deepEqual(names.get('bert.encoder.layer.1.output.dense.lowrank_b.weight')!.shape, [32, 4]);
  assert.ok(!names.has('bert.encoder.layer.0.intermediate.dense.weight'));
  const batch = makeBatch();
  tidy(() => {
    const out = model.forward(batch);
    assert.deepEqual(out.logits.shape, [2, 3, 100]);
    out.loss!.backward();
    for (const [n, p] of names) assert.ok(p.grad && p.grad.abs().sum().item() > 0, n);
    // the product B·A has the dense layer's init scale
    const w = names
      .get('bert.encoder.layer.0.intermediate.dense.lowrank_b.weight')!
      .matmul(names.get('bert.encoder.layer.0.intermediate.dense.lowrank_a.weight')!);
    assert.ok(Math.abs(w.std().item() - 0.02) < 0.005);
  });
  model.eval();
  const dense = toFullRankFFN(model);
  assert.equal(dense.config.ffnRank, 0);
  assert.equal(dense.training, false);
  const plainNames = new BertForMaskedLM(TINY).namedParameters();
  tidy(() => {
    const sd = factorizedToDense(model.stateDict());
    assert.deepEqual([...sd.keys()].sort(), [...plainNames.keys()].sort());
    noGrad(() => {
      const d = maxAbsDiff(model.forward(batch).logits, dense.forward(batch).logits);
      assert.ok(d < 1e-5, `factorized vs multiplied-out logits differ by ${d}`);
    });
  });
  dispose([...plainNames.values()]);
  dispose(batch);
  model.dispose();
  dense.dispose();
});

test('bf16 compute stays close to float32; gradients land in float32', () => {
  const model = loadFixtureModel(MLM_FIXTURE);
  const batch = makeBatch();
  // the same weights with length pooling on (pooling adds no parameters)
  const pooled = new BertForMaskedLM({ ...model.config, poolingSize: 2 }).eval();
  tidy(() => pooled.loadStateDict(model.stateDict()));
  for (const m of [model, pooled]) {
    tidy(() => {
      const f32 = noGrad(() => m.forward(batch));
      const b16 = m.forward(batch, { bf16: true });
      assert.equal(b16.logits.dtype, 'float32');
      const rel = f32.logits.sub(b16.logits).norm().item() / f32.logits.norm().item();
      console.log(
        `bf16 vs fp32 (poolingSize ${m.config.poolingSize}): relative logit diff ${rel.toExponential(2)}, loss ${f32.loss!.item().toFixed(4)} vs ${b16.loss!.item().toFixed(4)}`,
      );
      assert.ok(rel < 5e-2, `relative diff ${rel}`);
      b16.loss!.backward();
      for (const p of m.parameters()) {
        assert.equal(p.grad!.dtype, 'float32');
        p.grad = null;
      }
    });
  }
  pooled.dispose();
  dispose(batch);
  model.dispose();
});
