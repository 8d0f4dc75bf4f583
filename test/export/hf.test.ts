import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from '../../src/io/errors.js';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { exportRunToHf } from '../../src/export/hf.js';
import { importHfToRun, mapHfName } from '../../src/export/hf-import.js';
import { BertForMaskedLM, factorizedToDense } from '../../src/model/index.js';
import {
  dispose,
  loadSafetensors,
  noGrad,
  saveSafetensors,
  tensor,
  tidy,
  type Tensor,
} from '../../src/tensor/index.js';
import { RunDir, loadRunModel } from '../../src/train/run-dir.js';
import { FIXTURES, TINY, fixtureBatch, makeRun, maxAbsDiff, runCli, smallTokenizer, tmpDir } from './helpers.js';

const is = (re: RegExp) => (e: unknown) =>
  e instanceof GrowbertError && re.test(e.message) && !e.message.includes('\n');
const fx = (...p: string[]) => path.join(FIXTURES, ...p);
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;

/** [1, S] int64 ids of a text pair. */
function idsOf(tok: BertTokenizer, a: string, b: string): Tensor {
  const { ids } = tok.encodePair(a, b);
  return tensor(
    BigInt64Array.from(ids, (x) => BigInt(x)),
    { shape: [1, ids.length] },
  );
}

/** A temp folder holding `run/`: a tiny model saved as a growbert run with the small tokenizer. */
function tinyRun(): string {
  const root = tmpDir();
  const tok = smallTokenizer();
  makeRun(path.join(root, 'run'), { ...TINY, vocabSize: tok.vocabSize }, tok).dispose();
  return root;
}

function tensorNames(file: string): string[] {
  const { tensors } = loadSafetensors(file);
  const names = [...tensors.keys()];
  dispose(tensors);
  return names;
}

test("import bert-tiny-mlm: loadRunModel reproduces Hugging Face's MLM logits", () => {
  const run = path.join(tmpDir(), 'run');
  const r = importHfToRun(fx('bert-tiny-mlm'), run, { tokenizer: fx('tokenizer', 'vocab.txt') });
  assert.match(r.notes.join('\n'), /63 tokens, the model 1000/);
  const { model, checkpoint, trainer } = loadRunModel(run);
  assert.equal(trainer.step, 0);
  assert.equal(trainer.importedFrom, path.resolve(fx('bert-tiny-mlm')));
  assert.equal(checkpoint, r.checkpoint);
  const { tensors: ex } = loadSafetensors(fx('bert-tiny-mlm', 'expected.safetensors'));
  const d = tidy(() => noGrad(() => maxAbsDiff(model.eval().forward(fixtureBatch(ex)).logits, ex.get('logits')!)));
  console.log(`imported bert-tiny-mlm: max abs logit diff vs Hugging Face ${d.toExponential(2)}`);
  assert.ok(d <= 1e-5, `max abs diff ${d}`);
  const cfg = readJson(path.join(run, 'config.json')) as { model: Record<string, number> };
  assert.equal(cfg.model.hiddenSize, 64);
  assert.equal(cfg.model.numHiddenLayers, 2);
  // and back out: model.safetensors is byte for byte the file transformers wrote
  const out = path.join(path.dirname(run), 'hf');
  exportRunToHf(run, out);
  assert.ok(
    fs
      .readFileSync(path.join(out, 'model.safetensors'))
      .equals(fs.readFileSync(fx('bert-tiny-mlm', 'model.safetensors'))),
    'byte-identical model.safetensors',
  );
  assert.equal(
    fs.readFileSync(path.join(out, 'config.json'), 'utf8'),
    fs.readFileSync(fx('bert-tiny-mlm', 'config.json'), 'utf8'),
  );
  dispose(ex);
  model.dispose();
});

