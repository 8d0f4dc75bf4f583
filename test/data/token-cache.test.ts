import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GrowbertError } from '../../src/io/errors.js';
import { readCorpus, type Document } from '../../src/data/corpus.js';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { TokenCache, ensureTokenCache, type CacheTokenizer } from '../../src/data/token-cache.js';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-cache-'));
}

const DOCS: Document[] = (await readCorpus(['stdlib:moby-dick'])).slice(0, 12);
const TOK = BertTokenizer.train(DOCS, { vocabSize: 2000 });

/** The tokenizer, counting how many encodeBatch calls (i.e. builds) happen. */
function counting(tok: BertTokenizer): CacheTokenizer & { calls: number } {
  const c = {
    calls: 0,
    fingerprint: tok.fingerprint,
    encodeBatch: (texts: readonly string[]) => {
      c.calls++;
      return tok.encodeBatch(texts);
    },
  };
  return c;
}

function mtimes(dir: string): Record<string, number> {
  return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.statSync(path.join(dir, f)).mtimeMs]));
}

test('builds shards that hold exactly the tokenizer output, document by document', async () => {
  const dir = tmpDir();
  const tok = counting(TOK);
  const cache = await ensureTokenCache({ dir, docs: DOCS, tokenizer: tok, shardTokens: 5000, batchChars: 30_000 });
  assert.equal(cache.rebuilt, true);
  assert.ok(tok.calls > 1, 'encoded in several batches');
  const m = cache.manifest;
  assert.ok(m.shards.length > 2, `${m.shards.length} shards`);
  assert.equal(cache.numDocs, DOCS.length);
  assert.equal(
    m.numTokens,
    m.shards.reduce((n, s) => n + s.tokens, 0),
  );
  assert.equal(
    m.numDocs,
    m.shards.reduce((n, s) => n + s.docs, 0),
  );
  assert.equal(m.tokenizer, TOK.fingerprint);
  assert.match(m.hash, /^[0-9a-f]{64}$/);
  let total = 0;
  DOCS.forEach((d, i) => {
    const ids = TOK.encode(d.text);
    total += ids.length;
    assert.equal(cache.docLength(i), ids.length);
    assert.deepEqual(cache.readTokens(i), ids, `doc ${i}`);
    assert.deepEqual(cache.readTokens(i, 3, 17), ids.slice(3, 17));
  });
  assert.equal(cache.numTokens, total);
  assert.deepEqual(
    [...cache.docLengths()],
    DOCS.map((d) => TOK.encode(d.text).length),
  );
  // Reads into a caller's buffer, and clamp to the document.
  const buf = new Int32Array(64);
  assert.deepEqual(cache.readTokens(2, 10, 20, buf), TOK.encode(DOCS[2]!.text).slice(10, 20));
  assert.equal(cache.readTokens(0, 5, 1e9).length, cache.docLength(0) - 5);
  assert.throws(() => cache.readTokens(DOCS.length), RangeError);
  // The file format: int32 LE ids and offsets.
  const raw = fs.readFileSync(path.join(dir, 'shard-00000.bin'));
  assert.equal(raw.readInt32LE(0), TOK.encode(DOCS[0]!.text)[0]);
  const offs = fs.readFileSync(path.join(dir, 'shard-00000.docs.bin'));
  assert.equal(offs.readInt32LE(0), 0);
  assert.equal(offs.readInt32LE(4), cache.docLength(0));
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.includes('.tmp')),
    [],
  );
  cache.close();
});

