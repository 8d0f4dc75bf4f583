// A UTF-16 corpus file is refused with an encoding hint (with or without a byte-order mark), not
// called binary; a real binary file still is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCorpus } from '../../src/data/corpus.js';
import { looksUtf16 } from '../../src/data/text-check.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-utf16-'));
const text = 'The quick brown fox jumps over the lazy dog.\n'.repeat(50);

test('UTF-16 (LE with BOM, BE without) is named as such, with the conversion to run', async () => {
  const le = path.join(tmp, 'letters-le.txt');
  fs.writeFileSync(le, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  const be = path.join(tmp, 'letters-be.txt');
  fs.writeFileSync(be, Buffer.from(text, 'utf16le').swap16());
  for (const f of [le, be])
    await assert.rejects(readCorpus([f]), /looks like UTF-16 text, not UTF-8; convert it \(e\.g\. iconv -f UTF-16/);
  const bin = path.join(tmp, 'blob.txt');
  fs.writeFileSync(bin, Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 256)));
  await assert.rejects(readCorpus([bin]), /looks binary/);
  assert.equal(looksUtf16(Buffer.from(text)), false);
});
