// The folder layouts import reads and export writes beyond one BertForMaskedLM file, checked
// without Python (the real libraries' side is test/export/interop.test.ts): sharded safetensors
// through the index, an untied decoder refused, the pytorch_model.bin hint, and a pre-LN model
// transformers' RobertaPreLayerNorm cannot compute refused at export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from '../../src/io/errors.js';
import { exportRunToHf } from '../../src/export/hf.js';
import { importHfToRun } from '../../src/export/hf-import.js';
import { dispose, loadSafetensors, noGrad, saveSafetensors, tidy, type Tensor } from '../../src/tensor/index.js';
import { loadRunModel } from '../../src/train/run-dir.js';
import { makeBatch } from '../grow/helpers.js';
import { TINY, makeRun, smallTokenizer, tmpDir } from './helpers.js';

const is = (re: RegExp) => (e: unknown) =>
  e instanceof GrowbertError && re.test(e.message) && !e.message.includes('\n');

/** An export of a seeded tiny run (`arch`), and the run. */
function exported(arch: 'bert' | 'prenorm' = 'bert', hiddenAct = 'gelu'): { root: string; run: string; hf: string } {
  const root = tmpDir('growbert-layouts-');
  const tok = smallTokenizer();
  const run = path.join(root, 'run');
  makeRun(run, { ...TINY, arch, hiddenAct: hiddenAct as 'gelu', vocabSize: tok.vocabSize }, tok).dispose();
  const hf = path.join(root, 'hf');
  if (hiddenAct === 'gelu') exportRunToHf(run, hf);
  return { root, run, hf };
}

function sameLogits(a: string, b: string): void {
  const x = loadRunModel(a).model.eval(),
    y = loadRunModel(b).model.eval();
  const batch = makeBatch(1, 2, 12, 3, x.config.vocabSize);
  tidy(() => noGrad(() => assert.ok(x.forward(batch).logits.equal(y.forward(batch).logits), 'equal logits')));
  dispose(batch);
  x.dispose();
  y.dispose();
}

/** Rewrites `dir`'s model.safetensors as `n` shards plus model.safetensors.index.json, as save_pretrained does. */
function shard(dir: string, n: number, extra: Map<string, Tensor> = new Map()): void {
  const { tensors } = loadSafetensors(path.join(dir, 'model.safetensors'));
  for (const [k, t] of extra) tensors.set(k, t);
  const names = [...tensors.keys()];
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const file = `model-0000${i + 1}-of-0000${n}.safetensors`;
    const part = names.filter((_, j) => j % n === i);
    saveSafetensors(path.join(dir, file), new Map(part.map((k) => [k, tensors.get(k)!])), { format: 'pt' });
    for (const k of part) weightMap[k] = file;
  }
  fs.writeFileSync(
    path.join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: weightMap }),
  );
  fs.rmSync(path.join(dir, 'model.safetensors'));
  dispose(tensors);
}

test('sharded safetensors import through model.safetensors.index.json; a missing shard is one line', () => {
  const { root, run, hf } = exported();
  shard(hf, 3);
  const back = path.join(root, 'back');
  importHfToRun(hf, back);
  sameLogits(run, back);
  fs.rmSync(path.join(hf, 'model-00002-of-00003.safetensors'));
  assert.throws(
    () => importHfToRun(hf, path.join(root, 'x')),
    is(/lists model-00002-of-00003\.safetensors, which is not in/),
  );
  assert.ok(!fs.existsSync(path.join(root, 'x')));
});

test('an untied decoder that differs is refused in one line; an equal one imports', () => {
  const { root, run, hf } = exported();
  const { tensors } = loadSafetensors(path.join(hf, 'model.safetensors'));
  const word = tensors.get('bert.embeddings.word_embeddings.weight')!;
  const equal = tidy(() => word.clone());
  const other = tidy(() => word.add(0.5));
  dispose(tensors);
  shard(hf, 1, new Map([['cls.predictions.decoder.weight', equal]]));
  importHfToRun(hf, path.join(root, 'equal'));
  sameLogits(run, path.join(root, 'equal'));
  const untied = path.join(root, 'hf-untied');
  fs.cpSync(path.join(root, 'hf'), untied, { recursive: true });
  fs.rmSync(path.join(untied, 'model-00001-of-00001.safetensors'));
  fs.rmSync(path.join(untied, 'model.safetensors.index.json'));
  const t = loadSafetensors(path.join(root, 'hf', 'model-00001-of-00001.safetensors')).tensors;
  t.get('cls.predictions.decoder.weight')!.dispose();
  t.set('cls.predictions.decoder.weight', other);
  saveSafetensors(path.join(untied, 'model.safetensors'), t, { format: 'pt' });
  dispose(t); // `equal` went with the shards' tensors
  const out = path.join(root, 'untied');
  assert.throws(() => importHfToRun(untied, out), is(/untied MLM decoder weight .*base_model\.save_pretrained/));
  assert.ok(!fs.existsSync(out));
});

test('a folder with only pytorch_model.bin gets the transformers 5 hint', () => {
  const { root, hf } = exported();
  fs.renameSync(path.join(hf, 'model.safetensors'), path.join(hf, 'pytorch_model.bin'));
  assert.throws(
    () => importHfToRun(hf, path.join(root, 'x')),
    is(
      /no model\.safetensors or model\.safetensors\.index\.json \(only pytorch_model\.bin\); .*save_pretrained it again/,
    ),
  );
});

test('pre-LN: export refuses what RobertaPreLayerNorm would compute differently; the legacy layout still imports', () => {
  const { root, run } = exported('prenorm', 'gelu_new');
  assert.throws(() => exportRunToHf(run, path.join(root, 'hf')), is(/hidden_act 'gelu_new'.*erf gelu/));
  assert.ok(!fs.existsSync(path.join(root, 'hf')));
  // growbert's earlier pre-LN layout: BERT names, model_type growbert-prenorm, no position offset
  const legacy = path.join(root, 'legacy');
  fs.mkdirSync(legacy);
  const { model } = loadRunModel(run);
  const sd = model.stateDict();
  saveSafetensors(path.join(legacy, 'model.safetensors'), sd, { format: 'pt' });
  const c = model.config;
  fs.writeFileSync(
    path.join(legacy, 'config.json'),
    JSON.stringify({
      model_type: 'growbert-prenorm',
      architectures: ['GrowbertPreLNForMaskedLM'],
      vocab_size: c.vocabSize,
      hidden_size: c.hiddenSize,
      num_hidden_layers: c.numHiddenLayers,
      num_attention_heads: c.numAttentionHeads,
      intermediate_size: c.intermediateSize,
      max_position_embeddings: c.maxPositionEmbeddings,
      hidden_act: 'gelu_new',
    }),
  );
  fs.cpSync(path.join(run, 'tokenizer', 'tokenizer.json'), path.join(legacy, 'tokenizer.json'));
  dispose(sd);
  model.dispose();
  importHfToRun(legacy, path.join(root, 'back'));
  sameLogits(run, path.join(root, 'back'));
});