test("the fixture tokenizer survives import and export with Hugging Face's expected ids", () => {
  // tokenizer.json is preferred over vocab.txt, as HF does, so the ids are exactly expected.json's
  // (the fixture's tokenizer.json quirk of a 5-token vocab: see test/data/tokenizer.test.ts)
  const exp = readJson(fx('tokenizer', 'expected.json')) as {
    text: string;
    pair: string;
    input_ids: number[];
    token_type_ids: number[];
  };
  const root = tmpDir();
  const hfDir = path.join(root, 'hf');
  fs.mkdirSync(hfDir);
  for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(fx('bert-tiny-mlm', f), path.join(hfDir, f));
  for (const f of ['vocab.txt', 'tokenizer.json', 'tokenizer_config.json'])
    fs.copyFileSync(fx('tokenizer', f), path.join(hfDir, f));
  importHfToRun(hfDir, path.join(root, 'run'));
  const check = (tok: BertTokenizer, where: string) => {
    const { ids, typeIds } = tok.encodePair(exp.text, exp.pair);
    assert.deepEqual([...ids], exp.input_ids, where);
    assert.deepEqual([...typeIds], exp.token_type_ids, where);
  };
  check(new RunDir(path.join(root, 'run')).loadTokenizer(), 'run tokenizer');
  exportRunToHf(path.join(root, 'run'), path.join(root, 'out'));
  check(BertTokenizer.fromFile(path.join(root, 'out', 'tokenizer.json')), 'exported tokenizer.json');
});

test('export -> import is bit-identical with identical logits; files match the HF fixtures', () => {
  const root = tmpDir();
  const tok = smallTokenizer();
  const model = makeRun(path.join(root, 'run'), { ...TINY, vocabSize: tok.vocabSize }, tok, 5);
  const r = exportRunToHf(path.join(root, 'run'), path.join(root, 'hf'));
  assert.equal(r.tensors, model.namedParameters().size);
  importHfToRun(path.join(root, 'hf'), path.join(root, 'back'));
  const { model: back } = loadRunModel(path.join(root, 'back'));
  const a = model.namedParameters(),
    b = back.namedParameters();
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [n, t] of a) assert.ok(t.equal(b.get(n)!), `${n} differs after export + import`);
  tidy(() =>
    noGrad(() => {
      const batch = { inputIds: idsOf(tok, 'The BERT is growing.', 'grow it') };
      assert.ok(model.eval().forward(batch).logits.equal(back.eval().forward(batch).logits), 'identical logits');
    }),
  );
  assert.deepEqual(
    fs.readdirSync(root).filter((f) => f.includes('.tmp')),
    [],
    'no temp folders left',
  );
  const cfg = readJson(path.join(root, 'hf', 'config.json'));
  assert.deepEqual(cfg.architectures, ['BertForMaskedLM']);
  assert.equal(cfg.model_type, 'bert');
  assert.equal(cfg.vocab_size, tok.vocabSize);
  assert.equal(cfg.tie_word_embeddings, true);
  if (FIXTURES) {
    // the same file set, tensor names, config keys and tokenizer_config keys as transformers writes
    // the export marker (.growbert-export) is growbert's own, beside HF's files
    const files = fs
      .readdirSync(path.join(root, 'hf'))
      .filter((f) => f !== '.growbert-export')
      .sort();
    const tokFiles = fs.readdirSync(fx('tokenizer')).filter((f) => f !== 'expected.json' && f !== 'vocab.txt');
    assert.deepEqual(files, ['config.json', 'model.safetensors', 'vocab.txt', ...tokFiles].sort());
    assert.deepEqual(
      tensorNames(path.join(root, 'hf', 'model.safetensors')).sort(),
      tensorNames(fx('bert-tiny-mlm', 'model.safetensors')).sort(),
    );
    assert.deepEqual(Object.keys(cfg), Object.keys(readJson(fx('bert-tiny-mlm', 'config.json'))));
    const tc = readJson(path.join(root, 'hf', 'tokenizer_config.json'));
    assert.deepEqual(Object.keys(tc), Object.keys(readJson(fx('tokenizer', 'tokenizer_config.json'))));
    assert.equal(tc.tokenizer_class, 'BertTokenizer');
    assert.equal(tc.do_lower_case, true);
    assert.equal(tc.model_max_length, TINY.maxPositionEmbeddings);
  }
  model.dispose();
  back.dispose();
});

