// The tokenizer's training text: bounded, deterministic, spread over the files by size, and
// never a validation document; a corpus within the budget is taken whole (as before sampling).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { corpusSource, readCorpus } from '../../src/data/corpus.js';
import { splitDocuments, splitKey } from '../../src/data/split.js';
import { sampleTrainingDocuments } from '../../src/data/tokenizer-sample.js';

function corpus(): { dir: string; files: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-sample-'));
  const files = ['big.txt', 'small.txt'].map((f) => path.join(dir, f));
  const doc = (f: string, i: number): string => `document ${i} of ${f} ` + 'with some words in it '.repeat(5);
  fs.writeFileSync(files[0]!, Array.from({ length: 300 }, (_, i) => doc('big', i)).join('\n\n'));
  fs.writeFileSync(files[1]!, Array.from({ length: 100 }, (_, i) => doc('small', i)).join('\n\n'));
  return { dir, files };
}

test('a big corpus gives a bounded sample from every file, in proportion, without validation documents', async () => {
  const { dir, files } = corpus();
  const source = corpusSource([dir]);
  const opts = { validationFraction: 0.1, maxChars: 6000 };
  const s = await sampleTrainingDocuments(source, opts);
  assert.equal(s.complete, false);
  assert.match(s.report, /sample/);
  assert.ok(s.chars <= 6000 + 2 * 140, `${s.chars} characters`);
  const from = (f: string): number => s.docs.filter((d) => d.source.startsWith(f)).length;
  const big = from(files[0]!);
  const small = from(files[1]!);
  assert.ok(big > 0 && small > 0, 'both files sampled');
  assert.ok(Math.abs(big / small - 3) < 0.6, `proportional to size: ${big} vs ${small}`);
  for (const d of s.docs) assert.ok(splitKey(d.text, 0) >= 0.1, 'training documents only');
  const again = await sampleTrainingDocuments(source, opts);
  assert.deepEqual(again.docs, s.docs, 'deterministic');
});

test('a corpus within the budget is sampled whole: the training split', async () => {
  const { dir } = corpus();
  const s = await sampleTrainingDocuments(corpusSource([dir]), { validationFraction: 0.1 });
  assert.equal(s.complete, true);
  const split = splitDocuments(await readCorpus([dir]), { validationFraction: 0.1 });
  assert.deepEqual(
    s.docs.map((d) => d.text),
    split.train.map((d) => d.text),
  );
});

test('a document longer than the budget (a book on one line) is cut to it, at a space', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-longline-'));
  const file = path.join(dir, 'one-line.txt');
  fs.writeFileSync(file, 'lorem ipsum dolor sit amet '.repeat(40_000) + '\n');
  const s = await sampleTrainingDocuments(corpusSource([file]), { validationFraction: 0, maxChars: 100_000 });
  assert.equal(s.docs.length, 1);
  assert.ok(s.chars <= 100_000 && s.chars > 99_000, `${s.chars}`);
  assert.match(s.docs[0]!.text.slice(-12), / (lorem|ipsum|dolor|sit|amet)$/, 'cut between words');
});
