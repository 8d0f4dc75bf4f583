import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GrowbertError } from '../../src/io/errors.js';
import {
  SafetensorsReader,
  dtypeByteSize,
  readSafetensorsHeader,
  readTensorBytes,
  writeSafetensors,
  type SafeDtype,
  type SafeTensorEntry,
} from '../../src/io/safetensors.js';
import { hfFixture } from '../helpers/hf-fixtures.js';

// Hugging Face's file, committed in test/fixtures/hf.
const FIXTURE = hfFixture('bert-tiny-mlm', 'model.safetensors');

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-st-'));
}

function entry(name: string, dtype: SafeDtype, shape: number[], fill: (i: number) => number): SafeTensorEntry {
  const byteLength = shape.reduce((a, b) => a * b, 1) * dtypeByteSize(dtype);
  const bytes = new Uint8Array(byteLength);
  for (let i = 0; i < byteLength; i++) bytes[i] = fill(i) & 0xff;
  return { name, dtype, shape, byteLength, bytes };
}

/** Hand-build a file from a header object and a data byte count, for corruption cases. */
function rawFile(file: string, header: unknown, dataBytes: number, headerText?: string): void {
  const h = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.byteLength));
  fs.writeFileSync(file, Buffer.concat([len, h, Buffer.alloc(dataBytes, 7)]));
}

function assertBad(file: string, re: RegExp): void {
  assert.throws(
    () => readSafetensorsHeader(file),
    (e: unknown) => {
      assert.ok(e instanceof GrowbertError, `expected GrowbertError, got ${String(e)}`);
      assert.ok(e.message.includes(file), `message should name the file: ${e.message}`);
      assert.match(e.message, re);
      return true;
    },
  );
}

test('dtypeByteSize', () => {
  assert.equal(dtypeByteSize('F64'), 8);
  assert.equal(dtypeByteSize('BF16'), 2);
  assert.equal(dtypeByteSize('BOOL'), 1);
  assert.equal(dtypeByteSize('I64'), 8);
});

test('round trip of every dtype, empty tensors, scalars and metadata', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'sub', 'rt.safetensors');
  const entries: SafeTensorEntry[] = [
    entry('f64', 'F64', [3], (i) => i * 3 + 1),
    entry('f32', 'F32', [2, 3], (i) => i * 7),
    entry('f16', 'F16', [5], (i) => i + 100),
    entry('bf16', 'BF16', [3, 1], (i) => 255 - i),
    entry('i64', 'I64', [2], (i) => i),
    entry('i32', 'I32', [1, 1, 2], (i) => i * 11),
    entry('i16', 'I16', [3], (i) => i * 5),
    entry('i8', 'I8', [7], (i) => i - 3),
    entry('u8', 'U8', [4], (i) => i * 60),
    entry('bool', 'BOOL', [5], (i) => i % 2),
    entry('empty', 'F32', [0], () => 0),
    entry('empty2d', 'I64', [3, 0], () => 0),
    entry('scalar', 'F32', [], (i) => i + 42),
    entry('10', 'U8', [1], () => 9), // integer-like name must keep its place
  ];
  // Producers are called once each, in order.
  const calls: string[] = [];
  const lazy = entries.map((e) => ({
    ...e,
    bytes: () => {
      calls.push(e.name);
      return e.bytes as Uint8Array;
    },
  }));
  const metadata = { format: 'pt', note: 'ünïcode ✓' };
  writeSafetensors(file, lazy, metadata);
  assert.deepEqual(
    calls,
    entries.map((e) => e.name),
  );

  const h = readSafetensorsHeader(file);
  assert.equal(h.dataStart % 8, 0, 'data section starts 8-aligned');
  assert.equal(h.fileSize, fs.statSync(file).size);
  assert.deepEqual(h.metadata, metadata);
  assert.deepEqual(
    h.tensors.map((t) => t.name),
    entries.map((e) => e.name),
  );
  let expectedOffset = h.dataStart;
  for (const [i, t] of h.tensors.entries()) {
    assert.equal(t.dtype, entries[i]!.dtype);
    assert.deepEqual(t.shape, entries[i]!.shape);
    assert.equal(t.byteOffset, expectedOffset);
    assert.equal(t.byteLength, entries[i]!.byteLength);
    expectedOffset += t.byteLength;
    const got = readTensorBytes(file, t);
    assert.deepEqual(got, entries[i]!.bytes);
    assert.equal(got.byteOffset, 0);
  }
  // The header JSON keeps insertion order, "10" included (JSON.stringify would hoist it).
  const headerText = fs.readFileSync(file).subarray(8, h.dataStart).toString('utf8');
  assert.ok(headerText.indexOf('"scalar"') < headerText.indexOf('"10"'));

  const r = new SafetensorsReader(file);
  try {
    assert.deepEqual(
      r.names(),
      entries.map((e) => e.name),
    );
    assert.deepEqual(r.read('bf16'), entries[3]!.bytes);
    assert.deepEqual(r.read('bool'), entries[9]!.bytes);
    assert.equal(r.read('empty').byteLength, 0);
    assert.deepEqual(r.info('scalar').shape, []);
    const f64 = r.read('f64');
    assert.equal(new Float64Array(f64.buffer).length, 3, 'readable as Float64Array');
    assert.throws(
      () => r.info('nope'),
      (e: unknown) => e instanceof GrowbertError && e.message.includes(file),
    );
  } finally {
    r.close();
  }
  assert.throws(() => r.read('f32'), /closed/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('writer rejects wrong sizes and duplicate names, and leaves no file behind', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'bad.safetensors');
  const a = entry('a', 'F32', [2], () => 1);
  assert.throws(() => writeSafetensors(file, [a, a]), /duplicate/);
  assert.throws(() => writeSafetensors(file, [{ ...a, byteLength: 7 }]), /byteLength/);
  assert.throws(() => writeSafetensors(file, [{ ...a, bytes: () => new Uint8Array(4) }]), /produced 4 bytes/);
  assert.deepEqual(fs.readdirSync(dir), []);
  writeSafetensors(file, []);
  const h = readSafetensorsHeader(file);
  assert.deepEqual(h.tensors, []);
  assert.deepEqual(h.metadata, {});
  fs.rmSync(dir, { recursive: true, force: true });
});