test('model.safetensors header follows the safetensors spec', () => {
  const root = tinyRun();
  exportRunToHf(path.join(root, 'run'), path.join(root, 'hf'));
  const buf = fs.readFileSync(path.join(root, 'hf', 'model.safetensors'));
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, 'data section starts 8-aligned');
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const { __metadata__: meta, ...entries } = header as Record<string, unknown>;
  assert.deepEqual(meta, { format: 'pt' });
  let cursor = 0;
  const names = Object.keys(entries);
  assert.deepEqual(names, [...names].sort(), 'tensors in name order, as HF writes them');
  for (const name of names) {
    const e = header[name]!;
    assert.equal(e.dtype, 'F32', name);
    assert.equal(e.data_offsets[0], cursor, `${name} starts where the previous tensor ended`);
    assert.equal(e.data_offsets[1] - e.data_offsets[0], 4 * e.shape.reduce((x, y) => x * y, 1), name);
    cursor = e.data_offsets[1];
  }
  assert.equal(buf.length, 8 + n + cursor, 'no trailing bytes');
  assert.ok(!names.some((x) => x.includes('decoder')), 'tied decoder not stored');
});

test('a pooled, factorized run exports as the plain BERT it grows into', () => {
  const root = tmpDir();
  const tok = smallTokenizer();
  const model = makeRun(
    path.join(root, 'run'),
    { ...TINY, vocabSize: tok.vocabSize, poolingSize: 2, ffnRank: 8 },
    tok,
    9,
  );
  const r = exportRunToHf(path.join(root, 'run'), path.join(root, 'hf'));
  assert.match(r.notes.join('\n'), /pooling.*\n.*multiplied out/);
  const cfg = readJson(path.join(root, 'hf', 'config.json'));
  assert.ok(!Object.keys(cfg).some((k) => k.startsWith('growbert')), 'no growbert keys');
  const { tensors } = loadSafetensors(path.join(root, 'hf', 'model.safetensors'));
  const dense = factorizedToDense(model.stateDict());
  assert.deepEqual([...tensors.keys()].sort(), [...dense.keys()].sort());
  for (const [n, t] of dense) assert.ok(t.equal(tensors.get(n)!), n);
  // the imported plain BERT computes what the factorized one does, unpooled
  importHfToRun(path.join(root, 'hf'), path.join(root, 'back'));
  const { model: back, config } = loadRunModel(path.join(root, 'back'));
  assert.equal(config.poolingSize, 1);
  assert.equal(config.ffnRank, 0);
  const d = tidy(() =>
    noGrad(() => {
      const batch = { inputIds: idsOf(tok, 'growing a bert', 'from a small one') };
      return maxAbsDiff(model.eval().encode(batch), back.eval().encode(batch));
    }),
  );
  assert.ok(d < 1e-5, `encoder outputs differ by ${d}`);
  dispose([tensors, dense]);
  model.dispose();
  back.dispose();
});

