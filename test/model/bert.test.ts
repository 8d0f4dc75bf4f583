import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BertForMaskedLM, presetConfig, type BertConfigInput } from '../../src/model/index.js';
import {
  dispose,
  loadSafetensors,
  memory,
  noGrad,
  randint,
  tensor,
  tidy,
  type Tensor,
} from '../../src/tensor/index.js';
import { MLM_FIXTURE, loadFixtureModel, maxAbsDiff } from './fixture.js';

const TINY: BertConfigInput = {
  vocabSize: 100,
  hiddenSize: 32,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 64,
  maxPositionEmbeddings: 32,
};

test('matches Hugging Face BertForMaskedLM (logits and hidden states) to 1e-5', () => {
  const model = loadFixtureModel(MLM_FIXTURE);
  const { tensors: ex } = loadSafetensors(`${MLM_FIXTURE}/expected.safetensors`);
  tidy(() =>
    noGrad(() => {
      const out = model.forward(
        {
          inputIds: ex.get('input_ids')!,
          tokenTypeIds: ex.get('token_type_ids')!,
          attentionMask: ex.get('attention_mask')!,
        },
        { outputHiddenStates: true },
      );
      assert.deepEqual(out.logits.shape, [2, 16, 1000]);
      const diffs: Record<string, number> = { logits: maxAbsDiff(out.logits, ex.get('logits')!) };
      assert.equal(out.hiddenStates!.length, 3);
      out.hiddenStates!.forEach((h, i) => {
        diffs[`hidden_states.${i}`] = maxAbsDiff(h, ex.get(`hidden_states.${i}`)!);
      });
      console.log('max abs diff vs Hugging Face:', diffs);
      for (const [k, d] of Object.entries(diffs)) assert.ok(d <= 1e-5, `${k}: max abs diff ${d} > 1e-5`);
    }),
  );
  dispose(ex);
  model.dispose();
});

test('parameter names and shapes are exactly those of the Hugging Face file', () => {
  const { tensors } = loadSafetensors(`${MLM_FIXTURE}/model.safetensors`);
  const model = new BertForMaskedLM({
    vocabSize: 1000,
    hiddenSize: 64,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    intermediateSize: 256,
    maxPositionEmbeddings: 128,
  });
  const params = model.namedParameters();
  assert.equal(params.size, 42);
  assert.deepEqual([...params.keys()].sort(), [...tensors.keys()].sort());
  for (const [n, t] of params) assert.deepEqual(t.shape, tensors.get(n)!.shape, n);
  let count = 0;
  for (const t of tensors.values()) count += t.numel;
  assert.equal(model.numParameters(), count);
  // the decoder is tied: no separate parameter, and the word embedding is listed once
  assert.ok(![...params.keys()].some((n) => n.includes('decoder')));
  dispose(tensors);
  model.dispose();
});

