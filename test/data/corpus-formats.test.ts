// Every input format gives the same documents as the plain-text form of the same corpus; read
// chunks of a few bytes cut lines, documents and multi-byte characters without changing them;
// damaged compressed or Parquet files fail with one line naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import parquet from 'parquetjs';
import { GrowbertError } from '../../src/io/errors.js';
import { readCorpus, formatOf, type Document } from '../../src/data/corpus.js';
import { fileText, type FileReadStats } from '../../src/data/doc-stream.js';

// Compiled to dist/test/data/: the fixtures stay in test/fixtures/ of the source tree.
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/corpus/', import.meta.url));
const SMALL = path.join(FIXTURES, 'small.txt');

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-formats-'));
}

const texts = (docs: Document[]): string[] => docs.map((d) => d.text);

async function rejectsOneLine(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof GrowbertError, `expected GrowbertError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `message is not one line: ${e.message}`);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

/** The fixture corpus plus longer documents from Moby Dick, as plain text and as its documents. */
async function corpus(dir: string): Promise<{ txt: string; docs: string[] }> {
  const moby = (await readCorpus(['stdlib:moby-dick'])).slice(0, 8).map((d) => d.text.replace(/\n\s*\n/g, '\n').trim());
  const docs = [...texts(await readCorpus([SMALL])), ...moby];
  const txt = path.join(dir, 'corpus.txt');
  fs.writeFileSync(txt, docs.join('\n\n') + '\n');
  return { txt, docs };
}

test('plain text, JSONL, gzip of both and Parquet (written by parquetjs) give the same documents', async () => {
  const dir = tmpDir();
  const { txt, docs } = await corpus(dir);
  assert.deepEqual(texts(await readCorpus([txt])), docs);
  const jsonl = path.join(dir, 'corpus.jsonl');
  fs.writeFileSync(jsonl, docs.map((t, i) => JSON.stringify({ id: i, body: t })).join('\n') + '\n');
  fs.writeFileSync(`${txt}.gz`, zlib.gzipSync(fs.readFileSync(txt)));
  // Two gzip members back to back, as `cat a.gz b.gz` makes: one stream of text.
  const half = Math.floor(docs.length / 2);
  fs.writeFileSync(
    `${jsonl}.gz`,
    Buffer.concat([
      zlib.gzipSync(
        docs
          .slice(0, half)
          .map((t) => JSON.stringify({ body: t }))
          .join('\n') + '\n',
      ),
      zlib.gzipSync(
        docs
          .slice(half)
          .map((t) => JSON.stringify({ body: t }))
          .join('\n') + '\n',
      ),
    ]),
  );
  for (const f of [jsonl, `${jsonl}.gz`])
    assert.deepEqual(texts(await readCorpus([f], { textField: 'body' })), docs, f);
  assert.deepEqual(texts(await readCorpus([`${txt}.gz`])), docs);
  for (const compression of ['UNCOMPRESSED', 'SNAPPY', 'GZIP']) {
    const file = path.join(dir, `corpus-${compression}.parquet`);
    const schema = new parquet.ParquetSchema({
      id: { type: 'INT64' },
      content: { type: 'UTF8', compression },
    });
    const w = await parquet.ParquetWriter.openFile(schema, file, { rowGroupSize: 4 });
    for (const [i, t] of docs.entries()) await w.appendRow({ id: i, content: t });
    await w.close();
    assert.deepEqual(texts(await readCorpus([file], { textField: 'content' })), docs, compression);
    await rejectsOneLine(readCorpus([file]), /no column "text"/, /id, content/, /--text-field/);
  }
  // Mixed formats in one folder, read in path order.
  const mixed = path.join(dir, 'mixed');
  fs.mkdirSync(mixed);
  fs.writeFileSync(path.join(mixed, 'a.txt'), docs.slice(0, 3).join('\n\n'));
  fs.writeFileSync(
    path.join(mixed, 'b.jsonl.gz'),
    zlib.gzipSync(
      docs
        .slice(3, 6)
        .map((t) => JSON.stringify({ text: t }))
        .join('\n'),
    ),
  );
  const w = await parquet.ParquetWriter.openFile(
    new parquet.ParquetSchema({ text: { type: 'UTF8' } }),
    path.join(mixed, 'c.parquet'),
  );
  for (const t of docs.slice(6)) await w.appendRow({ text: t });
  await w.close();
  fs.writeFileSync(path.join(mixed, 'notes.md'), 'not data');
  assert.deepEqual(texts(await readCorpus([mixed])), docs);
});

test('zstd files (made by the zstd tool) read like their plain text', async () => {
  const want = texts(await readCorpus([SMALL]));
  assert.equal(want.length, 6);
  assert.deepEqual(texts(await readCorpus([path.join(FIXTURES, 'small.txt.zst')])), want);
  assert.deepEqual(texts(await readCorpus([path.join(FIXTURES, 'small.jsonl.zst')])), want);
  assert.deepEqual(texts(await readCorpus([path.join(FIXTURES, 'small.jsonl.zst')], { chunkBytes: 5 })), want);
});

test('tiny read chunks: lines, documents, CRLF and multi-byte characters across chunk ends come out intact', async () => {
  const dir = tmpDir();
  const { txt, docs } = await corpus(dir);
  const small = fs.readFileSync(SMALL);
  const gz = path.join(dir, 'small.txt.gz');
  fs.writeFileSync(gz, zlib.gzipSync(small));
  const want = texts(await readCorpus([SMALL]));
  assert.ok(want[2]!.includes('\n') && !want[2]!.includes('\r'), 'CRLF became LF');
  assert.match(want[1]!, /🐋🌊/);
  for (const chunkBytes of [1, 2, 3, 4, 7]) {
    assert.deepEqual(texts(await readCorpus([SMALL], { chunkBytes })), want, `chunk ${chunkBytes}`);
    assert.deepEqual(texts(await readCorpus([gz], { chunkBytes })), want, `gzip chunk ${chunkBytes}`);
    const lines = await readCorpus([SMALL], { chunkBytes, docPerLine: true });
    assert.deepEqual(texts(lines), texts(await readCorpus([SMALL], { docPerLine: true })));
  }
  assert.deepEqual(texts(await readCorpus([txt], { chunkBytes: 13 })), docs);
  // A lone CR at a chunk end followed by LF is one line end, not two.
  const cr = path.join(dir, 'cr.txt');
  fs.writeFileSync(cr, 'a\r\nb\rc\r\n\r\nd');
  for (const chunkBytes of [1, 2, 3]) assert.deepEqual(texts(await readCorpus([cr], { chunkBytes })), ['a\nb\nc', 'd']);
});

test('decoding statistics: invalid UTF-8 and NUL bytes counted per file, literal U+FFFD not', async () => {
  const dir = tmpDir();
  const f = path.join(dir, 'few-bad.txt');
  // Text with a literal U+FFFD (valid UTF-8), two invalid bytes and a cut 3-byte sequence at the end.
  const body = Buffer.from('ok \ufffd ' + 'plain text here. '.repeat(300));
  fs.writeFileSync(f, Buffer.concat([body, Buffer.from([0xff, 0xfe, 0x20, 0x41, 0xe2, 0x82])]));
  for (const chunkBytes of [1, 2, 5, 1024]) {
    let last: FileReadStats | undefined;
    let calls = 0;
    const warnings: string[] = [];
    const opts = {
      chunkBytes,
      warn: (l: string) => warnings.push(l),
      inspect: (s: FileReadStats) => ((last = { ...s }), calls++),
    };
    for await (const chunk of fileText(f, opts)) void chunk;
    assert.ok(last?.done);
    assert.ok(calls >= 2);
    assert.equal(last.nulBytes, 0, `chunk ${chunkBytes}`);
    assert.equal(last.replacementChars, 3, `chunk ${chunkBytes}: 0xff, 0xfe and the cut sequence`);
    assert.equal(last.bytes, fs.statSync(f).size);
    // A trace of invalid UTF-8 is a warning with its count (text-check.ts's policy), not an error.
    assert.deepEqual(warnings, [`${f}: 3 invalid UTF-8 byte sequence(s) replaced by U+FFFD`]);
  }
  // A NUL byte refuses the file (binary), after the hook has seen it.
  const bin = path.join(dir, 'bin.txt');
  fs.writeFileSync(bin, Buffer.concat([Buffer.from('text '.repeat(100)), Buffer.from([0]), Buffer.from(' more')]));
  let seen = 0;
  await rejectsOneLine(
    readCorpus([bin], { chunkBytes: 64, inspect: (s) => (seen = s.nulBytes) }),
    /bin\.txt looks binary \(1 NUL bytes\)/,
  );
  assert.equal(seen, 1);
  // The hook can refuse a file itself: the error reaches the caller.
  await assert.rejects(
    readCorpus([f], {
      warn: () => {},
      inspect: (s) => {
        if (s.replacementChars > 0) throw new GrowbertError(`${s.file} has bad bytes`);
      },
    }),
    /has bad bytes/,
  );
});

test('damaged gzip, zstd and Parquet files fail with one line naming the file', async () => {
  const dir = tmpDir();
  const { txt, docs } = await corpus(dir);
  const gzBytes = zlib.gzipSync(fs.readFileSync(txt));
  const zstBytes = fs.readFileSync(path.join(FIXTURES, 'small.txt.zst'));
  const pq = path.join(dir, 'c.parquet');
  const w = await parquet.ParquetWriter.openFile(
    new parquet.ParquetSchema({ text: { type: 'UTF8', compression: 'GZIP' } }),
    pq,
    { rowGroupSize: 3 },
  );
  for (const t of docs) await w.appendRow({ text: t });
  await w.close();
  const pqBytes = fs.readFileSync(pq);
  const put = (name: string, b: Uint8Array): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, b);
    return p;
  };
  const flip = (b: Buffer, at: number): Buffer => {
    const c = Buffer.from(b);
    for (let i = at; i < at + 16 && i < c.length; i++) c[i] = c[i]! ^ 0x5a;
    return c;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['trunc.txt.gz', gzBytes.subarray(0, gzBytes.length >> 1), /gzip/],
    ['bad.txt.gz', flip(gzBytes, 40), /gzip/],
    ['notgz.txt.gz', Buffer.from('plain text, not gzip'), /gzip/],
    ['trunc.txt.zst', zstBytes.subarray(0, zstBytes.length - 20), /zstd/],
    ['bad.txt.zst', flip(zstBytes, 0), /zstd/],
    ['trunc.parquet', pqBytes.subarray(0, pqBytes.length - 10), /Parquet/],
    ['bad.parquet', flip(pqBytes, 60), /Parquet/],
  ];
  for (const [name, bytes, kind] of cases) {
    const p = put(name, bytes);
    await rejectsOneLine(readCorpus([p]), new RegExp(name.replace('.', '\\.')), kind);
  }
});

test('unknown formats are refused with the supported list; names map to formats', async () => {
  const dir = tmpDir();
  const csv = path.join(dir, 'data.csv');
  fs.writeFileSync(csv, 'a,b\n');
  await rejectsOneLine(readCorpus([csv]), /data\.csv/, /\.txt/, /\.jsonl/, /\.gz/, /\.zst/, /\.parquet/);
  await rejectsOneLine(readCorpus([path.join(dir, '*.csv')]), /data\.csv/, /supported/);
  assert.equal(formatOf('a/b.TXT.GZ'), 'text');
  assert.equal(formatOf('x.jsonl.zst'), 'jsonl');
  assert.equal(formatOf('x.ndjson'), 'jsonl');
  assert.equal(formatOf('train-00000-of-00004.parquet'), 'parquet');
  assert.equal(formatOf('README'), 'text');
  assert.equal(formatOf('x.parquet.gz'), undefined);
  assert.equal(formatOf('x.bz2'), undefined);
});

test('a dotted --text-field reads a field of a nested JSON object or a Parquet struct', async () => {
  const dir = tmpDir();
  const docs = ['first document', 'zweites Dokument', 'third one'];
  const jsonl = path.join(dir, 'nested.jsonl');
  const lines = docs.map((t, i) => JSON.stringify({ id: i, meta: { text: t, lang: 'en' } }));
  fs.writeFileSync(jsonl, [...lines, JSON.stringify({ 'meta.text': 'a flat key with a dot' })].join('\n') + '\n');
  assert.deepEqual(texts(await readCorpus([jsonl], { textField: 'meta.text' })), [...docs, 'a flat key with a dot']);
  fs.writeFileSync(jsonl, JSON.stringify({ meta: { body: 'x' } }) + '\n');
  await rejectsOneLine(readCorpus([jsonl], { textField: 'meta.text' }), /"meta\.text"/, /a\.b for a nested field/);

  const file = path.join(dir, 'nested.parquet');
  const schema = new parquet.ParquetSchema({
    id: { type: 'INT64' },
    meta: { fields: { text: { type: 'UTF8' }, lang: { type: 'UTF8' } } },
  });
  const w = await parquet.ParquetWriter.openFile(schema, file, { rowGroupSize: 2 });
  for (const [i, t] of docs.entries()) await w.appendRow({ id: i, meta: { text: t, lang: 'en' } });
  await w.close();
  assert.deepEqual(texts(await readCorpus([file], { textField: 'meta.text' })), docs);
  await rejectsOneLine(readCorpus([file], { textField: 'other.text' }), /no column "other\.text"/, /id, meta/);
});
