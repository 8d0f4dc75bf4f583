// growbert's files against the real Python libraries (test/python/interop.py, in the interpreter
// test/helpers/python.ts finds): exports loaded by transformers' from_pretrained / pipeline give our
// logits (post-LN, grown, factorized, pooled-then-grown, pre-LN); folders transformers'
// save_pretrained writes (sharded, untied, bf16, classification, pre-LN) import to its logits;
// tokenizers agree both ways (cased too); TensorBoard's EventAccumulator reads a growth run as
// metrics.jsonl says; Parquet written by `datasets` reads with a dotted --text-field; pairs truncate as
// transformers' longest_first does; tokens named like Object properties keep their ids both ways.
// Skips, with the reason, only where the interpreter or a module is missing.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from '../../src/io/errors.js';
import { exportRunToHf } from '../../src/export/hf.js';
import { importHfToRun } from '../../src/export/hf-import.js';
import { loadHfClassifier } from '../../src/eval/encoder.js';
import { dispose, noGrad, tensor, tidy } from '../../src/tensor/index.js';
import { parseConfig } from '../../src/train/config.js';
import { pretrain } from '../../src/train/pretrain.js';
import { pythonMissing, startPython } from '../helpers/python.js';
import { tinyRunConfig, writeSchedule } from '../helpers/tiny-run.js';
import { TINY, makeRun, smallTokenizer, tmpDir } from './helpers.js';
import { IDS, interopChecks, maxAbs, ourLogits, type PyResult } from './interop-checks.js';

const skip = pythonMissing(['torch', 'transformers', 'tokenizers', 'tensorboard', 'datasets', 'pyarrow']);
const root = tmpDir('growbert-interop-');
const cacheDir = path.join(root, 'cache');
const at = (...p: string[]) => path.join(root, ...p);

/** A tiny pre-training run (a few steps) with an optional growth schedule. */
async function trainRun(name: string, model: object, stages?: object[]): Promise<string> {
  const out = at(name);
  const schedule = stages && writeSchedule(root, `${name}-schedule`, { name, stages: stages as never });
  const cfg = tinyRunConfig(out, cacheDir, {
    model,
    train: { maxSteps: 4, evalEvery: 2, checkpointEvery: 100 },
    ...(schedule && { schedule }),
  });
  const t0 = Date.now();
  await pretrain(parseConfig(cfg), { say: () => {} });
  console.log(`${name} run: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}

let py: PyResult[] = [];
let jobs: Record<string, unknown>[] = [];

before(async () => {
  if (skip) return;
  const python = startPython<PyResult[]>('interop.py'); // imports torch and transformers while we train
  const tok = smallTokenizer();
  makeRun(at('post'), { ...TINY, vocabSize: tok.vocabSize }, tok, 2).dispose();
  makeRun(at('pre'), { ...TINY, arch: 'prenorm', vocabSize: tok.vocabSize }, tok, 3).dispose();
  const layer1 = { numHiddenLayers: 1 };
  await trainRun('grown', {}, [
    { name: 'small', steps: 2, model: layer1 },
    { name: 'target', steps: 2, ops: { depth: 'stack', ffn: 'share' } },
  ]);
  await trainRun('pooled', {}, [
    { name: 'pooled', steps: 2, model: { ...layer1, poolingSize: 2 } },
    { name: 'target', steps: 2, ops: { depth: 'stack' } },
  ]);
  await trainRun('factorized', { ffnRank: 8 });
  await trainRun('prenorm', { arch: 'prenorm' }, [
    { name: 'small', steps: 2, model: layer1 },
    { name: 'target', steps: 2, ops: { depth: 'identity', ffn: 'share' } },
  ]);
  ({ jobs } = interopChecks.prepare(root, IDS, { exportRunToHf }));
  const t0 = Date.now();
  py = await python.run(jobs);
  const slow = jobs.map((j, i) => `${String(j.id)} ${py[i]!.seconds}`).join(', ');
  console.log(`python: ${((Date.now() - t0) / 1000).toFixed(1)} s (${slow}); ${JSON.stringify(py[0])}`);
  for (const [i, r] of py.entries())
    assert.ok(!r.error, `python job ${JSON.stringify(jobs[i]).slice(0, 200)}: ${r.error}`);
});

const result = (id: string): PyResult => {
  const i = jobs.findIndex((j) => j.id === id);
  assert.ok(i >= 0, `no python job ${id}`);
  return py[i]!;
};

for (const run of ['post', 'grown', 'pooled', 'factorized', 'pre', 'prenorm']) {
  test(`export of the ${run} run: transformers' AutoModelForMaskedLM gives our logits`, { skip }, () => {
    const r = result(`logits:${run}`);
    const prenorm = run.startsWith('pre');
    assert.equal(r.class, prenorm ? 'RobertaPreLayerNormForMaskedLM' : 'BertForMaskedLM');
    assert.deepEqual([r.missing_keys, r.unexpected_keys, r.mismatched_keys], [[], [], []]);
    const d = maxAbs(ourLogits(at(run)), r.logits as number[]);
    console.log(`${run}: max abs logit diff vs transformers ${d.toExponential(2)}`);
    assert.ok(d < 1e-4, `${run}: logits differ by ${d}`);
  });
}

