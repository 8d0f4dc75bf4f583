// The pre-LN variant end to end, through the same machinery as BERT: pre-training by a growth
// schedule (identity depth + shared FFN, exact), export in its documented layout, import back,
// and GLUE fine-tuning from the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildClassifier, disposeEncoder, loadRunEncoder } from '../../src/eval/encoder.js';
import { finetuneGlue } from '../../src/eval/finetune.js';
import { exportRunToHf } from '../../src/export/hf.js';
import { importHfToRun } from '../../src/export/hf-import.js';
import { dispose, loadSafetensors, noGrad, tidy } from '../../src/tensor/index.js';
import { parseConfig } from '../../src/train/config.js';
import { MetricsLog } from '../../src/train/metrics-log.js';
import { pretrain } from '../../src/train/pretrain.js';
import { loadRunModel } from '../../src/train/run-dir.js';
import { makeBatch } from '../grow/helpers.js';
import { tmpDir } from '../export/helpers.js';

const root = tmpDir('growbert-prenorm-');
const run = path.join(root, 'run');
const schedule = path.join(root, 'grow.json');
fs.writeFileSync(
  schedule,
  JSON.stringify({
    name: 'prenorm-identity',
    stages: [
      { fraction: 0.5, model: { numHiddenLayers: 1, intermediateSize: 32 } },
      { fraction: 0.5, ops: { depth: 'identity', ffn: 'share' } },
    ],
  }),
);

test('prenorm pre-training by a growth schedule: the growth is exact, the loss falls', async () => {
  const lines: string[] = [];
  await pretrain(
    parseConfig({
      preset: 'tiny',
      model: { arch: 'prenorm', hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64 },
      data: { specs: ['stdlib:moby-dick'], cacheDir: path.join(root, 'cache'), seqLength: 32, vocabSize: 2000 },
      train: {
        batchSize: 8,
        maxSteps: 40,
        lr: 3e-3,
        warmupSteps: 2,
        evalEvery: 20,
        evalBatches: 2,
        logEvery: 1,
        seed: 3,
      },
      runtime: { progress: false },
      schedule,
      out: run,
    }),
    { say: (l) => lines.push(l) },
  );
  const log = new MetricsLog(run).read();
  const grew = log.find((l) => l.event === 'grow');
  assert.ok(grew, lines.join('\n'));
  assert.equal(grew.preserving, true);
  assert.ok(Number(grew.maxRelLogitDiff) <= 1e-6, `grown logits differ by ${grew.maxRelLogitDiff}`);
  const losses = log.filter((l) => l.loss !== undefined).map((l) => Number(l.loss));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b) / xs.length;
  console.log(
    `prenorm schedule: train loss ${mean(losses.slice(0, 5)).toFixed(3)} -> ${mean(losses.slice(-5)).toFixed(3)}`,
  );
  assert.ok(mean(losses.slice(-5)) < mean(losses.slice(0, 5)) - 0.3);
  const { model } = loadRunModel(run);
  assert.equal(model.config.arch, 'prenorm');
  assert.equal(model.config.numHiddenLayers, 2);
  model.dispose();
});