test('reused when nothing changed; rebuilt when the corpus, tokenizer or layout changes', async () => {
  const dir = tmpDir();
  const tok = counting(TOK);
  const first = await ensureTokenCache({ dir, docs: DOCS, tokenizer: tok, shardTokens: 20000 });
  const calls = tok.calls;
  const before = mtimes(dir);
  const again = await ensureTokenCache({ dir, docs: DOCS.map((d) => ({ ...d })), tokenizer: tok, shardTokens: 20000 });
  assert.equal(again.rebuilt, false);
  assert.equal(tok.calls, calls, 'no tokenization on reuse');
  assert.deepEqual(mtimes(dir), before, 'no file rewritten');
  assert.equal(again.manifest.hash, first.manifest.hash);

  const edited = DOCS.map((d, i) => (i === 5 ? { ...d, text: d.text + ' And one more whale.' } : d));
  const third = await ensureTokenCache({ dir, docs: edited, tokenizer: tok, shardTokens: 20000 });
  assert.equal(third.rebuilt, true);
  assert.notEqual(third.manifest.hash, first.manifest.hash);
  assert.deepEqual(third.readTokens(5), TOK.encode(edited[5]!.text));

  const smaller = TOK.truncate(1500);
  const fourth = await ensureTokenCache({ dir, docs: edited, tokenizer: smaller, shardTokens: 20000 });
  assert.equal(fourth.rebuilt, true, 'another tokenizer');
  assert.deepEqual(fourth.readTokens(0), smaller.encode(edited[0]!.text));

  const fifth = await ensureTokenCache({ dir, docs: edited.slice(0, 2), tokenizer: smaller, shardTokens: 20000 });
  assert.equal(fifth.rebuilt, true);
  const shards = fs.readdirSync(dir).filter((f) => f.startsWith('shard-'));
  assert.equal(shards.length, 2 * fifth.manifest.shards.length, 'stale shards from a bigger build removed');
});

test('a half-built or damaged cache is never trusted', async () => {
  const dir = tmpDir();
  const tok = counting(TOK);
  await ensureTokenCache({ dir, docs: DOCS, tokenizer: tok, shardTokens: 20000 });
  const hash = TokenCache.open(dir).manifest.hash;
  // A truncated shard: open refuses, ensure rebuilds.
  const shard = path.join(dir, 'shard-00001.bin');
  fs.truncateSync(shard, fs.statSync(shard).size - 4);
  assert.throws(
    () => TokenCache.open(dir),
    (e: unknown) => e instanceof GrowbertError && /truncated shard-00001/.test(e.message),
  );
  assert.equal(TokenCache.tryOpen(dir), undefined);
  const calls = tok.calls;
  const rebuilt = await ensureTokenCache({ dir, docs: DOCS, tokenizer: tok, shardTokens: 20000 });
  assert.equal(rebuilt.rebuilt, true);
  assert.ok(tok.calls > calls);
  // No manifest (a build that died before writing it): not a cache.
  fs.rmSync(path.join(dir, 'manifest.json'));
  assert.equal(TokenCache.tryOpen(dir, hash), undefined);
  assert.throws(
    () => TokenCache.open(dir),
    (e: unknown) => e instanceof GrowbertError && /no readable manifest/.test(e.message),
  );
  // Wrong expected hash.
  await ensureTokenCache({ dir, docs: DOCS, tokenizer: tok, shardTokens: 20000 });
  assert.throws(
    () => TokenCache.open(dir, 'f'.repeat(64)),
    (e: unknown) => e instanceof GrowbertError && /another corpus/.test(e.message),
  );
});

test('documents without tokens are left out and counted; a corpus without tokens is an error', async () => {
  const dir = tmpDir();
  const docs: Document[] = [
    { source: 'a', text: 'call me ishmael' },
    { source: 'b', text: '\u0001\u0002' },
    { source: 'c', text: 'the whale' },
  ];
  const cache = await ensureTokenCache({ dir, docs, tokenizer: TOK });
  assert.equal(cache.numDocs, 2);
  assert.equal(cache.manifest.skippedDocs, 1);
  assert.deepEqual(cache.readTokens(1), TOK.encode('the whale'));
  await assert.rejects(ensureTokenCache({ dir: tmpDir(), docs: [docs[1]!], tokenizer: TOK }), GrowbertError);
  await assert.rejects(ensureTokenCache({ dir: tmpDir(), docs, tokenizer: TOK, shardTokens: 0 }), GrowbertError);
});
