// The one-pass build of the train and validation token caches: the same split and tokens as
// splitting in memory and encoding each document, reuse without rebuilding, and a build killed
// mid-way (with a half-written shard on disk) resumes into the same bytes as an uninterrupted one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GrowbertError } from '../../src/io/errors.js';
import { readCorpus, type Document } from '../../src/data/corpus.js';
import { splitDocuments } from '../../src/data/split.js';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { EncoderPool } from '../../src/data/encoder-pool.js';
import { ensureCorpusCaches } from '../../src/data/corpus-build.js';
import type { TokenCache } from '../../src/data/token-cache.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-build-'));
const MOBY: Document[] = (await readCorpus(['stdlib:moby-dick'])).slice(0, 40);
const TOK = BertTokenizer.train(MOBY.slice(0, 10), { vocabSize: 1500 });

/** A corpus folder of a few text files, documents separated by blank lines. */
function corpusDir(): string {
  const dir = tmp();
  for (let f = 0; f < 4; f++) {
    const docs = MOBY.slice(f * 10, f * 10 + 10).map((d) => d.text.replace(/\n\s*\n/g, '\n').trim());
    fs.writeFileSync(path.join(dir, `part-${f}.txt`), docs.join('\n\n') + '\n');
  }
  return dir;
}

function tokensOf(cache: TokenCache): Int32Array[] {
  return Array.from({ length: cache.numDocs }, (_, d) => cache.readTokens(d));
}

/** Every shard and offset file's bytes, by name, for both sides. */
function cacheBytes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const side of ['train', 'validation']) {
    for (const f of fs.readdirSync(path.join(dir, side)).sort()) {
      if (f.endsWith('.bin')) out[`${side}/${f}`] = fs.readFileSync(path.join(dir, side, f)).toString('base64');
    }
  }
  return out;
}

test('streams the corpus into split caches equal to splitting in memory and encoding each document', async () => {
  const data = corpusDir();
  const docs = await readCorpus([data]);
  const split = splitDocuments(docs, { validationFraction: 0.1, seed: 0 });
  const dir = tmp();
  const r = await ensureCorpusCaches({
    specs: [data],
    validationFraction: 0.1,
    dir,
    tokenizer: TOK,
    shardTokens: 3000,
    batchChars: 20_000,
  });
  assert.equal(r.rebuilt, true);
  assert.ok(r.train.manifest.shards.length > 3, `${r.train.manifest.shards.length} shards`);
  assert.deepEqual(
    tokensOf(r.train),
    split.train.map((d) => TOK.encode(d.text)),
  );
  assert.deepEqual(
    tokensOf(r.validation),
    split.validation.map((d) => TOK.encode(d.text)),
  );
  assert.equal(r.summary.docs, docs.length);
  assert.match(
    r.summary.report,
    new RegExp(`split ${docs.length} documents \\(seed 0\\): train ${split.train.length} docs`),
  );
  // Reused as long as the files are unchanged; a changed file rebuilds.
  const again = await ensureCorpusCaches({
    specs: [data],
    validationFraction: 0.1,
    dir,
    tokenizer: TOK,
    shardTokens: 3000,
  });
  assert.equal(again.rebuilt, false);
  fs.appendFileSync(path.join(data, 'part-3.txt'), '\nOne more document at the end.\n');
  const changed = await ensureCorpusCaches({
    specs: [data],
    validationFraction: 0.1,
    dir,
    tokenizer: TOK,
    shardTokens: 3000,
  });
  assert.equal(changed.rebuilt, true);
  assert.equal(changed.summary.docs, docs.length + 1);
});

test('the worker-thread encoder builds the same caches as the binding', async () => {
  const data = corpusDir();
  const pool = new EncoderPool(TOK.fastEncoderSpec()!, TOK.fingerprint, 2);
  try {
    const a = tmp();
    const b = tmp();
    await ensureCorpusCaches({
      specs: [data],
      validationFraction: 0.1,
      dir: a,
      tokenizer: TOK,
      shardTokens: 4000,
      batchChars: 10_000,
    });
    await ensureCorpusCaches({
      specs: [data],
      validationFraction: 0.1,
      dir: b,
      tokenizer: pool,
      shardTokens: 4000,
      batchChars: 10_000,
    });
    assert.deepEqual(cacheBytes(b), cacheBytes(a));
  } finally {
    await pool.close();
  }
});