test('pre-LN export: pipeline(fill-mask) and AutoModelForSequenceClassification load it as ours', { skip }, () => {
  const fill = result('fill:prenorm');
  assert.equal(fill.class, 'RobertaPreLayerNormForMaskedLM');
  interopChecks.fillMaskMatches(at('prenorm'), fill);
  const clf = result('clf:prenorm');
  assert.equal(clf.class, 'RobertaPreLayerNormForSequenceClassification');
  assert.ok(
    (clf.unexpected_keys as string[]).every((k) => k.startsWith('lm_head.')),
    `only the MLM head is unused: ${clf.unexpected_keys}`,
  );
  assert.ok(
    (clf.missing_keys as string[]).every((k) => k.startsWith('classifier.')),
    `only the new head is missing: ${clf.missing_keys}`,
  );
  assert.ok((clf.max_abs_diff as number) < 1e-6, `encoder differs from the masked LM's by ${clf.max_abs_diff}`);
  // BertForMaskedLM, asked for explicitly, finds none of its encoder: it cannot pass for ours
  const bert = result('bert-class:prenorm');
  assert.ok(
    (bert.missing_keys as string[]).some((k) => k.startsWith('bert.encoder.')),
    `${bert.missing_keys}`,
  );
});

for (const kind of ['sharded', 'bf16', 'untied-equal', 'prenorm']) {
  test(`save_pretrained (${kind}) -> growbert import -> the same logits`, { skip }, () => {
    const r = result(`save:${kind}`);
    if (kind === 'sharded') assert.ok((r.files as string[]).includes('model.safetensors.index.json'), `${r.files}`);
    const run = at(`imported-${kind}`);
    importHfToRun(at(`saved-${kind}`), run);
    const d = maxAbs(ourLogits(run), r.logits as number[]);
    console.log(`import ${kind}: max abs logit diff ${d.toExponential(2)}`);
    assert.ok(d < 1e-4, `${kind}: logits differ by ${d}`);
  });
}

test('save_pretrained with an untied decoder: import refuses in one line, writes nothing', { skip }, () => {
  const out = at('imported-untied');
  assert.throws(
    () => importHfToRun(at('saved-untied'), out),
    (e: unknown) => e instanceof GrowbertError && /untied MLM decoder/.test(e.message) && !e.message.includes('\n'),
  );
  assert.ok(!fs.existsSync(out));
});

for (const arch of ['bert', 'prenorm']) {
  test(`save_pretrained ${arch} sequence classifier -> growbert's classifier gives its logits`, { skip }, () => {
    const r = result(`save:classification-${arch}`);
    const clf = loadHfClassifier(at(`saved-classification-${arch}`));
    try {
      const ids = tensor(BigInt64Array.from(IDS.flat(), BigInt), { shape: [IDS.length, IDS[0]!.length] });
      const ours = tidy(() => noGrad(() => clf.forward({ inputIds: ids }).logits.toArray()));
      dispose(ids);
      const d = maxAbs(ours, r.logits as number[]);
      assert.ok(d < 1e-4, `classifier logits differ by ${d}`);
    } finally {
      clf.dispose();
    }
  });
}

test('tokenizers both ways: our export in AutoTokenizer, a cased HF tokenizer in growbert', { skip }, () => {
  interopChecks.tokenizersAgree(root, result('tok:export'), result('tok:cased'));
});

test("pair truncation equals transformers' longest_first; Object-named tokens keep their ids", { skip }, () => {
  interopChecks.pairsAgree(root, result('pairs'), result('tok:proto'));
});

test("TensorBoard's EventAccumulator shows every metrics.jsonl value of a growth run", { skip }, () => {
  interopChecks.tensorboardMatches(at('grown'), result('tb:grown'));
});

test('Parquet written by datasets: nested --text-field paths read the struct fields', { skip }, async () => {
  await interopChecks.parquetReads(at('nested.parquet'), result('parquet'));
});
