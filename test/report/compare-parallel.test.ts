// `compare --parallel 2` at a time budget: full and small-only run side by side, each a process of
// its own charged its own CPU time, so each gets the same measured time (within 2%, or one step),
// and the report and results say which clock they used. Asserts on recorded times only. A time
// budget's plans are written to OUT/schedules/ first, so a compare interrupted after planning is
// continued (issue 27: it was refused as "not an earlier compare"). SIGINT to the parent is passed
// on to the runs under way: they checkpoint and stop, the parent says so and exits 130, and no
// child process or temp file is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { compare, isCompareFolder } from '../../src/report/compare.js';
import { planRuns } from '../../src/report/compare-runs.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-compare-parallel-'));

test('compare --parallel 2 gives each run of a time budget its share on the CPU clock', async () => {
  const out = path.join(tmp, 'cmp');
  const said: string[] = [];
  const o = {
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
    say: (l: string) => said.push(l),
    seeds: [3],
    parallel: 2,
  };
  // a compare interrupted right after planning: its folder is recognized, and the next one continues it
  await planRuns(o, ['full', 'small-only']);
  assert.deepEqual(fs.readdirSync(path.join(out, 'schedules')).sort(), ['2s-full.json', '2s-small-only.json']);
  assert.ok(isCompareFolder(out));
  await compare(o);
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

test('SIGINT to compare --parallel: the runs under way checkpoint and stop, the parent says so, nothing is left', async () => {
  const out = path.join(tmp, 'cmp-int');
  const args = ['bin/growbert.js', 'compare', '--target', 'tiny', '--schedules', 'small-only', '--budget', '60s'];
  args.push(
    '--out',
    out,
    '--parallel',
    '2',
    '--seeds',
    '1',
    '--data',
    'stdlib:moby-dick',
    '--cache-dir',
    path.join(tmp, 'cache'),
  );
  args.push('--seq-length', '32', '--vocab-size', '2000', '--batch-size', '8', '--eval-batches', '2');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const started = new Promise<void>((resolve) =>
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      // both runs print their first lines (they are past start-up) before the signal
      if (/\[full 60s seed 0\] /.test(err) && /\[small-only 60s seed 0\] /.test(err)) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await started;
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 130, err);
  assert.match(err, /compare: SIGINT: passing it on to the 2 run\(s\) under way/);
  assert.match(
    err.trim().split('\n').at(-1)!,
    /^growbert: compare stopped \(SIGINT\); the runs that finished are kept: rerun the same compare/,
  );
  const mine = `growbert-compare-${child.pid}-`;
  assert.deepEqual(
    fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(mine)),
    [],
    'no temp config left',
  );
  const procs = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const left = procs.filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(mine);
    } catch {
      return false;
    }
  });
  assert.deepEqual(left, [], 'no run left running');
});