test("prenorm export writes transformers' RobertaPreLayerNorm layout, and import reads it back to the same function", () => {
  const out = path.join(root, 'hf');
  const r = exportRunToHf(run, out);
  assert.match(r.notes.join('\n'), /arch prenorm: written as transformers' roberta-prelayernorm/);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.model_type, 'roberta-prelayernorm');
  assert.deepEqual(cfg.architectures, ['RobertaPreLayerNormForMaskedLM']);
  const { tensors } = loadSafetensors(path.join(out, 'model.safetensors'));
  const names = [...tensors.keys()];
  const pos = tensors.get('roberta_prelayernorm.embeddings.position_embeddings.weight')!;
  assert.equal(pos.shape[0], cfg.max_position_embeddings);
  assert.equal(cfg.max_position_embeddings, r.config.maxPositionEmbeddings + 1, 'shifted by pad_token_id + 1 rows');
  const ours = loadRunModel(run).model;
  const own = ours.namedParameters().get('bert.embeddings.position_embeddings.weight')!;
  assert.ok(
    tidy(() => pos.narrow(0, 1, own.shape[0]!).equal(own)),
    'row p + 1 is our position p',
  );
  ours.dispose();
  dispose(tensors);
  assert.deepEqual(names, [...names].sort());
  for (const n of [
    'roberta_prelayernorm.LayerNorm.weight',
    'roberta_prelayernorm.encoder.layer.1.attention.LayerNorm.bias',
    'roberta_prelayernorm.encoder.layer.0.intermediate.LayerNorm.weight',
    'lm_head.layer_norm.weight',
    'lm_head.bias',
  ])
    assert.ok(names.includes(n), n);
  assert.ok(!names.some((n) => n.includes('output.LayerNorm') || n.startsWith('bert.')), 'no BERT names');

  const back = path.join(root, 'imported');
  importHfToRun(out, back);
  const a = loadRunModel(run).model.eval(),
    b = loadRunModel(back).model.eval();
  assert.equal(b.config.arch, 'prenorm');
  const batch = makeBatch(1, 2, 16, 3, a.config.vocabSize);
  tidy(() =>
    noGrad(() => assert.ok(a.forward(batch).logits.equal(b.forward(batch).logits), "imported logits equal the run's")),
  );
  dispose(batch);
  a.dispose();
  b.dispose();
});

test('prenorm fine-tuning: the classifier adopts the final LayerNorm and trains', () => {
  const enc = loadRunEncoder(run);
  const clf = buildClassifier(enc, { numLabels: 2, seed: 0 });
  assert.ok(clf.namedParameters().has('bert.LayerNorm.weight'));
  assert.ok(!clf.namedParameters().has('cls.predictions.bias'));
  clf.dispose();
  const glue = path.join(root, 'glue');
  fs.mkdirSync(path.join(glue, 'SST-2'), { recursive: true });
  const sst = (n: number, off: number) =>
    [
      'sentence\tlabel',
      ...Array.from(
        { length: n },
        (_, i) =>
          `the whale was ${(i + off) % 2 === 0 ? 'good and fine' : 'bad and dark'} today\t${(i + off) % 2 === 0 ? 1 : 0}`,
      ),
    ].join('\n') + '\n';
  fs.writeFileSync(path.join(glue, 'SST-2', 'train.tsv'), sst(64, 0));
  fs.writeFileSync(path.join(glue, 'SST-2', 'dev.tsv'), sst(8, 1));
  const r = finetuneGlue(enc, { task: 'sst2', dataDir: glue, epochs: 8, lr: 2e-3, batchSize: 8, seqLength: 16 });
  disposeEncoder(enc);
  const losses = r.seeds[0]!.epochs.map((e) => e.trainLoss);
  console.log(
    `prenorm toy SST-2: train loss per epoch ${losses.map((l) => l.toFixed(4)).join(' ')}, dev accuracy ${r.mean.accuracy}`,
  );
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses.at(-1)! < losses[0]! - 0.1, `loss fell: ${losses.join(', ')}`);
});

test('growbert grow on a prenorm run: identity layers are exact, and a target of another arch is refused', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/growbert.js', ...args], { encoding: 'utf8' });
  const out = path.join(root, 'grown');
  const r = cli('grow', '--from', run, '--layers', '4', '--op', 'depth=identity', '--out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout.trim().split('\n').pop()!) as { maxAbsLogitDiff: number };
  assert.equal(rep.maxAbsLogitDiff, 0);
  const grown = loadRunModel(out).model;
  assert.deepEqual([grown.config.arch, grown.config.numHiddenLayers], ['prenorm', 4]);
  grown.dispose();
  const bert = path.join(root, 'bert.json');
  fs.writeFileSync(
    bert,
    JSON.stringify({ arch: 'bert', hiddenSize: 32, numHiddenLayers: 4, numAttentionHeads: 2, intermediateSize: 64 }),
  );
  const bad = cli('grow', '--from', run, '--to-config', bert, '--out', path.join(root, 'never'));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr.trim(), /^[^\n]*is arch 'bert' but the source is 'prenorm'; growth keeps the arch[^\n]*$/);
  assert.ok(!fs.existsSync(path.join(root, 'never')));
});
