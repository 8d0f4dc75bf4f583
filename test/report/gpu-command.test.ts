// The documented GPU comparison (scripts/gpu-bert-small.sh) run on the CPU at tiny scale, so the
// command is known to run end to end: compare with 2 seeds over full, compound and small-only,
// the over-seeds report, and the copy into the results folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

test('scripts/gpu-bert-small.sh at tiny scale on the CPU: 3 schedules x 2 seeds, report with mean and spread', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-gpu-cmd-'));
  const corpus = path.join(tmp, 'corpus');
  fs.mkdirSync(corpus);
  // a small English corpus: the project's own docs, one paragraph per document
  fs.writeFileSync(
    path.join(corpus, 'docs.txt'),
    fs
      .readdirSync('docs')
      .filter((f) => f.endsWith('.md'))
      .map((f) => fs.readFileSync(path.join('docs', f), 'utf8'))
      .join('\n\n'),
  );
  const results = path.join(tmp, 'results');
  const r = spawnSync('bash', ['scripts/gpu-bert-small.sh', corpus], {
    encoding: 'utf8',
    env: {
      ...process.env,
      TARGET: 'tiny',
      BUDGET: '4',
      SEEDS: '2',
      DEVICE: 'cpu',
      PRECISION: 'fp32',
      OUT: path.join(tmp, 'runs'),
      RESULTS: results,
      EXTRA: `--vocab-size 300 --batch-size 4 --seq-length 32 --eval-batches 1 --threads 1 --cache-dir ${path.join(tmp, 'cache')}`,
    },
  });
  assert.equal(r.status, 0, r.stderr.split('\n').slice(-15).join('\n'));
  for (const f of ['report.md', 'results.json', 'loss-4-seconds.png', 'loss-4-flops.svg', 'schedules/4-compound.json'])
    assert.ok(fs.existsSync(path.join(results, f)), `${f} missing`);
  const json = JSON.parse(fs.readFileSync(path.join(results, 'results.json'), 'utf8'));
  assert.deepEqual(json.seeds, [0, 1]);
  const seeded = json.seeded[0];
  assert.deepEqual(
    seeded.schedules.map((s: { name: string }) => s.name),
    ['full', 'compound', 'small-only'],
  );
  for (const s of seeded.schedules) {
    assert.equal(s.finalValLoss.n, 2);
    assert.ok(s.finalValLoss.min <= s.finalValLoss.mean && s.finalValLoss.mean <= s.finalValLoss.max);
  }
  // the two seeds are different runs (different init and data order), so their losses differ
  assert.ok(
    seeded.schedules.some(
      (s: { finalValLoss: { min: number; max: number } }) => s.finalValLoss.max > s.finalValLoss.min,
    ),
  );
  assert.ok(['yes', 'no', 'within noise'].includes(seeded.fullBeatsSmallOnly));
  const md = fs.readFileSync(path.join(results, 'report.md'), 'utf8');
  assert.match(md, /Over 2 seeds \(0, 1\)/);
  assert.match(md, /\| compound \| \d\.\d{4} \[\d\.\d{4}, \d\.\d{4}\] \| [+-]\d\.\d{4} \((beyond|within) seed noise/);
  // the 3-stage compound ran: its schedule has three stages with explicit steps
  const sched = JSON.parse(fs.readFileSync(path.join(results, 'schedules/4-compound.json'), 'utf8'));
  assert.deepEqual(
    sched.stages.map((s: { steps: number }) => s.steps),
    [2, 1, 1],
  );
  fs.rmSync(tmp, { recursive: true, force: true });
});