test('BertModel names (no bert. prefix, TF gamma/beta) import, with the MLM head initialized', () => {
  assert.deepEqual(mapHfName('embeddings.LayerNorm.gamma'), { to: 'mlm', name: 'bert.embeddings.LayerNorm.weight' });
  assert.deepEqual(mapHfName('cls.predictions.decoder.bias'), { to: 'mlm', name: 'cls.predictions.bias' });
  assert.equal(mapHfName('bert.pooler.dense.weight').to, 'pooler');
  assert.equal(mapHfName('classifier.bias').to, 'classifier');
  assert.equal(mapHfName('qa_outputs.weight').to, 'other');
  const root = tmpDir();
  const tok = smallTokenizer();
  const model = new BertForMaskedLM({ ...TINY, vocabSize: tok.vocabSize }, { seed: 3 });
  const hf = path.join(root, 'hf');
  fs.mkdirSync(hf);
  const sd = model.stateDict();
  const bare = new Map(
    [...sd].filter(([n]) => n.startsWith('bert.')).map(([n, t]) => [n.slice(5), t] as [string, Tensor]),
  );
  saveSafetensors(path.join(hf, 'model.safetensors'), bare, { format: 'pt' });
  fs.writeFileSync(
    path.join(hf, 'config.json'),
    JSON.stringify({
      architectures: ['BertModel'],
      model_type: 'bert',
      vocab_size: tok.vocabSize,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 64,
      max_position_embeddings: 64,
    }),
  );
  tok.save(hf);
  const r = importHfToRun(hf, path.join(root, 'run'));
  assert.match(r.notes.join('\n'), /no MLM head .*BertModel.*initialized/);
  const { model: back } = loadRunModel(path.join(root, 'run'));
  const got = back.namedParameters();
  for (const [n, t] of sd) if (n.startsWith('bert.')) assert.ok(t.equal(got.get(n)!), n);
  dispose(sd);
  model.dispose();
  back.dispose();
});

