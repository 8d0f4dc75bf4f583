import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { BertForSequenceClassification } from '../../src/eval/classifier.js';
import { buildClassifier, disposeEncoder, loadHfClassifier, loadHfEncoder } from '../../src/eval/encoder.js';
import { GrowbertError } from '../../src/io/errors.js';
import { BertForMaskedLM } from '../../src/model/index.js';
import { dispose, loadSafetensors, memory, noGrad, randint, tensor, tidy } from '../../src/tensor/index.js';
import { FIXTURES, TINY, fixtureBatch, maxAbsDiff } from '../export/helpers.js';

const fx = (...p: string[]) => path.join(FIXTURES, ...p);

test("bert-tiny-cls: the classifier reproduces Hugging Face's logits", () => {
  const clf = loadHfClassifier(fx('bert-tiny-cls'));
  assert.equal(clf.numLabels, 3);
  assert.equal(clf.training, false);
  const { tensors: ex } = loadSafetensors(fx('bert-tiny-cls', 'expected.safetensors'));
  const d = tidy(() =>
    noGrad(() => {
      const { logits } = clf.forward(fixtureBatch(ex));
      assert.deepEqual(logits.shape, [2, 3]);
      return maxAbsDiff(logits, ex.get('logits')!);
    }),
  );
  console.log(`bert-tiny-cls: max abs logit diff vs Hugging Face ${d.toExponential(2)}`);
  assert.ok(d <= 1e-5, `max abs diff ${d}`);
  // its parameters are exactly the names and shapes of the HF file
  const { tensors } = loadSafetensors(fx('bert-tiny-cls', 'model.safetensors'));
  const params = clf.namedParameters();
  assert.deepEqual([...params.keys()].sort(), [...tensors.keys()].sort());
  for (const [n, t] of params) assert.deepEqual(t.shape, tensors.get(n)!.shape, n);
  dispose([ex, tensors]);
  clf.dispose();
});

test('an HF folder as a fine-tuning start: pooler kept, classifier replaced', () => {
  const enc = loadHfEncoder(fx('bert-tiny-cls'), fx('tokenizer', 'vocab.txt'));
  assert.equal(enc.pooler.size, 2);
  assert.match(enc.notes.join('\n'), /classifier is not used/);
  const clf = buildClassifier(enc, { numLabels: 2, seed: 4 });
  const { tensors } = loadSafetensors(fx('bert-tiny-cls', 'model.safetensors'));
  assert.ok(clf.pooler.weight.equal(tensors.get('bert.pooler.dense.weight')!));
  assert.deepEqual(clf.classifier.weight.shape, [2, 64]);
  dispose(tensors);
  clf.dispose();
  disposeEncoder(enc);
  assert.throws(
    () => loadHfClassifier(fx('bert-tiny-mlm')),
    (e: unknown) => e instanceof GrowbertError && /not a BertForSequenceClassification/.test(e.message),
  );
});

test('losses: cross entropy for classes, MSE for regression; dropout only in training', () => {
  const before = memory().tensors;
  const mk = (numLabels: number) =>
    new BertForSequenceClassification(new BertForMaskedLM({ ...TINY, vocabSize: 50 }, { seed: 2 }), {
      numLabels,
      seed: 2,
      dropout: 0.5,
    });
  const clf = mk(3);
  const reg = mk(1);
  tidy(() => {
    const inputIds = randint(5, 50, [4, 7]);
    const attentionMask = tensor(
      [
        [1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 0, 0, 0],
        [1, 1, 1, 1, 1, 1, 0],
        [1, 1, 0, 0, 0, 0, 0],
      ],
      { dtype: 'int64' },
    );
    const labels = tensor([0, 2, 1, 2], { dtype: 'int64' });
    clf.eval();
    const out = clf.forward({ inputIds, attentionMask, labels });
    const logp = out.logits.logSoftmax(-1).toArray();
    const ce = -[0, 2, 1, 2].reduce((s, l, i) => s + logp[i * 3 + l]!, 0) / 4;
    assert.ok(Math.abs(out.loss!.item() - ce) < 1e-6);
    assert.ok(out.logits.equal(clf.forward({ inputIds, attentionMask }).logits), 'eval is deterministic');
    clf.train();
    assert.ok(!out.logits.equal(clf.forward({ inputIds, attentionMask }).logits), 'dropout acts in training');
    const scores = tensor([0.5, 4.0, 2.5, 1.0]);
    reg.eval();
    const r = reg.forward({ inputIds, attentionMask, labels: scores });
    assert.deepEqual(r.logits.shape, [4, 1]);
    const pred = r.logits.toArray();
    const mse = [0.5, 4.0, 2.5, 1.0].reduce((s, y, i) => s + (pred[i]! - y) ** 2, 0) / 4;
    assert.ok(Math.abs(r.loss!.item() - mse) < 1e-5);
    // gradients reach the encoder, the pooler and the head
    r.loss!.backward();
    for (const name of [
      'bert.embeddings.word_embeddings.weight',
      'bert.encoder.layer.0.attention.self.query.weight',
      'bert.pooler.dense.weight',
      'classifier.weight',
    ]) {
      assert.ok(reg.namedParameters().get(name)!.grad, name);
    }
  });
  clf.dispose();
  reg.dispose();
  assert.equal(memory().tensors, before, 'dispose() frees everything, the unused MLM head included');
});