test('corrupt files give GrowbertErrors naming the file', () => {
  const dir = tmpDir();
  const f = (n: string): string => path.join(dir, n);
  const t = (dtype: string, shape: number[], offs: number[]): unknown => ({ dtype, shape, data_offsets: offs });

  fs.writeFileSync(f('short'), Buffer.from([1, 2, 3]));
  assertBad(f('short'), /shorter than the 8-byte/);

  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(2n ** 40n);
  fs.writeFileSync(f('huge'), huge);
  assertBad(f('huge'), /exceeds/);

  const past = Buffer.alloc(16);
  past.writeBigUInt64LE(100n);
  fs.writeFileSync(f('past'), past);
  assertBad(f('past'), /runs past the end/);

  rawFile(f('json'), null, 0, '{"a": {"dtype": "F32",');
  assertBad(f('json'), /not valid JSON/);

  rawFile(f('array'), [1, 2], 0);
  assertBad(f('array'), /not an object/);

  rawFile(f('dtype'), { a: t('F128', [1], [0, 16]) }, 16);
  assertBad(f('dtype'), /unknown dtype "F128"/);

  rawFile(f('size'), { a: t('F32', [2, 2], [0, 12]) }, 12);
  assertBad(f('size'), /needs 16 bytes/);

  rawFile(f('overlap'), { a: t('F32', [2], [0, 8]), b: t('F32', [2], [4, 12]) }, 12);
  assertBad(f('overlap'), /overlap/);

  rawFile(f('gap'), { a: t('F32', [1], [0, 4]), b: t('F32', [1], [8, 12]) }, 12);
  assertBad(f('gap'), /gap/);

  rawFile(f('range'), { a: t('F32', [2], [0, 8]), b: t('F32', [2], [1000, 1008]) }, 8);
  assertBad(f('range'), /out of range/);

  rawFile(f('neg'), { a: t('F32', [1], [4, 0]) }, 4);
  assertBad(f('neg'), /invalid data_offsets/);

  rawFile(f('trailing'), { a: t('F32', [1], [0, 4]) }, 9);
  assertBad(f('trailing'), /trailing bytes/);

  rawFile(f('meta'), { __metadata__: { n: 3 } }, 0);
  assertBad(f('meta'), /not a string/);

  // A good file cut short.
  writeSafetensors(f('good'), [entry('a', 'F32', [4], (i) => i), entry('b', 'F32', [4], (i) => i)]);
  const good = fs.readFileSync(f('good'));
  fs.writeFileSync(f('trunc'), good.subarray(0, good.byteLength - 5));
  assertBad(f('trunc'), /truncated/);

  assert.throws(
    () => new SafetensorsReader(f('trunc')),
    (e: unknown) => e instanceof GrowbertError && e.message.includes(f('trunc')),
  );
  assert.throws(
    () => readSafetensorsHeader(f('missing')),
    (e: unknown) => e instanceof GrowbertError && /not found/.test(e.message),
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test('reads the bert-tiny HF fixture and rewrites it byte-identically', () => {
  const h = readSafetensorsHeader(FIXTURE);
  // 42 tensors plus __metadata__ make the 43 top-level header keys.
  assert.equal(h.tensors.length, 42);
  assert.deepEqual(h.metadata, { format: 'pt' });
  const src = new SafetensorsReader(FIXTURE);
  const dir = tmpDir();
  const out = path.join(dir, 'copy.safetensors');
  try {
    const we = src.info('bert.embeddings.word_embeddings.weight');
    assert.equal(we.dtype, 'F32');
    assert.deepEqual(we.shape, [1000, 64]);
    const values = new Float32Array(src.read(we.name).buffer);
    assert.ok(values.every(Number.isFinite));

    writeSafetensors(
      out,
      src.header.tensors.map((ti) => ({
        name: ti.name,
        dtype: ti.dtype,
        shape: ti.shape,
        byteLength: ti.byteLength,
        bytes: () => src.read(ti.name),
      })),
      src.header.metadata,
    );
    const copy = new SafetensorsReader(out);
    try {
      assert.deepEqual(copy.names(), src.names());
      assert.deepEqual(copy.header.metadata, src.header.metadata);
      for (const name of src.names()) {
        assert.deepEqual(copy.info(name).shape, src.info(name).shape);
        assert.deepEqual(copy.read(name), src.read(name), name);
      }
    } finally {
      copy.close();
    }
  } finally {
    src.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
