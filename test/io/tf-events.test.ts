// TensorBoard event files as written by src/io, decoded by the independent reader in
// test/helpers/tfevents-reader.ts (its own CRC32C and protobuf decoding), every CRC checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { frameRecord, maskedCrc32c } from '../../src/io/tfrecord.js';
import { EventFileWriter, FILE_VERSION } from '../../src/io/tf-events.js';
import { crc32cForTest, eventFiles, maskCrc, readEventFile, readRecords } from '../helpers/tfevents-reader.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-tfevents-'));

test("the reader's CRC32C matches RFC 3720's test vectors, and the writer's masked CRC agrees with it", () => {
  // RFC 3720 (iSCSI), appendix B.4: CRC32C of 32 zero bytes and of 32 0xFF bytes; and "123456789".
  assert.equal(crc32cForTest(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32cForTest(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32cForTest(Buffer.from('123456789')), 0xe3069283);
  for (const s of ['', 'a', '123456789', 'brain.Event:2', 'x'.repeat(1000)]) {
    const b = Buffer.from(s);
    assert.equal(maskedCrc32c(b), maskCrc(crc32cForTest(b)), s);
  }
});

test('TFRecord framing round-trips, and a flipped bit anywhere is caught', () => {
  const payloads = [Buffer.from('hello'), Buffer.alloc(0), Buffer.from('x'.repeat(300))];
  const file = Buffer.concat(payloads.map(frameRecord));
  assert.equal(
    file.length,
    payloads.reduce((a, p) => a + p.length + 16, 0),
  );
  assert.deepEqual(
    readRecords(file).map((r) => Buffer.from(r).toString()),
    payloads.map((p) => p.toString()),
  );
  for (const at of [0, 8, 12, 16, 21 + 4]) {
    const bad = Buffer.from(file);
    bad[at] ^= 0x10;
    assert.throws(() => readRecords(bad), /CRC|truncated|runs past/, `flip at byte ${at}`);
  }
  assert.throws(() => readRecords(file.subarray(0, file.length - 1)), /truncated/);
  assert.equal(readRecords(file.subarray(0, file.length - 1), { allowTornTail: true }).length, 2);
});

test('an event file: version first, float32 scalars, markdown text, session start; steps never go backwards', () => {
  const dir = path.join(tmp, 'run');
  let t = 1_700_000_000.25;
  const w = new EventFileWriter(dir, () => (t += 1));
  assert.match(
    path.basename(w.file),
    new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${os.hostname().replace(/\./g, '\\.')}\\.${process.pid}\\.\\d+$`),
  );
  w.summary(0, [{ tag: 'config', text: '```json\n{"a": "é"}\n```' }]);
  w.summary(10, [
    { tag: 'train/loss', scalar: 7.123456789 },
    { tag: 'train/flops', scalar: 1.5e13 },
  ]);
  w.sessionStart(10);
  const big = 2 ** 40 + 3;
  w.summary(big, [{ tag: 'train/loss', scalar: -0.5 }]);
  assert.throws(() => w.summary(5, [{ tag: 'train/loss', scalar: 1 }]), /steps never go backwards/);
  w.close();
  assert.throws(() => w.summary(big + 1, [{ tag: 'x', scalar: 1 }]), /closed/);

  const ev = readEventFile(w.file);
  assert.equal(ev.length, 5);
  assert.deepEqual([ev[0].fileVersion, ev[0].step, ev[0].wallTime], [FILE_VERSION, 0, 1_700_000_001.25]);
  const text = ev[1].values![0];
  assert.deepEqual(text, {
    tag: 'config',
    pluginName: 'text',
    dataClass: 2,
    tensorDtype: 7,
    tensorShapeDims: 0,
    strings: ['```json\n{"a": "é"}\n```'],
  });
  assert.equal(ev[2].step, 10);
  assert.deepEqual(
    ev[2].values!.map((v) => [v.tag, v.simpleValue]),
    [
      ['train/loss', Math.fround(7.123456789)],
      ['train/flops', Math.fround(1.5e13)],
    ],
  );
  assert.deepEqual([ev[3].step, ev[3].sessionStatus], [10, 1]);
  assert.deepEqual([ev[4].step, ev[4].values![0].simpleValue], [big, -0.5]);
  assert.ok(ev.every((e, i) => i === 0 || e.wallTime > ev[i - 1].wallTime));

  // A second writer in the same folder (a resumed run) starts a new file; the first is untouched.
  const before = fs.readFileSync(w.file);
  const w2 = new EventFileWriter(dir);
  w2.close();
  assert.equal(eventFiles(dir).length, 2);
  assert.notEqual(w2.file, w.file);
  assert.deepEqual(fs.readFileSync(w.file), before);
  assert.equal(readEventFile(w2.file)[0].fileVersion, FILE_VERSION);
});
