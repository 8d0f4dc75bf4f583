// A vocabulary may hold any string: tokens named like Object properties (`constructor`,
// `__proto__`, `toString`) keep their ids through fromVocab, vocab.txt and tokenizer.json (a
// plain object dropped `constructor` and turned `__proto__` into undefined); a vocab.txt that
// starts with a byte-order mark loads; a FIFO as the tokenizer file is refused before it is
// opened; pair truncation keeps what Hugging Face's longest_first keeps, each text first cut at a
// word boundary as tokenizers does (the interop suite checks the same against transformers itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BertTokenizer, SPECIAL_TOKENS, longestFirst } from '../../src/data/tokenizer.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-tok-keys-'));
const PROTO = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const TOKENS = [...SPECIAL_TOKENS, ...'abcdefghijklmnopqrstuvwxyz_'.split(''), ...PROTO, 'whale', '##s'];

function checkIds(tok: BertTokenizer): void {
  assert.equal(tok.vocabSize, TOKENS.length);
  assert.deepEqual([...tok.vocab()], TOKENS);
  for (const t of PROTO) assert.equal(tok.tokenToId(t), TOKENS.indexOf(t), t);
  assert.equal(tok.tokenToId('isPrototypeOf'), undefined, 'a property name not in the vocabulary is no token');
  // `constructor` and `valueof` encode to their own ids (BertPreTokenizer splits `__proto__` at the underscores)
  assert.deepEqual(
    [...tok.encode('constructor whales')],
    [TOKENS.indexOf('constructor'), TOKENS.indexOf('whale'), TOKENS.indexOf('##s')],
  );
}

test('tokens named like Object properties keep their ids: fromVocab, vocab.txt, tokenizer.json', () => {
  const tok = BertTokenizer.fromVocab(TOKENS);
  checkIds(tok);
  tok.save(dir);
  assert.ok(!fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').includes('\n\n'), 'no blank line in vocab.txt');
  checkIds(BertTokenizer.fromFile(path.join(dir, 'vocab.txt')));
  const fromJson = BertTokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  checkIds(fromJson);
  assert.equal(fromJson.fingerprint, tok.fingerprint);
});

test('a vocab.txt with a byte-order mark loads; a FIFO as tokenizer file is refused before it is opened', () => {
  const bom = path.join(dir, 'bom-vocab.txt');
  fs.writeFileSync(bom, '\ufeff' + TOKENS.join('\n') + '\n');
  checkIds(BertTokenizer.fromFile(bom));
  const fifo = path.join(dir, 'fifo.txt');
  execFileSync('mkfifo', [fifo]);
  assert.throws(
    () => BertTokenizer.fromFile(fifo),
    /tokenizer file .*fifo\.txt is a FIFO \(named pipe\), not a regular file/,
  );
  const loop = path.join(dir, 'loop.txt');
  fs.symlinkSync(loop, loop);
  assert.throws(() => BertTokenizer.fromFile(loop), /loop\.txt is a symbolic link loop/);
});

test("pair truncation keeps what Hugging Face's longest_first keeps", () => {
  // [la, lb, maxLength] -> kept: the spare token of an odd budget goes to the longer text, to B on a tie
  const cases: [number, number, number, [number, number]][] = [
    [50, 50, 64, [30, 31]],
    [60, 50, 64, [31, 30]],
    [50, 60, 64, [30, 31]],
    [50, 50, 65, [31, 31]],
    [10, 100, 64, [10, 51]],
    [100, 10, 64, [51, 10]],
    [100, 70, 64, [31, 30]],
    [64, 64, 64, [30, 31]],
    [3, 4, 64, [3, 4]],
    [40, 30, 64, [31, 30]],
    [31, 31, 64, [30, 31]],
    [1, 1, 4, [0, 1]],
    [5, 5, 3, [0, 0]],
    [6, 6, 6, [1, 2]],
    [6, 5, 6, [2, 1]],
  ];
  for (const [la, lb, n, want] of cases) assert.deepEqual(longestFirst(la, lb, n), want, `${la} ${lb} ${n}`);
  assert.deepEqual(longestFirst(100, 0, 64, false), [62, 0], 'a single text keeps maxLength - 2');
  const tok = BertTokenizer.fromVocab(TOKENS);
  const a = Int32Array.from({ length: 50 }, () => 5);
  const b = Int32Array.from({ length: 50 }, () => 6);
  const { ids, typeIds } = tok.encodePair(a, b, 64);
  assert.equal(ids.length, 64);
  assert.equal(typeIds.filter((t) => t === 1).length, 31 + 1, 'B keeps 31 tokens and its [SEP]');
  // each text is first cut after the word holding its maxLength-th token: two 100-token texts of
  // one-token words tie at 64 (B gets the spare); a 3-token word across position 64 makes A 66 long
  const the = tok.tokenToId('whale')!;
  const words = (n: number) => Int32Array.from({ length: n }, () => the);
  const tie = tok.encodePair(words(100), words(70), 64).typeIds;
  assert.equal(tie.filter((t) => t === 1).length, 31 + 1, 'both cut to 64: a tie');
  const s = tok.tokenToId('##s')!;
  const across = Int32Array.from({ length: 100 }, (_, i) => (i === 64 || i === 65 ? s : the)); // word 63..65
  const long = tok.encodePair(across, words(70), 64).typeIds;
  assert.equal(long.filter((t) => t === 0).length, 31 + 2, 'A (66 after the word cut) is longer: it gets the spare');
  // an empty second text is no second text (transformers: tok(a, '') is tok(a)); ' ' is an empty pair
  assert.deepEqual([...tok.encodePair('whale', '').ids], [...tok.encodePair('whale').ids]);
  assert.equal(tok.encodePair('whale', ' ').ids.length, 4);
});
