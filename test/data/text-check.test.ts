// Binary or non-UTF-8 files given as the corpus are refused with one line naming the file; a
// stray invalid byte in a large text is a warning with its count (src/data/text-check.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCorpus } from '../../src/data/corpus.js';
import { TextCheck, countTextFaults } from '../../src/data/text-check.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-textcheck-'));
const oneLine = (re: RegExp) => (e: Error) =>
  e.name === 'GrowbertError' && re.test(e.message) && !e.message.includes('\n');

test('counts NULs and invalid UTF-8 sequences of a chunk', () => {
  assert.deepEqual(countTextFaults(Buffer.from([0x61, 0x00, 0x62, 0xff, 0xfe])), { chars: 5, nul: 1, replaced: 2 });
  assert.deepEqual(countTextFaults('plain text é'), { chars: 12, nul: 0, replaced: 0 });
});

test('a binary file and a Latin-1 file are refused, naming the file', async () => {
  const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256));
  const bin = path.join(tmp, 'model.bin');
  fs.writeFileSync(bin, bytes);
  // An extension growbert does not read is refused before reading (corpus.ts lists the formats).
  await assert.rejects(readCorpus([bin]), oneLine(/model\.bin' has a format growbert cannot read/));
  // Binary content under a text name (or compressed) is caught by the decoder's counts.
  const named = path.join(tmp, 'model.txt');
  fs.writeFileSync(named, bytes);
  await assert.rejects(readCorpus([named]), oneLine(/model\.txt looks binary \(\d+ NUL bytes\), not text/));
  const latin1 = path.join(tmp, 'latin1.txt');
  fs.writeFileSync(latin1, Buffer.from('caf\u00e9 na\u00efve r\u00e9sum\u00e9 '.repeat(50), 'latin1'));
  await assert.rejects(
    readCorpus([latin1]),
    oneLine(/latin1\.txt is not UTF-8 text \(\d+ invalid byte sequences in \d+ characters\); convert it to UTF-8/),
  );
});

test('a few invalid bytes in a large text: a warning with the count, and the text is read', async () => {
  const f = path.join(tmp, 'mostly.txt');
  fs.writeFileSync(f, Buffer.concat([Buffer.from('good text line\n'.repeat(2000)), Buffer.from([0xff, 0x0a])]));
  const warnings: string[] = [];
  const check = new TextCheck(f, (l) => warnings.push(l));
  check.add(fs.readFileSync(f));
  assert.equal(check.done().replaced, 1);
  assert.deepEqual(warnings, [`${f}: 1 invalid UTF-8 byte sequence(s) replaced by U+FFFD`]);
  const read: string[] = [];
  assert.ok((await readCorpus([f], { warn: (l) => read.push(l) })).length > 0);
  assert.deepEqual(read, warnings, 'the streaming reader applies the same policy');
});
