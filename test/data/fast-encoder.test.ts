// The bulk encoder must give exactly the Hugging Face binding's ids: on the built-in corpora,
// on the Hugging Face tokenizer fixture, on GLUE sentences, on a Unicode stress text, and its
// whitespace / punctuation split must agree with BertPreTokenizer for every code point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bertPreTokenizer } from 'tokenizers';
import { readCorpus } from '../../src/data/corpus.js';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { FastWordPieceEncoder, bertSplitClass } from '../../src/data/fast-encoder.js';
import { hfFixture } from '../helpers/hf-fixtures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// GLUE data lives in shared/ (beside the repo, or inside it on machines that carry a copy; never committed).
const GLUE = ['../../../../shared/data/glue', '../../../shared/data/glue']
  .map((p) => path.resolve(here, p))
  .find((p) => fs.existsSync(p));
const TOKENIZER_FIXTURE = hfFixture('tokenizer');

const STRESS = [
  'Héllo Wörld ΣΑΣ όσος 🥰 中文字 a\u200bb \x01ab\x0bcd\x7f [MASK] x[SEP]y[PAD] [mask] naïve café Ⅻ ﬁ ǅ İstanbul',
  '\u00a0nbsp\u3000ideo ‐dash¿que? «q» ‹x› 1,000.5 e\u0301 ｆｕｌｌ ＡＢＣ\u0085next\u2028line\ufeffbom \u00ad soft',
  'tab\tnew\nline\r\ncr \ud83d lone surrogate \ufffd replacement \u0000nul 한국어 日本語のテキスト 𠀀𠀁 x'.repeat(2),
  'supercalifragilisticexpialidocious'.repeat(4) + ' ' + 'ab'.repeat(60) + ' ' + 'é'.repeat(101) + ' ' + 'ß'.repeat(50),
  'UPPER lower MiXeD 123abc abc123 a.b.c e-mail@example.com $100 #tag @user ^_^ ~tilde `tick` {brace} |pipe|',
];

function assertSameIds(tok: BertTokenizer, texts: readonly string[], expected: Int32Array[], what: string): void {
  const enc = new FastWordPieceEncoder(tok.fastEncoderSpec()!);
  let checked = 0;
  texts.forEach((t, i) => {
    const got = enc.encode(t);
    const want = expected[i]!;
    if (got.length !== want.length || got.some((v, j) => v !== want[j])) {
      let j = 0;
      while (got[j] === want[j]) j++;
      assert.fail(
        `${what}: text ${i} differs at token ${j}: fast ${[...got.slice(j, j + 5)]} vs binding ${[...want.slice(j, j + 5)]} near '${tok.decode(want.slice(Math.max(0, j - 3), j + 3))}'`,
      );
    }
    checked += got.length;
  });
  assert.ok(checked > 0);
}

test('built-in corpora: ids equal the binding, with a full and a small (subword-heavy) vocabulary', async () => {
  const docs = (await readCorpus()).map((d) => d.text);
  const tok = BertTokenizer.train(docs.filter((_, i) => i % 4 === 0));
  assert.ok(tok.fastEncoderSpec(), 'growbert-trained tokenizers use the fast encoder');
  const all = [...docs, ...STRESS];
  assertSameIds(tok, all, await tok.encodeBatch(all), 'trained vocabulary');
  const small = tok.truncate(600);
  const some = [...docs.slice(0, 40), ...STRESS];
  assertSameIds(small, some, await small.encodeBatch(some), 'vocabulary of 600');
});

test('Hugging Face tokenizer fixture: ids equal the binding', async () => {
  const tok = BertTokenizer.fromFile(path.join(TOKENIZER_FIXTURE, 'tokenizer.json'));
  const expected = JSON.parse(fs.readFileSync(path.join(TOKENIZER_FIXTURE, 'expected.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const texts = [...Object.values(expected).filter((v): v is string => typeof v === 'string'), ...STRESS];
  assert.ok(tok.fastEncoderSpec(), 'the fixture tokenizer.json is one the fast encoder reproduces');
  assertSameIds(tok, texts, await tok.encodeBatch(texts), 'fixture tokenizer.json');
  const vocabTok = BertTokenizer.fromFile(path.join(TOKENIZER_FIXTURE, 'vocab.txt'));
  assertSameIds(vocabTok, texts, await vocabTok.encodeBatch(texts), 'fixture vocab.txt');
});

test('GLUE sentences: ids equal the binding', { skip: !GLUE && 'shared GLUE data absent' }, async () => {
  const glue = GLUE!;
  const sentences: string[] = [];
  for (const task of fs.readdirSync(glue).sort()) {
    const dev = path.join(glue, task, 'dev.tsv');
    if (fs.existsSync(dev)) sentences.push(...fs.readFileSync(dev, 'utf8').split('\n').slice(1, 400));
  }
  assert.ok(sentences.length > 500, `${sentences.length} GLUE lines`);
  const trained = BertTokenizer.train(sentences, { vocabSize: 3000 });
  assertSameIds(trained, sentences, await trained.encodeBatch(sentences), 'GLUE dev sentences');
});

test('whitespace and punctuation split agrees with BertPreTokenizer for every code point', () => {
  const pre = bertPreTokenizer();
  const mismatches: string[] = [];
  for (let block = 0; block < 0x110000; block += 0x4000) {
    // "a<cp>b " per code point: the pre-tokenizer gives [a<cp>b], [a, b] (space) or [a, <cp>, b] (punctuation).
    const cps: number[] = [];
    let s = '';
    for (let cp = block; cp < block + 0x4000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates are not characters
      cps.push(cp);
      s += `a${String.fromCodePoint(cp)}b `;
    }
    const words = pre.preTokenizeString(s).map(([w]) => w);
    let k = 0;
    for (const cp of cps) {
      const ch = String.fromCodePoint(cp);
      let theirs: string;
      if (words[k] === `a${ch}b`) {
        theirs = 'word';
        k += 1;
      } else if (words[k] === 'a' && words[k + 1] === 'b') {
        theirs = 'space';
        k += 2;
      } else if (words[k] === 'a' && words[k + 1] === ch && words[k + 2] === 'b') {
        theirs = 'punct';
        k += 3;
      } else {
        assert.fail(
          `cannot read the pre-tokenizer's answer for U+${cp.toString(16)}: ${JSON.stringify(words.slice(k, k + 3))}`,
        );
      }
      if (bertSplitClass(ch) !== theirs) mismatches.push(`U+${cp.toString(16)} ${theirs}`);
    }
  }
  assert.deepEqual(mismatches, []);
});
