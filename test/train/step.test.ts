// The one training step: micro-batch accumulation weights every prediction target equally, and
// the gradient-sync hook is called where data parallelism needs it, with the same result as one
// process when the ranks are identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BertForMaskedLM } from '../../src/model/index.js';
import { cat, dispose, manualSeed, randint, tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { createOptimizer } from '../../src/train/optim/index.js';
import { trainStep, type GradSync } from '../../src/train/step.js';
import type { ModelBatch } from '../../src/train/data.js';

const config = {
  vocabSize: 50,
  hiddenSize: 16,
  numHiddenLayers: 1,
  numAttentionHeads: 2,
  intermediateSize: 32,
  maxPositionEmbeddings: 16,
  hiddenDropoutProb: 0,
  attentionProbsDropoutProb: 0,
};

/** A batch of `rows` sequences of 8 tokens with 3 prediction slots each, `targets` of them real. */
function batch(rows: number, targets: number[]): ModelBatch {
  return tidy(() => {
    const labels = randint(5, 50, [rows, 3]);
    const keep = tensor(
      targets.flatMap((n) => [0, 1, 2].map((j) => (j < n ? 1 : 0))),
      { dtype: 'int64' },
    ).reshape(rows, 3);
    return {
      inputIds: randint(5, 50, [rows, 8]),
      attentionMask: randint(1, 2, [rows, 8]),
      maskedPositions: tensor([1, 3, 5], { dtype: 'int64' }).reshape(1, 3).expand(rows, 3).contiguous(),
      maskedLabels: labels.mul(keep).add(keep.sub(1).mul(100)),
      tokens: rows * 8,
    };
  });
}

const join = (a: ModelBatch, b: ModelBatch): ModelBatch =>
  tidy(() => ({
    inputIds: cat([a.inputIds, b.inputIds], 0),
    attentionMask: cat([a.attentionMask!, b.attentionMask!], 0),
    maskedPositions: cat([a.maskedPositions!, b.maskedPositions!], 0),
    maskedLabels: cat([a.maskedLabels!, b.maskedLabels!], 0),
    tokens: a.tokens + b.tokens,
  }));

function step(micro: ModelBatch[], o: { sync?: GradSync; totalTargets?: number; extra?: number[] } = {}) {
  const model = new BertForMaskedLM(config, { seed: 3 });
  const optimizer = createOptimizer('adamw', model.namedParameters(), { lr: 1e-3 });
  try {
    return trainStep(model, optimizer, micro, { lr: 1e-3, clipNorm: 1e9, bf16: false, ...o });
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

const near = (a: number, b: number, tol = 1e-5) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('two micro-batches with unequal target counts give the loss and gradient of one batch of both', () => {
  manualSeed(1);
  // 6 targets in the first micro-batch, 1 in the second: a plain mean of the two losses would differ.
  const a = batch(2, [3, 3]),
    b = batch(1, [1]);
  const both = join(a, b);
  const split = step([a, b]);
  const whole = step([both]);
  near(split.loss, whole.loss);
  near(split.gradNorm, whole.gradNorm);
  assert.ok(split.gradNorm > 0);
  assert.equal(split.extra, undefined);
  dispose([a, b, both]);
});

test('a micro-batch without targets contributes nothing (no NaN)', () => {
  manualSeed(2);
  const a = batch(2, [2, 1]),
    none = batch(1, [0]);
  const withEmpty = step([a, none]);
  const alone = step([a]);
  near(withEmpty.loss, alone.loss);
  near(withEmpty.gradNorm, alone.gradNorm);
  dispose([a, none]);
});

test('the sync hook: called before the last backward; two identical ranks equal one process', () => {
  manualSeed(3);
  const a = batch(2, [3, 2]),
    b = batch(2, [1, 3]);
  const calls: string[] = [];
  // Two ranks holding the same rows: the reducer's average of equal gradients is the gradient
  // itself, and every sum is twice this rank's value.
  const sync: GradSync = {
    worldSize: 2,
    beforeBackward: (loss: Tensor) => {
      calls.push(`before backward (loss ${loss.shape.length === 0 ? 'scalar' : loss.shape})`);
    },
    sum: (v: number[]) => {
      calls.push('sum');
      return v.map((x) => 2 * x);
    },
  };
  const one = step([a, b]);
  const synced = step([a, b], { sync, totalTargets: 2 * 9, extra: [1, 0] });
  assert.deepEqual(calls, ['before backward (loss scalar)', 'sum']);
  near(synced.loss, one.loss);
  near(synced.gradNorm, one.gradNorm);
  assert.deepEqual(synced.extra, [2, 0]);
  dispose([a, b]);
});