test('bad input: one-line errors naming the problem', () => {
  const root = tmpDir();
  const tok = smallTokenizer();
  makeRun(path.join(root, 'run'), { ...TINY, vocabSize: tok.vocabSize }, tok).dispose();
  exportRunToHf(path.join(root, 'run'), path.join(root, 'hf'));
  // a non-empty --out needs --force; --out may never be the source
  assert.throws(
    () => exportRunToHf(path.join(root, 'run'), path.join(root, 'hf')),
    is(/already holds a Hugging Face model growbert exported; pass --force/),
  );
  exportRunToHf(path.join(root, 'run'), path.join(root, 'hf'), { force: true });
  // a config that does not belong to the weights is named before any allocation
  const huge = path.join(root, 'huge-config');
  fs.cpSync(path.join(root, 'hf'), huge, { recursive: true });
  const hc = JSON.parse(fs.readFileSync(path.join(huge, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(huge, 'config.json'), JSON.stringify({ ...hc, hidden_size: 2 ** 20 }));
  assert.throws(
    () => importHfToRun(huge, path.join(root, 'never')),
    is(
      /gives hidden_size 1048576, but the weights in .*model\.safetensors have \d+ \(bert\.embeddings\.word_embeddings\.weight is \[/,
    ),
  );
  // a Hugging Face model growbert did not export (same file names, no marker) is never replaced
  const mine = path.join(root, 'my-finetune');
  fs.mkdirSync(mine);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json'])
    fs.copyFileSync(path.join(root, 'hf', f), path.join(mine, f));
  fs.writeFileSync(path.join(mine, 'special_tokens_map.json'), '{}');
  const before = fs.readdirSync(mine).map((f) => fs.readFileSync(path.join(mine, f)).toString('base64'));
  for (const force of [false, true])
    assert.throws(
      () => exportRunToHf(path.join(root, 'run'), mine, { force }),
      (e: Error) =>
        /growbert did not export; it is never replaced, not even with --force/.test(e.message) &&
        !/pass --force/.test(e.message),
    );
  assert.deepEqual(
    fs.readdirSync(mine).map((f) => fs.readFileSync(path.join(mine, f)).toString('base64')),
    before,
  );
  assert.throws(
    () => exportRunToHf(path.join(root, 'run'), path.join(root, 'run'), { force: true }),
    is(/is the input .*writing there would replace it/),
  );
  assert.throws(() => exportRunToHf(path.join(root, 'nope'), path.join(root, 'x')), is(/does not exist/));
  // HF folders lacking config.json / model.safetensors / a tokenizer
  const partial = (files: string[]) => {
    const d = fs.mkdtempSync(path.join(root, 'p-'));
    for (const f of files) fs.copyFileSync(path.join(root, 'hf', f), path.join(d, f));
    return d;
  };
  assert.throws(
    () => importHfToRun(partial(['model.safetensors', 'vocab.txt']), path.join(root, 'a')),
    is(/has no config\.json/),
  );
  assert.throws(
    () => importHfToRun(partial(['config.json', 'vocab.txt']), path.join(root, 'a')),
    is(/has no model\.safetensors/),
  );
  assert.throws(
    () => importHfToRun(partial(['config.json', 'model.safetensors']), path.join(root, 'a')),
    is(/neither tokenizer\.json nor vocab\.txt; pass --tokenizer/),
  );
  // a tokenizer with more tokens than the model's vocabulary
  const big = path.join(root, 'big-vocab.txt');
  fs.writeFileSync(big, [...tok.vocab(), ...Array.from({ length: 10 }, (_, i) => `extra${i}`)].join('\n') + '\n');
  assert.throws(
    () => importHfToRun(path.join(root, 'hf'), path.join(root, 'a'), { tokenizer: big }),
    is(
      new RegExp(
        `big-vocab\\.txt has ${tok.vocabSize + 10} tokens but the model .*model\\.safetensors has vocab_size ${tok.vocabSize}`,
      ),
    ),
  );
  assert.ok(!fs.existsSync(path.join(root, 'a')), 'nothing written on failure');
});

test('CLI: export and import print results; bad input is one line with exit code 2', async () => {
  const root = tinyRun();
  const ex = await runCli(['export', '--run', path.join(root, 'run'), '--out', path.join(root, 'hf'), '--json']);
  assert.equal(ex.code, 0, ex.err.join('\n'));
  assert.equal(JSON.parse(ex.out.at(-1)!).tensors, 42);
  assert.match(ex.out[0]!, /^exported .* 42 tensors/);
  const im = await runCli(['import', '--hf', path.join(root, 'hf'), '--out', path.join(root, 'run2')]);
  assert.equal(im.code, 0, im.err.join('\n'));
  assert.match(im.out.join('\n'), /imported .* into .*run2/);
  const bad = await runCli(['import', '--hf', path.join(root, 'missing'), '--out', path.join(root, 'run3')]);
  assert.equal(bad.code, 2);
  assert.equal(bad.err.length, 1);
  assert.match(bad.err[0]!, /^growbert: .*missing is not a folder/);
});

test('half-precision weights load as float32; a cased vocab.txt alone is refused', () => {
  const root = tinyRun();
  exportRunToHf(path.join(root, 'run'), path.join(root, 'hf'));
  const { tensors } = loadSafetensors(path.join(root, 'hf', 'model.safetensors'));
  const half = new Map([...tensors].map(([n, t]) => [n, tidy(() => t.to('bfloat16'))] as [string, Tensor]));
  saveSafetensors(path.join(root, 'hf', 'model.safetensors'), half, { format: 'pt' });
  const r = importHfToRun(path.join(root, 'hf'), path.join(root, 'bf16'));
  assert.match(r.notes.join('\n'), /BF16 \(half-precision\) weights converted to float32 \(exact\)/);
  const { model } = loadRunModel(path.join(root, 'bf16'));
  const w = model.namedParameters().get('bert.encoder.layer.0.attention.self.query.weight')!;
  assert.equal(w.dtype, 'float32');
  assert.ok(tidy(() => w.equal(half.get('bert.encoder.layer.0.attention.self.query.weight')!.float())));
  dispose([tensors, half]);
  model.dispose();
  fs.rmSync(path.join(root, 'hf', 'tokenizer.json'));
  fs.writeFileSync(path.join(root, 'hf', 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false }));
  assert.throws(
    () => importHfToRun(path.join(root, 'hf'), path.join(root, 'cased')),
    is(/cased vocab\.txt and no tokenizer\.json/),
  );
});
