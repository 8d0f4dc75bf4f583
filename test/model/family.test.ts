// The model-family spec: its layout covers every parameter of every variant with the right axis
// sizes, growth refuses a parameter it does not describe, and the pre-LN variant runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grow } from '../../src/grow/index.js';
import { GrowbertError } from '../../src/io/errors.js';
import {
  ARCHS,
  BertForMaskedLM,
  GROWABLE_KEYS,
  GrowableShapeSchema,
  ModelOverridesSchema,
  bertConfig,
  fromHfConfig,
  getsWeightDecay,
  headSize,
  mapHfName,
  paramLayout,
  toHfConfig,
  toHfName,
  type BertConfig,
  type BertConfigInput,
} from '../../src/model/index.js';
import { initTensor, zeros } from '../../src/nn/index.js';
import { dispose, noGrad, tidy } from '../../src/tensor/index.js';
import { makeBatch } from '../grow/helpers.js';

const BASE: BertConfigInput = {
  vocabSize: 40,
  hiddenSize: 16,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  intermediateSize: 24,
  maxPositionEmbeddings: 16,
};

function axisSize(c: BertConfig, axis: string): number {
  return {
    hidden: c.hiddenSize,
    head: c.hiddenSize,
    attn: c.numAttentionHeads * headSize(c),
    ffn: c.intermediateSize,
    rankI: c.ffnRank,
    rankO: c.ffnRank,
  }[axis]!;
}

for (const arch of ARCHS) {
  for (const ffnRank of [0, 4]) {
    test(`layout covers every parameter of arch ${arch}, ffnRank ${ffnRank}, with matching axis sizes`, () => {
      const m = new BertForMaskedLM({ ...BASE, arch, ffnRank }, { seed: 1 });
      let zeroed = 0;
      for (const [name, t] of m.namedParameters()) {
        const l = paramLayout(m.config, name);
        assert.equal(l.dims.length, t.ndim, `${name}: layout has ${l.dims.length} dims, tensor ${t.ndim}`);
        l.dims.forEach((d, i) => {
          if (d) assert.equal(t.shape[i], axisSize(m.config, d[0]), `${name} dim ${i} (${d[0]})`);
        });
        if (l.layerNorm) assert.ok(name.endsWith('.weight') || name.endsWith('.bias'), name);
        // the optimizer's decay rule agrees with the layout: no decay on LayerNorms and biases
        assert.equal(getsWeightDecay(name), !l.layerNorm && !name.endsWith('.bias'), name);
        if (l.identity === 'zero') zeroed++;
      }
      // identity growth zeroes each layer's attention output (weight, bias) and FFN output (bias and weight or B
      // factor)
      assert.equal(zeroed, 4 * BASE.numHiddenLayers);
      m.dispose();
    });
  }
}

test('a parameter the layout does not describe is an error, and growth refuses it before doing anything', () => {
  assert.throws(
    () => paramLayout(bertConfig(BASE), 'bert.encoder.layer.0.attention.new_gate.weight'),
    (e: Error) => e instanceof GrowbertError && /not described for arch 'bert'.*src\/model\/family\.ts/.test(e.message),
  );
  // post-LN BERT has no final LayerNorm; the pre-LN variant has
  assert.throws(() => paramLayout(bertConfig(BASE), 'bert.LayerNorm.weight'), /not described/);
  assert.equal(paramLayout(bertConfig({ ...BASE, arch: 'prenorm' }), 'bert.LayerNorm.weight').layer, -1);
  class WithExtra extends BertForMaskedLM {
    constructor() {
      super(BASE, { seed: 1 });
      this.param(
        'bert.encoder.layer.0.extra_scale',
        noGrad(() => initTensor([16], zeros, {})),
      );
    }
  }
  const m = new WithExtra();
  for (const target of [{ numHiddenLayers: 3 }, { intermediateSize: 48 }]) {
    assert.throws(() => grow({ model: m }, target), /'bert\.encoder\.layer\.0\.extra_scale' is not described/);
  }
  m.dispose();
});

test('one list of growable keys: the schedule stage schema and the pretrain model overrides derive from the config schema', () => {
  assert.deepEqual(Object.keys(GrowableShapeSchema.shape).sort(), [...GROWABLE_KEYS].sort());
  const overrides = Object.keys(ModelOverridesSchema.shape);
  for (const k of [...GROWABLE_KEYS, 'arch']) assert.ok(overrides.includes(k), k);
  assert.ok(!overrides.includes('vocabSize'));
  assert.throws(() => GrowableShapeSchema.parse({ hiddenSzie: 3 }), /Unrecognized key/);
});

