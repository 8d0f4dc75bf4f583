import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GrowbertError } from '../../src/io/errors.js';
import {
  BUILTIN_CORPORA,
  countWords,
  expandGlob,
  globToRegExp,
  iterateCorpus,
  readCorpus,
  type Document,
} from '../../src/data/corpus.js';
import { splitDocuments } from '../../src/data/split.js';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-corpus-'));
}

function write(dir: string, rel: string, text: string): string {
  const p = path.join(dir, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

/** Assert `fn` rejects with a one-line GrowbertError matching every pattern. */
async function throwsGrowbert(fn: () => Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(e instanceof GrowbertError, `expected GrowbertError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `message is not one line: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('plain text: blank lines separate documents; docPerLine makes each line one', async () => {
  const dir = tmpDir();
  const f = write(dir, 'a.txt', '\ufeffFirst doc line one.\r\nline two.\n\n  \nSecond doc.\n\n\nThird\n');
  const docs = await readCorpus([f]);
  assert.deepEqual(
    docs.map((d) => d.text),
    ['First doc line one.\nline two.', 'Second doc.', 'Third'],
  );
  assert.equal(docs[0]!.source, `${f}:1`);
  assert.equal(docs[1]!.source, `${f}:5`);
  const lines = await readCorpus([f], { docPerLine: true });
  assert.deepEqual(
    lines.map((d) => d.text),
    ['First doc line one.', 'line two.', 'Second doc.', 'Third'],
  );
});

test('folder: every .txt file recursively, sorted by path', async () => {
  const dir = tmpDir();
  write(dir, 'b.txt', 'bee');
  write(dir, 'a/z.txt', 'zed');
  write(dir, 'a/y.md', 'not text');
  write(dir, 'c/d/e.txt', 'eee');
  const docs = await readCorpus([dir]);
  assert.deepEqual(
    docs.map((d) => d.text),
    ['zed', 'bee', 'eee'],
  );
});

test('globs: *, ** and ? select files; a glob without matches is an error', async () => {
  const dir = tmpDir();
  write(dir, 'x1.txt', 'one');
  write(dir, 'x2.txt', 'two');
  write(dir, 'x10.txt', 'ten');
  write(dir, 'sub/x3.txt', 'three');
  write(dir, 'sub/deep/x4.txt', 'four');
  write(dir, 'sub/y.jsonl', '{"text":"jay"}\n');
  const texts = async (spec: string): Promise<string[]> => (await readCorpus([spec])).map((d) => d.text);
  assert.deepEqual(await texts(path.join(dir, '*.txt')), ['one', 'ten', 'two']);
  assert.deepEqual(await texts(path.join(dir, 'x?.txt')), ['one', 'two']);
  assert.deepEqual(await texts(path.join(dir, '**/*.txt')), ['four', 'three', 'one', 'ten', 'two']);
  assert.deepEqual(await texts(path.join(dir, 'sub/*')), ['three', 'jay']);
  assert.deepEqual(expandGlob(path.join(dir, 'nope/*.txt')), []);
  await throwsGrowbert(() => readCorpus([path.join(dir, '*.csv')]), /matches no files/, /\*\.csv/);
  assert.ok(globToRegExp('**/a?.txt').test('a1.txt'));
  assert.ok(globToRegExp('**/a?.txt').test('p/q/a1.txt'));
  assert.ok(!globToRegExp('*.txt').test('p/a.txt'));
  assert.ok(globToRegExp('a.b+(c).txt').test('a.b+(c).txt'), 'regex characters are literal');
});

test('jsonl: one document per line from "text"; bad lines name file and line', async () => {
  const dir = tmpDir();
  const good = write(dir, 'good.jsonl', '{"text": "alpha", "id": 1}\n\n{"text": "beta"}\n{"text": "   "}\n');
  const docs = await readCorpus([good]);
  assert.deepEqual(
    docs.map((d) => [d.text, d.source]),
    [
      ['alpha', `${good}:1`],
      ['beta', `${good}:3`],
    ],
  );
  const badJson = write(dir, 'bad.jsonl', '{"text": "ok"}\n{"text": nope}\n');
  await throwsGrowbert(() => readCorpus([badJson]), /bad\.jsonl:2/, /not valid JSON/);
  const noText = write(dir, 'notext.jsonl', '{"text": "ok"}\n{"body": "x"}\n');
  await throwsGrowbert(() => readCorpus([noText]), /notext\.jsonl:2/, /"text"/);
  const notObject = write(dir, 'arr.jsonl', '["text"]\n');
  await throwsGrowbert(() => readCorpus([notObject]), /arr\.jsonl:1/);
  const numText = write(dir, 'num.jsonl', '{"text": 5}\n');
  await throwsGrowbert(() => readCorpus([numText]), /num\.jsonl:1/);
});

test('errors: missing path, empty folder, empty corpus, unknown built-in', async () => {
  const dir = tmpDir();
  await throwsGrowbert(() => readCorpus([path.join(dir, 'missing.txt')]), /missing\.txt/, /does not exist/);
  fs.mkdirSync(path.join(dir, 'empty'));
  await throwsGrowbert(() => readCorpus([path.join(dir, 'empty')]), /holds no \.txt, \.jsonl or \.parquet files/);
  const blank = write(dir, 'blank.txt', ' \n\t\n\n');
  await throwsGrowbert(() => readCorpus([blank]), /holds no text/, /blank\.txt/);
  await throwsGrowbert(
    () => readCorpus(['stdlib:shakespeare']),
    /stdlib:shakespeare/,
    /stdlib:sotu/,
    /stdlib:moby-dick/,
  );
  assert.deepEqual(BUILTIN_CORPORA, ['stdlib:sotu', 'stdlib:moby-dick']);
});

test('mixed specs are read in order; iterateCorpus is lazy', async () => {
  const dir = tmpDir();
  const a = write(dir, 'a.txt', 'A doc');
  const b = write(dir, 'b.jsonl', '{"text":"B doc"}\n');
  assert.deepEqual(
    (await readCorpus([b, a])).map((d) => d.text),
    ['B doc', 'A doc'],
  );
  const it = iterateCorpus([a, path.join(dir, 'missing.txt')]);
  assert.equal((await it.next()).value?.text, 'A doc', 'first spec is read before the bad one is touched');
  await assert.rejects(() => it.next(), GrowbertError);
});

test('built-in corpora load with plausible sizes', async () => {
  const sotu = await readCorpus(['stdlib:sotu']);
  const moby = await readCorpus(['stdlib:moby-dick']);
  const words = (ds: Document[]): number => ds.reduce((n, d) => n + countWords(d.text), 0);
  assert.ok(sotu.length > 200 && sotu.length < 300, `sotu: ${sotu.length} addresses`);
  assert.ok(words(sotu) > 1.6e6 && words(sotu) < 2.0e6, `sotu: ${words(sotu)} words`);
  assert.ok(moby.length >= 135 && moby.length < 150, `moby-dick: ${moby.length} chapters`);
  assert.ok(words(moby) > 0.2e6 && words(moby) < 0.4e6, `moby-dick: ${words(moby)} words`);
  assert.match(moby.find((d) => d.source === 'stdlib:moby-dick/1')!.text, /^Call me Ishmael/);
  assert.match(sotu[0]!.source, /^stdlib:sotu\/1790 /);
  // No argument / empty list means the default corpus, both built-ins.
  assert.equal((await readCorpus()).length, sotu.length + moby.length);
  assert.equal((await readCorpus([])).length, sotu.length + moby.length);
});

test('split: deterministic per (seed, text), order-independent, reported, both sides non-empty', async () => {
  const docs: Document[] = Array.from({ length: 500 }, (_, i) => ({
    source: `d${i}`,
    text: `document number ${i} with some words`,
  }));
  const s1 = splitDocuments(docs, { seed: 7, validationFraction: 0.1 });
  const s2 = splitDocuments([...docs].reverse(), { seed: 7, validationFraction: 0.1 });
  assert.equal(s1.train.length + s1.validation.length, 500);
  assert.ok(s1.validation.length > 25 && s1.validation.length < 80, `${s1.validation.length} validation docs`);
  const ids = (ds: Document[]): string[] => ds.map((d) => d.source).sort();
  assert.deepEqual(ids(s1.validation), ids(s2.validation), 'split does not depend on order');
  const s3 = splitDocuments(docs, { seed: 8, validationFraction: 0.1 });
  assert.notDeepEqual(ids(s1.validation), ids(s3.validation), 'another seed, another split');
  assert.match(s1.report, /split 500 documents \(seed 7\): train \d+ docs \/ [\d.k]+ words, validation \d+ docs/);
  // Default fraction 2%.
  const d = splitDocuments(docs);
  assert.ok(d.validation.length >= 3 && d.validation.length <= 22, `${d.validation.length}`);
  // Tiny corpora still get one document on each side.
  const two = splitDocuments(docs.slice(0, 2), { validationFraction: 0.01 });
  assert.equal(two.train.length, 1);
  assert.equal(two.validation.length, 1);
  const most = splitDocuments(docs.slice(0, 3), { validationFraction: 0.99 });
  assert.ok(most.train.length >= 1);
  const one = splitDocuments(docs.slice(0, 1));
  assert.equal(one.train.length, 1);
  assert.equal(one.validation.length, 0);
  // Identical texts land together.
  const dup = splitDocuments([...docs, ...docs.map((x) => ({ ...x, source: `copy-${x.source}` }))], {
    seed: 7,
    validationFraction: 0.1,
  });
  for (const v of dup.validation) assert.ok(dup.validation.some((w) => w !== v && w.text === v.text));
  assert.throws(() => splitDocuments(docs, { validationFraction: 1 }), GrowbertError);
});
