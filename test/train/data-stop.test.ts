// issue 27, "every wait honours the signals": a signal while a one-process run tokenizes its corpus
// stops it there, not after the whole corpus and a first step: the token cache build checks the
// stop request between documents, the run ends with Interrupted (exit 143 for SIGTERM) and nothing
// trained, and the next build resumes from what was recorded into the same caches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCorpus } from '../../src/data/corpus.js';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { StoppedEarly, ensureCorpusCaches } from '../../src/data/corpus-build.js';
import { prepareCorpus } from '../../src/train/data.js';
import { Interrupted, withStopSignals } from '../../src/train/signals.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-data-stop-'));

test('the token cache build stops between documents when asked, and resumes into the same caches', async () => {
  const docs = (await readCorpus(['stdlib:moby-dick'])).slice(0, 30);
  const dir = path.join(tmp, 'corpus');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'a.txt'), docs.map((d) => d.text.replace(/\n\s*\n/g, '\n')).join('\n\n'));
  const tokenizer = BertTokenizer.train(docs.slice(0, 5), { vocabSize: 800 });
  const o = { specs: [dir], validationFraction: 0.1, tokenizer, shardTokens: 2000, batchChars: 20_000 };
  let seen = 0;
  await assert.rejects(
    ensureCorpusCaches({ ...o, dir: path.join(tmp, 'stopped'), shouldStop: () => ++seen > 12 }),
    (e: Error) => e instanceof StoppedEarly && e.docsRead === 12,
  );
  const resumed = await ensureCorpusCaches({ ...o, dir: path.join(tmp, 'stopped') });
  const whole = await ensureCorpusCaches({ ...o, dir: path.join(tmp, 'whole') });
  assert.equal(resumed.train.numTokens, whole.train.numTokens);
  assert.equal(resumed.train.manifest.content, whole.train.manifest.content);
});

test('a signal while a run prepares its data: Interrupted with that signal, nothing trained', async () => {
  const cacheDir = path.join(tmp, 'cache');
  await assert.rejects(
    withStopSignals(async () => {
      process.emit('SIGTERM'); // as `kill` would, to the handlers pretrain's command installs
      return prepareCorpus({
        specs: ['stdlib:moby-dick'],
        docPerLine: false,
        validationFraction: 0.1,
        vocabSize: 500,
        cacheDir,
      });
    }),
    (e: Error) =>
      e instanceof Interrupted &&
      e.signal === 'SIGTERM' &&
      e.exitCode === 143 &&
      /stopped \(SIGTERM\) while tokenizing the corpus, before any training step/.test(e.message),
  );
});