test('masked-only head equals the full logits gathered at the masked positions', () => {
  const model = new BertForMaskedLM(TINY, { seed: 3 }).eval();
  tidy(() =>
    noGrad(() => {
      const inputIds = randint(0, 100, [2, 12]);
      const attentionMask = tensor(
        [
          [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
          [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
        ],
        { dtype: 'int64' },
      );
      const maskedPositions = tensor(
        [
          [1, 5, 11],
          [2, 3, 0],
        ],
        { dtype: 'int64' },
      );
      const maskedLabels = tensor(
        [
          [4, 5, 6],
          [7, 8, -100],
        ],
        { dtype: 'int64' },
      );
      const full = model.forward({ inputIds, attentionMask }).logits;
      const part = model.forward({ inputIds, attentionMask, maskedPositions, maskedLabels });
      assert.deepEqual(part.logits.shape, [2, 3, 100]);
      const rows = [
        [1, 5, 11],
        [2, 3, 0],
      ];
      for (let b = 0; b < 2; b++) {
        for (let j = 0; j < 3; j++) {
          assert.ok(maxAbsDiff(part.logits.select(0, b).select(0, j), full.select(0, b).select(0, rows[b][j])) < 1e-6);
        }
      }
      // the loss is the mean over the 5 real labels
      const logp = part.logits.logSoftmax(-1).reshape(6, 100).toArray();
      const labels = [4, 5, 6, 7, 8];
      const expected = -labels.reduce((s, l, i) => s + logp[i * 100 + l], 0) / 5;
      assert.ok(Math.abs(part.loss!.item() - expected) < 1e-5);
    }),
  );
  model.dispose();
});

test('BERT init: normal(0, 0.02) weights and embeddings, zero biases, LayerNorm 1 / 0', () => {
  const model = new BertForMaskedLM(presetConfig('tiny', 1000), { seed: 7 });
  tidy(() => {
    for (const [n, t] of model.namedParameters()) {
      const mean = t.mean().item(),
        std = t.numel > 1 ? t.std().item() : 0;
      if (n.endsWith('LayerNorm.weight')) assert.ok(t.eq(1).all().item(), n);
      else if (n.endsWith('bias')) assert.ok(t.eq(0).all().item(), n);
      else {
        // within 5 standard errors of the sample mean / sample std
        assert.ok(Math.abs(std - 0.02) < (5 * 0.02) / Math.sqrt(2 * t.numel), `${n}: std ${std}`);
        assert.ok(Math.abs(mean) < (5 * 0.02) / Math.sqrt(t.numel), `${n}: mean ${mean}`);
      }
      assert.ok(t.requiresGrad && t.isLeaf, n);
    }
  });
  // same seed, same weights
  const again = new BertForMaskedLM(presetConfig('tiny', 1000), { seed: 7 });
  const a = model.namedParameters(),
    b = again.namedParameters();
  for (const [n, t] of a) assert.ok(t.equal(b.get(n)!), n);
  model.dispose();
  again.dispose();
});

test('forward + backward inside tidy frees every intermediate; parameters survive', () => {
  const model = new BertForMaskedLM(TINY, { seed: 1 });
  const inputIds = randint(0, 100, [2, 8]);
  const maskedPositions = tensor(
    [
      [1, 2],
      [3, 4],
    ],
    { dtype: 'int64' },
  );
  const maskedLabels = tensor(
    [
      [5, 6],
      [7, -100],
    ],
    { dtype: 'int64' },
  );
  const step = () =>
    tidy(() => {
      model.forward({ inputIds, maskedPositions, maskedLabels }).loss!.backward();
      for (const p of model.parameters()) p.grad = null;
    });
  step();
  const before = memory().tensors;
  step();
  step();
  assert.equal(memory().tensors, before);
  assert.ok(model.parameters().every((p) => !p.isDisposed));
  dispose([inputIds, maskedPositions, maskedLabels]);
  model.dispose();
});

test('dropout is active in train mode only', () => {
  const model = new BertForMaskedLM({ ...TINY, hiddenDropoutProb: 0.5 }, { seed: 2 });
  const inputIds = randint(0, 100, [1, 8]);
  tidy(() =>
    noGrad(() => {
      const run = () => model.forward({ inputIds }).logits;
      model.train();
      assert.ok(maxAbsDiff(run(), run()) > 1e-4);
      model.eval();
      assert.equal(maxAbsDiff(run(), run()), 0);
    }),
  );
  inputIds.dispose();
  model.dispose();
});

test('loadStateDict: strict errors name the problem; non-strict reports; shapes are checked', () => {
  const model = new BertForMaskedLM(TINY, { seed: 1 });
  const other = new BertForMaskedLM(TINY, { seed: 2 });
  const sd = other.stateDict();
  sd.set('cls.predictions.decoder.weight', sd.get('bert.embeddings.word_embeddings.weight')!); // tied alias: skipped
  model.loadStateDict(sd);
  for (const [n, t] of model.namedParameters()) assert.ok(t.equal(other.namedParameters().get(n)!), n);
  const partial = new Map([...sd].filter(([n]) => !n.startsWith('cls.')));
  partial.set('pooler.dense.weight', sd.get('cls.predictions.transform.dense.weight')!);
  assert.throws(() => model.loadStateDict(partial), /missing 5 .*unexpected 1 .*strict: false/);
  const r = model.loadStateDict(partial, { strict: false });
  assert.equal(r.missing.length, 5);
  assert.deepEqual(r.unexpected, ['pooler.dense.weight']);
  const bad = new Map(sd);
  bad.set('cls.predictions.bias', tensor([1, 2, 3]));
  assert.throws(() => model.loadStateDict(bad), /shape \[3\] but the model's is \[100\]/);
  dispose([...sd.values(), bad.get('cls.predictions.bias') as Tensor]);
  model.dispose();
  other.dispose();
});
