// safetensors through tensors: bit-identical round trips for every dtype, and the Hugging Face
// fixture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  dispose,
  loadSafetensors,
  saveSafetensors,
  tensor,
  tidy,
  type DType,
  type Tensor,
} from '../../src/tensor/index.js';
import { hfFixture } from '../helpers/hf-fixtures.js';

const FIXTURE = hfFixture('bert-tiny-mlm', 'model.safetensors');

/** Random bytes of every dtype (bool as 0/1); any bit pattern, NaN payloads included. */
function randomTensor(dtype: DType, shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const bytesPer = { float64: 8, float32: 4, bfloat16: 2, float16: 2, int64: 8, int32: 4, bool: 1, uint8: 1 }[dtype];
  const raw = new Uint8Array(n * bytesPer);
  let s = seed;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    raw[i] = dtype === 'bool' ? (s >>> 16) & 1 : (s >>> 16) & 0xff;
  }
  const buf = raw.buffer;
  const view =
    dtype === 'float64'
      ? new Float64Array(buf)
      : dtype === 'float32'
        ? new Float32Array(buf)
        : dtype === 'int64'
          ? new BigInt64Array(buf)
          : dtype === 'int32'
            ? new Int32Array(buf)
            : dtype === 'bfloat16' || dtype === 'float16'
              ? new Uint16Array(buf)
              : raw;
  return tensor(view, { shape, dtype });
}

test('saveSafetensors / loadSafetensors round trip every dtype bit for bit', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-tensor-st-'));
  try {
    tidy(() => {
      const dtypes: DType[] = ['float64', 'float32', 'bfloat16', 'float16', 'int64', 'int32', 'bool', 'uint8'];
      const tensors = new Map<string, Tensor>();
      dtypes.forEach((d, i) => tensors.set(`t.${d}`, randomTensor(d, [3, 5], i + 1)));
      tensors.set('scalar', randomTensor('float32', [], 99));
      tensors.set('empty', randomTensor('float32', [0, 4], 98));
      tensors.set('transposed', randomTensor('float64', [4, 3], 97).T); // non-contiguous source
      const file = path.join(dir, 'all.safetensors');
      saveSafetensors(file, tensors, { note: 'round trip' });
      const back = loadSafetensors(file);
      assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
      assert.deepEqual(back.metadata, { note: 'round trip' });
      for (const [name, t] of tensors) {
        const r = back.tensors.get(name)!;
        assert.deepEqual([r.dtype, r.shape], [t.dtype, t.shape], name);
        assert.deepEqual(new Uint8Array(r.data().buffer), new Uint8Array(t.data().buffer), `${name} bytes differ`);
      }
      const some = loadSafetensors(file, ['t.int64']);
      assert.deepEqual([...some.tensors.keys()], ['t.int64']);
      assert.throws(() => loadSafetensors(file, ['nope']), /has no tensor named 'nope'/);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the bert-tiny-mlm fixture loads as 42 float32 tensors', () => {
  const { tensors } = loadSafetensors(FIXTURE);
  try {
    assert.equal(tensors.size, 42);
    const w = tensors.get('bert.embeddings.word_embeddings.weight')!;
    assert.deepEqual([w.dtype, w.shape], ['float32', [1000, 64]]);
    for (const t of tensors.values()) assert.equal(t.dtype, 'float32');
    assert.ok(tidy(() => Number.isFinite(w.abs().sum().item())));
  } finally {
    dispose(tensors);
  }
});
