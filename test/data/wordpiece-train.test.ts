// The WordPiece trainer is deterministic (same texts: the same vocabulary, bit for bit, also in
// another process, where hash seeds and worker timing differ), keeps the alphabet first, and
// merges the most frequent pair first with ties broken the same way every time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { readCorpus } from '../../src/data/corpus.js';
import { countWords, trainWordPiece } from '../../src/data/wordpiece-train.js';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { alphabetEnd } from '../../src/data/tokenizer-train.js';

const texts = (await readCorpus(['stdlib:moby-dick'])).slice(0, 12).map((d) => d.text);

test('countWords: BERT normalization and pre-tokenization (lowercase, accents, punctuation alone)', () => {
  assert.deepEqual([...countWords(['Héllo, WORLD! hello'])].sort(), [
    ['!', 1],
    [',', 1],
    ['hello', 2],
    ['world', 1],
  ]);
});

test('a toy corpus: the alphabet, then continuation characters, then merges by frequency', () => {
  const v = trainWordPiece(['ab ab ab abc'], { vocabSize: 100 });
  assert.deepEqual(v.slice(0, 5), ['a', 'b', 'c', '##b', '##c']); // every character, and those inside words
  assert.equal(v[5], 'ab'); // (a, ##b) occurs 4 times
  assert.equal(v[6], 'abc');
  assert.equal(v.length, 7);
});

test('same texts, same vocabulary, bit for bit: in this process and in another', () => {
  const a = BertTokenizer.train(texts).vocab();
  const b = BertTokenizer.train(texts).vocab();
  assert.deepEqual(a, b);
  assert.ok(a.length > 2000, `${a.length}`);
  alphabetEnd(a, '##'); // throws if a single character came after a merged piece
  const mod = path.resolve('dist/src/data/tokenizer.js');
  const corpusMod = path.resolve('dist/src/data/corpus.js');
  const code = `const { BertTokenizer } = await import(${JSON.stringify(mod)});
    const { readCorpus } = await import(${JSON.stringify(corpusMod)});
    const t = (await readCorpus(['stdlib:moby-dick'])).slice(0, 12).map((d) => d.text);
    process.stdout.write(BertTokenizer.train(t).vocab().join('\\n'));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, a.join('\n'));
});
