// Records whose text is null are not silently dropped: they are skipped with a warning that
// counts them and names the first rows, the same for Parquet rows and JSONL lines (issue 27: JSONL
// nulls were an error). A text field that is absent or holds a number stays an error; a field named
// like an Object property (`constructor`) is a record's own field or absent, never Object's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import parquet from 'parquetjs';
import { readCorpus } from '../../src/data/corpus.js';

test('null texts in a Parquet column are counted and reported', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-pqnull-')), 'reviews.parquet');
  const schema = new parquet.ParquetSchema({ review: { type: 'UTF8', optional: true } });
  const w = await parquet.ParquetWriter.openFile(schema, file, { rowGroupSize: 3 });
  const rows = ['good film', null, 'too long', null, null, 'fine'];
  for (const r of rows) await w.appendRow(r === null ? {} : { review: r });
  await w.close();
  const warned: string[] = [];
  const docs = await readCorpus([file], { textField: 'review', warn: (l) => warned.push(l) });
  assert.deepEqual(
    docs.map((d) => d.text),
    ['good film', 'too long', 'fine'],
  );
  assert.equal(warned.length, 1, warned.join('\n'));
  assert.match(
    warned[0],
    /reviews\.parquet: 3 row\(s\) with no text \(null in "review"\) skipped, e\.g\. row 2, row 4, row 5/,
  );
});

test('null texts in JSONL lines are skipped with the same warning; absent or non-text fields are errors', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-jsonlnull-'));
  const file = path.join(dir, 'reviews.jsonl');
  const lines = [{ review: 'good film' }, { review: null }, { meta: null, review: 'fine' }, { review: null }];
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const warned: string[] = [];
  const docs = await readCorpus([file], { textField: 'review', warn: (l) => warned.push(l) });
  assert.deepEqual(
    docs.map((d) => d.text),
    ['good film', 'fine'],
  );
  assert.deepEqual(warned, [`${file}: 2 line(s) with no text (null in "review") skipped, e.g. line 2, line 4`]);
  // a null struct on a dotted path is a missing value too
  const nested = path.join(dir, 'nested.jsonl');
  fs.writeFileSync(nested, '{"meta": {"text": "a"}}\n{"meta": null}\n');
  warned.length = 0;
  assert.equal((await readCorpus([nested], { textField: 'meta.text', warn: (l) => warned.push(l) })).length, 1);
  assert.equal(warned.length, 1);
  for (const [body, field] of [
    ['{"text": 3}', 'text'],
    ['{"other": "x"}', 'text'],
    ['{"text": "x"}', 'constructor'],
    ['{"text": "x"}', 'text.length'],
  ]) {
    fs.writeFileSync(file, body + '\n');
    await assert.rejects(
      readCorpus([file], { textField: field }),
      new RegExp(`expected a JSON object with a string "${field.replace('.', '\\.')}" field`),
    );
  }
});