test('a build killed mid-way resumes from its last complete shards into the same cache', async () => {
  const data = corpusDir();
  const opts = { specs: [data], validationFraction: 0.1, tokenizer: TOK, shardTokens: 2000, batchChars: 8_000 };
  const whole = tmp();
  await ensureCorpusCaches({ ...opts, dir: whole });
  const dir = tmp();
  let checkpoints = 0;
  await assert.rejects(
    ensureCorpusCaches({
      ...opts,
      dir,
      onCheckpoint: () => {
        if (++checkpoints === 3) throw new Error('killed');
      },
    }),
    /killed/,
  );
  const record = JSON.parse(fs.readFileSync(path.join(dir, 'build-progress.json'), 'utf8'));
  assert.ok(record.docsDone > 0 && record.train.shards.length >= 3, 'a record of finished shards');
  assert.ok(!fs.existsSync(path.join(dir, 'train', 'manifest.json')), 'no manifest: not a cache yet');
  // A shard half-written after the record (the kill came while writing it) must not be trusted.
  const next = `shard-${String(record.train.shards.length).padStart(5, '0')}`;
  fs.writeFileSync(path.join(dir, 'train', `${next}.bin`), Buffer.alloc(100, 7));
  fs.writeFileSync(path.join(dir, 'train', `${next}.docs.bin`), Buffer.alloc(12, 1));
  let encoded = 0;
  const counting = {
    fingerprint: TOK.fingerprint,
    encodeBatch: (t: readonly string[]) => {
      encoded += t.length;
      return TOK.encodeBatch(t);
    },
  };
  const resumed = await ensureCorpusCaches({ ...opts, dir, tokenizer: counting });
  assert.equal(resumed.resumed, true);
  assert.ok(encoded < 40 - record.docsDone + 1, `only documents after the record were encoded (${encoded})`);
  assert.deepEqual(cacheBytes(dir), cacheBytes(whole));
  assert.ok(!fs.existsSync(path.join(dir, 'build-progress.json')));
});

test('tiny corpora still get a document on each side; one document is an error', async () => {
  const dir = tmp();
  const f = path.join(dir, 'three.txt');
  fs.writeFileSync(f, 'first document here\n\nsecond document\n\nthird one');
  const split = splitDocuments(await readCorpus([f]), { validationFraction: 0.01 });
  const r = await ensureCorpusCaches({
    specs: [f],
    validationFraction: 0.01,
    dir: path.join(dir, 'c'),
    tokenizer: TOK,
  });
  assert.equal(r.validation.numDocs, 1);
  assert.equal(r.train.numDocs, 2);
  assert.deepEqual(
    tokensOf(r.validation),
    split.validation.map((d) => TOK.encode(d.text)),
  );
  const one = path.join(dir, 'one.txt');
  fs.writeFileSync(one, 'only one document');
  await assert.rejects(
    ensureCorpusCaches({ specs: [one], validationFraction: 0.1, dir: path.join(dir, 'd'), tokenizer: TOK }),
    GrowbertError,
  );
});

test('a one-document corpus (one long line) is refused before a tokenizer is trained or a token encoded', async () => {
  const { checkTwoDocuments } = await import('../../src/data/corpus-build.js');
  const { prepareCorpus } = await import('../../src/train/data.js');
  const dir = tmp();
  const one = path.join(dir, 'one.txt');
  fs.writeFileSync(one, 'whale '.repeat(400_000) + '\n'); // 2.4 MB on one line
  await assert.rejects(checkTwoDocuments([one]), /has 1 document\(s\); validation needs at least 2/);
  await checkTwoDocuments([one, corpusDir()]); // with a folder of more documents it is fine
  const cacheDir = path.join(dir, 'cache');
  await assert.rejects(
    prepareCorpus({ specs: [one], docPerLine: false, validationFraction: 0.1, vocabSize: 500, cacheDir }),
    /has 1 document\(s\)/,
  );
  assert.deepEqual(fs.readdirSync(cacheDir), [], 'no tokenizer trained, no tokens cached');
});