test('prenorm: forward, encode (ends with the final LayerNorm), and an HF config.json round trip in its own model_type', () => {
  // a large init std, so the sublayers' outputs are not negligible next to the residual stream
  const c = bertConfig({ ...BASE, arch: 'prenorm', initializerRange: 0.5 });
  const m = new BertForMaskedLM(c, { seed: 3 }).eval();
  const post = new BertForMaskedLM({ ...c, arch: 'bert' }, { seed: 3 }).eval();
  assert.ok(m.numParameters() > post.numParameters()); // + one LayerNorm per layer pair and the final one
  const batch = makeBatch(2, 2, 10, 2, 40);
  tidy(() => {
    const out = m.forward(batch);
    assert.deepEqual(out.logits.shape, [2, 2, 40]);
    assert.ok(Number.isFinite(out.loss!.item()));
    const h = m.encode(batch);
    // the final LayerNorm at init (1, 0): every position has mean 0 and variance ~1
    assert.ok(h.mean(-1).abs().max().item() < 1e-5);
    assert.ok(Math.abs(h.pow(2).mean().item() - 1) < 1e-3);
    const other = post.forward(batch).logits;
    const rel = out.logits.sub(other).abs().max().item() / other.abs().max().item();
    assert.ok(rel > 1e-2, `prenorm computes another function (relative difference ${rel})`);
  });
  tidy(() => {
    // bf16 matmuls on the pre-LN layers: close to float32, gradients in float32
    const f32 = noGrad(() => m.forward(batch)).logits;
    const b16 = m.forward(batch, { bf16: true });
    const rel = f32.sub(b16.logits).norm().item() / f32.norm().item();
    assert.ok(b16.logits.dtype === 'float32' && rel < 5e-2, `bf16 vs fp32 relative diff ${rel}`);
    b16.loss!.backward();
    for (const p of m.parameters()) {
      assert.equal(p.grad!.dtype, 'float32');
      p.grad = null;
    }
  });
  const pooled = new BertForMaskedLM({ ...c, poolingSize: 2 }, { seed: 3 });
  tidy(() =>
    assert.ok(Number.isFinite(pooled.forward(batch).loss!.item()), 'length pooling runs on the pre-LN layers'),
  );
  pooled.dispose();
  const hf = toHfConfig(c);
  assert.equal(hf.model_type, 'roberta-prelayernorm');
  assert.deepEqual(hf.architectures, ['RobertaPreLayerNormForMaskedLM']);
  assert.equal(hf.max_position_embeddings, c.maxPositionEmbeddings + c.padTokenId + 1, 'RoBERTa position offset');
  assert.deepEqual(fromHfConfig(hf), c);
  // growbert's earlier pre-LN exports (BERT names, no offset) still read
  assert.deepEqual(
    fromHfConfig({ ...hf, model_type: 'growbert-prenorm', max_position_embeddings: c.maxPositionEmbeddings }),
    c,
  );
  assert.equal(toHfConfig(bertConfig(BASE)).model_type, 'bert');
  assert.equal(fromHfConfig(toHfConfig(bertConfig(BASE))).arch, 'bert');
  for (const name of m.namedParameters().keys()) {
    assert.deepEqual(mapHfName(toHfName(name)), { to: 'mlm', name });
    const roberta = toHfName(name, 'roberta-prelayernorm');
    assert.match(roberta, /^(roberta_prelayernorm|lm_head)\./);
    assert.deepEqual(mapHfName(roberta, 'roberta-prelayernorm'), { to: 'mlm', name });
  }
  for (const [ours, theirs, to] of [
    ['bert.pooler.dense.weight', 'classifier.dense.weight', 'pooler'],
    ['classifier.bias', 'classifier.out_proj.bias', 'classifier'],
  ] as const) {
    assert.equal(toHfName(ours, 'roberta-prelayernorm'), theirs);
    assert.deepEqual(mapHfName(theirs, 'roberta-prelayernorm'), { to, name: ours });
  }
  dispose(batch);
  m.dispose();
  post.dispose();
});
