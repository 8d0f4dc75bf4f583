// issue 27: the dashboard on a big metrics.jsonl. A log is indexed in slices in the background
// and served as a bounded sample (every Nth training line, at most MAX_POINTS; every validation
// line and growth event while they are few; the last training line always), so a response stays
// a few thousand lines whatever the log's size; a line over 1 MiB (a first line of 64 MiB was
// re-read on every poll) is skipped once and never read again; a torn last line waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_LINE, MAX_POINTS, MetricsIndexes } from '../../src/report/dashboard/metrics-index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-dash-big-'));
const line = (o: object) => JSON.stringify(o) + '\n';

/** A run's log: `n` training lines, a validation line every 1000 steps, growth events at 1/3 and 2/3. */
function writeLog(dir: string, n: number, head = ''): string {
  fs.mkdirSync(path.join(root, dir), { recursive: true });
  const parts: string[] = [head];
  for (let s = 1; s <= n; s++) {
    parts.push(line({ step: s, loss: 10 - s / n, lr: 1e-4, tokensPerSecond: 1000 }));
    if (s % 1000 === 0) parts.push(line({ step: s, valLoss: 9 - s / n }));
    if (s === Math.floor(n / 3) || s === Math.floor((2 * n) / 3))
      parts.push(line({ step: s, event: 'grow', stage: 1 }));
  }
  const file = path.join(root, dir, 'metrics.jsonl');
  fs.writeFileSync(file, parts.join(''));
  return file;
}

test('a big log is served as a bounded sample with every validation line and growth event', async () => {
  const n = 60_000;
  const file = writeLog('big', n);
  const idx = new MetricsIndexes(root).get(file)!;
  await idx.advance();
  const v = idx.view({});
  assert.equal(v.complete, true);
  const train = v.lines.filter((l) => typeof l.loss === 'number');
  assert.ok(train.length <= MAX_POINTS + 1 && train.length > MAX_POINTS / 2, `${train.length} training lines`);
  assert.equal(v.trainEvery, 32);
  assert.equal(train[0]!.step, 1);
  assert.equal(train.at(-1)!.step, n, 'the last training line is always there');
  assert.equal(v.lines.filter((l) => typeof l.valLoss === 'number').length, n / 1000);
  assert.deepEqual(
    v.lines.filter((l) => l.event === 'grow').map((l) => l.step),
    [n / 3, (2 * n) / 3],
  );
  const steps = v.lines.map((l) => l.step as number);
  assert.deepEqual(
    steps,
    [...steps].sort((a, b) => a - b),
    'in file order',
  );
  // appended lines come next, from the offset on
  fs.appendFileSync(file, line({ step: n + 1, loss: 1 }));
  await idx.advance();
  const next = idx.view({ file: v.file, offset: v.offset });
  assert.equal(next.reset, false);
  assert.deepEqual(
    next.lines.map((l) => l.step),
    [n + 1],
  );
});

test('a log bigger than a slice is read in slices; the page learns how far it got', async () => {
  const file = writeLog('sliced', 40_000); // ~3 MB
  const idx = new MetricsIndexes(root, { sliceBytes: 1 << 20 }).get(file)!;
  await idx.advance();
  const first = idx.view({});
  assert.equal(first.complete, false);
  assert.ok(first.offset > 0 && first.offset < first.size, `${first.offset} of ${first.size}`);
  let v = first;
  for (let i = 0; i < 10 && !v.complete; i++) {
    await idx.advance();
    v = idx.view({ file: v.file, offset: v.offset });
  }
  assert.equal(v.complete, true);
  assert.equal(v.offset, fs.statSync(file).size);
});

test('a first line over 1 MiB is skipped once and never read again; a torn last line waits', async () => {
  const long = '{"note": "' + 'x'.repeat(MAX_LINE + 1000) + '"}\n';
  const file = writeLog('long', 10, long);
  const indexes = new MetricsIndexes(root);
  const idx = indexes.get(file)!;
  await idx.advance();
  const v = idx.view({});
  assert.equal(v.skipped, 1);
  assert.equal(v.lines.filter((l) => typeof l.loss === 'number').length, 10);
  assert.equal(v.offset, fs.statSync(file).size);
  // a long line still being written: read past once, then only what follows it
  fs.appendFileSync(file, '{"step": 11, "loss": 1, "pad": "' + 'y'.repeat(MAX_LINE + 10));
  await indexes.get(file)!.advance();
  const w = idx.view({ file: v.file, offset: v.offset });
  assert.ok(w.offset > v.offset + MAX_LINE, 'the long line is not re-read from its start');
  fs.appendFileSync(file, '"}\n' + line({ step: 12, loss: 1 }) + '{"step": 13, "lo');
  await indexes.get(file)!.advance();
  const x = idx.view({ file: w.file, offset: w.offset });
  assert.deepEqual(
    x.lines.map((l) => l.step),
    [12],
  );
  assert.equal(x.skipped, 2);
  fs.appendFileSync(file, 'ss": 1}\n');
  await indexes.get(file)!.advance();
  assert.deepEqual(
    idx.view({ file: x.file, offset: x.offset }).lines.map((l) => l.step),
    [13],
  );
});
