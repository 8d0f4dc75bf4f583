// `compare --parallel 2` at a time budget: full and small-only run side by side, each a process of
// its own charged its own CPU time, so each gets the same measured time (within 2%, or one step),
// and the report and results say which clock they used. Asserts on recorded times only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compare } from '../../src/report/compare.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-compare-parallel-'));

test('compare --parallel 2 gives each run of a time budget its share on the CPU clock', async () => {
  const out = path.join(tmp, 'cmp');
  const said: string[] = [];
  await compare({
    target: 'tiny',
    schedules: ['small-only'],
    budgets: ['2s'],
    out,
    base: {
      model: { hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64 },
      data: { specs: ['stdlib:moby-dick'], cacheDir: path.join(tmp, 'cache'), seqLength: 32, vocabSize: 2000 },
      train: { batchSize: 8, evalBatches: 2, seed: 3 },
      runtime: { progress: false },
    },
    command: 'growbert compare (test)',
    say: (l) => said.push(l),
    seeds: [3],
    parallel: 2,
  });
  const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
  assert.equal(results.clock, 'cpu');
  assert.equal(results.parallel, 2);
  const runs = results.budgets[0].runs as { schedule: string; measured: number; share: number; short: boolean }[];
  assert.deepEqual(runs.map((r) => r.schedule).sort(), ['full', 'small-only']);
  for (const r of runs) {
    assert.equal(r.share, 2);
    assert.equal(r.short, false, `${r.schedule} measured ${r.measured}`);
    // within 2% of the share, or one step past it (a tiny step is milliseconds; a loaded machine may stretch one)
    assert.ok(r.measured >= 2 && r.measured < 2.3, `${r.schedule} measured ${r.measured} s of CPU time`);
  }
  const report = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.match(report, /\*\*CPU clock\*\*/);
  assert.match(report, /Budget use \(training seconds \(cpu clock\)/);
  assert.ok(
    said.some((l) => l.startsWith('[full 2s seed 3]')),
    'the runs are child processes, their lines prefixed',
  );
});
