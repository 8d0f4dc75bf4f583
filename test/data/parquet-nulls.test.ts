// Parquet rows whose text is null are not silently dropped: they are skipped with a warning that
// counts them and names the first rows.
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
    /reviews\.parquet: 3 row\(s\) with no text \(null in column "review"\) skipped, e\.g\. row 2, row 4, row 5/,
  );
});
