// The native calls of one training step, pinned: on a GPU every call is host time the device may
// wait for, so a change that adds calls to a step should be seen here (and `growbert bench
// --profile` shows what they cost). Before issue 26 a step of this model made 311 calls (141 in
// clipping, the optimizer and clearing gradients, a few per parameter; 164 in the forward, 75 of
// them asking a tensor's dtype); now 92, 4 of them the optimizer's. A change that lowers a count
// should lower its pin too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BertForMaskedLM, bertConfig } from '../../src/model/index.js';
import { dispose, manualSeed, nativeCalls, randint, recordPhases, tidy, zeros } from '../../src/tensor/index.js';
import { createOptimizer } from '../../src/train/optim/index.js';
import { trainStep } from '../../src/train/step.js';
import type { ModelBatch } from '../../src/train/data.js';

// Calls per phase of one step of a 2-layer BERT with dropout, fp32, masked-only head.
const PINNED = { forward: 83, backward: 1, optimizer: 4, bookkeeping: 4 };

function setup() {
  manualSeed(0);
  const config = bertConfig({
    vocabSize: 100,
    hiddenSize: 32,
    numHiddenLayers: 2,
    numAttentionHeads: 2,
    intermediateSize: 64,
    maxPositionEmbeddings: 16,
  });
  const model = new BertForMaskedLM(config, { seed: 0 });
  const optimizer = createOptimizer('adamw', model.namedParameters(), { lr: 1e-3 });
  const batch: ModelBatch = tidy(() => ({
    inputIds: randint(5, 100, [2, 16]),
    tokenTypeIds: zeros([2, 16], { dtype: 'int64' }),
    attentionMask: zeros([2, 16], { dtype: 'int64' }).add(1),
    maskedPositions: randint(0, 16, [2, 3]),
    maskedLabels: randint(5, 100, [2, 3]),
    tokens: 32,
  }));
  const step = () => trainStep(model, optimizer, [batch], { lr: 1e-3, clipNorm: 1, bf16: false });
  return { model, optimizer, batch, step };
}

test('one training step of a 2-layer BERT makes no more native calls than pinned, per phase', () => {
  const { model, optimizer, batch, step } = setup();
  step(); // the first step plans the optimizer's groups
  const { phases } = recordPhases(step);
  const got = Object.fromEntries([...phases].map(([p, s]) => [p, s.calls]));
  for (const [phase, pin] of Object.entries(PINNED))
    assert.ok(
      got[phase] <= pin,
      `${phase}: ${got[phase]} native calls in one step, pinned at ${pin} (all: ${JSON.stringify(got)})`,
    );
  // the optimizer's work does not grow with the number of parameters
  assert.ok(model.namedParameters().size > 30);
  optimizer.dispose();
  model.dispose();
  dispose(batch);
});

test('nativeCalls counts every addon call and not itself', () => {
  const a = nativeCalls();
  const b = nativeCalls();
  assert.equal(b, a);
  tidy(() => zeros([2]).add(1));
  assert.equal(nativeCalls(), b + 2);
});
