// issue 27: an imported config.json's sizes are checked against the weights (headers only) and
// this machine's memory before anything is allocated: num_hidden_layers 1e9, vocab_size 1e12,
// max_position_embeddings 1e10 and the rest are one line naming the field, not libtorch's
// allocation failure or memory growing without bound; a model larger than the machine's memory
// (a sparse file: its header claims 8 GiB of weights) is refused before it is read; F64 weights
// are converted with a note that says so, integer weights are refused, and integer buffers or
// tensors of no BERT module (never loaded) do not matter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportRunToHf } from '../../src/export/hf.js';
import { importHfToRun } from '../../src/export/hf-import.js';
import { dispose, loadSafetensors, saveSafetensors, tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { loadRunModel } from '../../src/train/run-dir.js';
import { TINY, makeRun, smallTokenizer, tmpDir } from './helpers.js';

const root = tmpDir('growbert-hf-sizes-');
const tok = smallTokenizer();
makeRun(path.join(root, 'run'), { ...TINY, vocabSize: tok.vocabSize }, tok).dispose();
const hf = path.join(root, 'hf');
exportRunToHf(path.join(root, 'run'), hf);
const config = JSON.parse(fs.readFileSync(path.join(hf, 'config.json'), 'utf8')) as Record<string, unknown>;

/** A copy of the export with config.json changed and/or other weights. */
function variant(name: string, cfg: Record<string, unknown>, weights?: Map<string, Tensor>): string {
  const d = path.join(root, name);
  fs.cpSync(hf, d, { recursive: true });
  fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...config, ...cfg }));
  if (weights) saveSafetensors(path.join(d, 'model.safetensors'), weights, { format: 'pt' });
  return d;
}

const oneLine = (re: RegExp) => (e: Error) =>
  e.name === 'GrowbertError' && !e.message.includes('\n') && re.test(e.message);

test('every size in config.json is checked against the weights before anything is allocated', () => {
  const cases: [string, number, RegExp][] = [
    [
      'num_hidden_layers',
      1e9,
      /gives num_hidden_layers 1000000000, but the weights .* have 2 \(encoder layers 0 to 1\)/,
    ],
    [
      'vocab_size',
      1e12,
      /gives vocab_size 1000000000000, but the weights .* have \d+ \(bert\.embeddings\.word_embeddings\.weight is/,
    ],
    ['max_position_embeddings', 1e10, /gives max_position_embeddings 10000000000, but the weights .* have 64 /],
    ['type_vocab_size', 1e6, /gives type_vocab_size 1000000, but the weights .* have 2 /],
    ['intermediate_size', 1e9, /gives intermediate_size 1000000000, but the weights .* have 64 /],
    ['hidden_size', 1024, /gives hidden_size 1024, but the weights .* have 32 /],
    ['num_hidden_layers', 1, /gives num_hidden_layers 1, but the weights .* have 2/],
  ];
  for (const [field, value, re] of cases) {
    const heads = field === 'hidden_size' ? { num_attention_heads: 4 } : {};
    assert.throws(
      () => importHfToRun(variant(`c-${field}-${value}`, { [field]: value, ...heads }), path.join(root, 'x')),
      oneLine(re),
      field,
    );
  }
  assert.ok(!fs.existsSync(path.join(root, 'x')));
});

test('a model larger than this machine is refused before its weights are read (sparse file)', () => {
  const d = path.join(root, 'huge');
  fs.cpSync(hf, d, { recursive: true });
  const rows = Math.ceil((1.2 * os.totalmem()) / (8 * 512)); // x2 (loaded + model) x 4 bytes x 512 wide
  fs.writeFileSync(
    path.join(d, 'config.json'),
    JSON.stringify({ ...config, vocab_size: rows, hidden_size: 512, num_attention_heads: 8 }),
  );
  const header = JSON.stringify({
    'bert.embeddings.word_embeddings.weight': { dtype: 'F32', shape: [rows, 512], data_offsets: [0, rows * 512 * 4] },
  });
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const file = path.join(d, 'model.safetensors');
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(header)]));
  fs.truncateSync(file, 8 + header.length + rows * 512 * 4); // sparse: no disk used
  assert.throws(
    () => importHfToRun(d, path.join(root, 'y')),
    oneLine(/the model has \d+ parameters; importing needs about [\d.]+ GiB, more than this machine's/),
  );
});

test('F64 weights are converted with a note saying so; integer weights are refused; unused integer tensors are fine', () => {
  const { tensors } = loadSafetensors(path.join(hf, 'model.safetensors'));
  const f64 = new Map([...tensors].map(([n, t]) => [n, tidy(() => t.to('float64'))] as [string, Tensor]));
  // an int64 position_ids buffer (older transformers saved it) and a tensor of no BERT module
  f64.set(
    'bert.embeddings.position_ids',
    tensor(
      BigInt64Array.from({ length: 64 }, (_, i) => BigInt(i)),
      { shape: [1, 64] },
    ),
  );
  f64.set('some_adapter.step', tensor(new Int32Array([7])));
  const r = importHfToRun(variant('f64', {}, f64), path.join(root, 'f64-run'));
  assert.match(r.notes.join('\n'), /F64 \(double-precision\) weights converted to float32: each value rounded/);
  assert.doesNotMatch(r.notes.join('\n'), /half-precision/);
  const { model } = loadRunModel(path.join(root, 'f64-run'));
  const name = 'bert.encoder.layer.0.attention.self.query.weight';
  assert.ok(tidy(() => model.namedParameters().get(name)!.equal(f64.get(name)!.float())));
  model.dispose();
  const ints = new Map(tensors);
  const q = tidy(() => tensors.get(name)!.mul(1000).to('int64'));
  ints.set(name, q);
  assert.throws(
    () => importHfToRun(variant('i64', {}, ints), path.join(root, 'i64-run')),
    oneLine(
      /tensor bert\.encoder\.layer\.0\.attention\.self\.query\.weight is I64, but a BERT's weights are floating point/,
    ),
  );
  assert.ok(!fs.existsSync(path.join(root, 'i64-run')));
  dispose([tensors, f64, q]);
});
