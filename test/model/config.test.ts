import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { GrowbertError } from '../../src/io/errors.js';
import { PRESETS, bertConfig, fromHfConfig, presetConfig, toHfConfig } from '../../src/model/index.js';
import { MLM_FIXTURE } from './fixture.js';

test("defaults are BERT's", () => {
  const c = bertConfig({
    vocabSize: 10,
    hiddenSize: 8,
    numHiddenLayers: 1,
    numAttentionHeads: 2,
    intermediateSize: 16,
  });
  assert.equal(c.layerNormEps, 1e-12);
  assert.equal(c.initializerRange, 0.02);
  assert.equal(c.hiddenDropoutProb, 0.1);
  assert.equal(c.hiddenAct, 'gelu');
  assert.equal(c.poolingSize, 1);
  assert.equal(c.ffnRank, 0);
});

test('bad configs are one-line GrowbertErrors that name the numbers and the fix', () => {
  const base = { vocabSize: 10, hiddenSize: 100, numHiddenLayers: 1, numAttentionHeads: 3, intermediateSize: 16 };
  assert.throws(
    () => bertConfig(base),
    (e: Error) => {
      assert.ok(e instanceof GrowbertError);
      assert.match(
        e.message,
        /hiddenSize 100 is not divisible by numAttentionHeads 3; pick a head count that divides it \(e\.g\. 2\)/,
      );
      assert.ok(!e.message.includes('\n'));
      return true;
    },
  );
  assert.throws(
    () => bertConfig({ ...base, numAttentionHeads: 4, numHiddenLayers: 0 }),
    /numHiddenLayers: .*greater than 0/,
  );
  assert.throws(() => bertConfig({ ...base, numAttentionHeads: 4, poolingSize: 1.5 }), /poolingSize: .*integer/);
  assert.throws(
    () => bertConfig({ ...base, numAttentionHeads: 4, ffnRank: 32 }),
    /ffnRank 32 exceeds min\(hiddenSize 100, intermediateSize 16\)/,
  );
  assert.throws(() => bertConfig({ ...base, numAttentionHeads: 4, hiddenAct: 'relu' as 'gelu' }), /hiddenAct/);
  assert.throws(
    () => bertConfig({ ...base, numAttentionHeads: 4, hiddenSzie: 3 } as typeof base),
    /Unrecognized key.*hiddenSzie/,
  );
});

test('presets', () => {
  const t = presetConfig('tiny', 30522);
  assert.deepEqual(
    [t.numHiddenLayers, t.hiddenSize, t.numAttentionHeads, t.intermediateSize, t.maxPositionEmbeddings, t.vocabSize],
    [2, 128, 2, 512, 64, 30522],
  );
  const b = presetConfig('base', 30522, { poolingSize: 2 });
  assert.deepEqual(
    [b.numHiddenLayers, b.hiddenSize, b.numAttentionHeads, b.intermediateSize, b.poolingSize],
    [12, 768, 12, 3072, 2],
  );
  for (const name of Object.keys(PRESETS) as (keyof typeof PRESETS)[]) presetConfig(name, 1000);
  assert.throws(() => presetConfig('huge' as 'tiny', 10), /unknown model preset 'huge'/);
});

test('Hugging Face config.json round trip', () => {
  const hf = JSON.parse(fs.readFileSync(`${MLM_FIXTURE}/config.json`, 'utf8'));
  const c = fromHfConfig(hf);
  assert.deepEqual(
    [c.vocabSize, c.hiddenSize, c.numHiddenLayers, c.numAttentionHeads, c.intermediateSize, c.maxPositionEmbeddings],
    [1000, 64, 2, 4, 256, 128],
  );
  assert.equal(c.layerNormEps, 1e-12);
  const back = toHfConfig(c);
  for (const k of [
    'vocab_size',
    'hidden_size',
    'num_hidden_layers',
    'num_attention_heads',
    'intermediate_size',
    'max_position_embeddings',
    'type_vocab_size',
    'hidden_dropout_prob',
    'attention_probs_dropout_prob',
    'layer_norm_eps',
    'initializer_range',
    'hidden_act',
    'pad_token_id',
    'model_type',
    'architectures',
  ]) {
    assert.deepEqual(back[k], hf[k], k);
  }
  assert.ok(!('growbert_pooling_size' in back));
  const extras = toHfConfig({ ...c, poolingSize: 2, ffnRank: 8 });
  assert.deepEqual([extras.growbert_pooling_size, extras.growbert_ffn_rank], [2, 8]);
  assert.deepEqual(fromHfConfig(extras), { ...c, poolingSize: 2, ffnRank: 8 });
  assert.throws(() => fromHfConfig({ ...hf, model_type: 'roberta' }), /model_type 'roberta'/);
  assert.throws(() => fromHfConfig({ ...hf, hidden_act: 'relu' }), /hidden_act 'relu'/);
});
