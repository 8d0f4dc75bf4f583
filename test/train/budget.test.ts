// Budgets that hold: a FLOP budget ends within one step of its amount by the cost model; a time
// budget ends when the recorded training time reaches it (not after a calibrated step count), its
// stages and LR follow the clock, a resumed run ends at the same total training time, and each
// stage's planned and actual steps and seconds are in the metrics. No assertion on speed: only on
// the times the run recorded. A resume keeps the clock and the unit of its budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pretrain } from '../../src/train/pretrain.js';
import { parseConfig } from '../../src/train/config.js';
import { MetricsLog, type MetricsLine } from '../../src/train/metrics-log.js';
import { lrPosition, stageDone } from '../../src/train/budget-clock.js';
import { parseBudget, resolveSchedule } from '../../src/schedule/plan.js';
import { presetSchedule } from '../../src/schedule/schedule.js';
import { presetConfig } from '../../src/model/config.js';
import { budgetUse, compareClock } from '../../src/report/compare-runs.js';
import { tinyRunConfig, writeSchedule } from '../helpers/tiny-run.js';
import { GrowbertError } from '../../src/io/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-budget-'));
const cacheDir = path.join(tmp, 'cache');
const quiet = () => {};
const lines = (run: string) => new MetricsLog(run).read();
const stageLines = (run: string) => lines(run).filter((l) => l.event === 'stage');
const lastTrain = (run: string) => lines(run).filter((l) => typeof l.loss === 'number');

// two halves: a small model (1 layer, FFN 16, pooling 2), then the target grown by stacking and sharing
const halves = writeSchedule(tmp, 'halves', {
  name: 'halves',
  stages: [
    { fraction: 0.5, model: { numHiddenLayers: 1, intermediateSize: 16, poolingSize: 2 } },
    { fraction: 0.5, ops: { depth: 'stack', ffn: 'share' } },
  ],
});

test('parseBudget: FLOPs, with exponents and unit prefixes', () => {
  for (const [text, amount] of [
    ['5e13flops', 5e13],
    ['3e13 FLOPs', 3e13],
    ['50Tflops', 5e13],
    ['1.5Pflops', 1.5e15],
    ['2e9flop', 2e9],
  ] as const) {
    const b = parseBudget(text);
    assert.deepEqual([b.unit, b.amount], ['flops', amount], text);
  }
  assert.throws(() => parseBudget('0flops'), /at least 1 FLOP/);
});

test('a FLOP budget resolves to whole steps ending within half a step of it, whatever the stages', () => {
  const target = presetConfig('tiny', 8192);
  const run = { target, seqLength: 64, batchSize: 32, maskProb: 0.15, gradAccumulation: 1 };
  for (const name of ['full', 'compound', 'small-only', 'stack-matched']) {
    const budget = parseBudget('3e13flops');
    const stages = resolveSchedule(presetSchedule(name, target, 64), { ...run, budget });
    const total = stages.reduce((a, s) => a + s.steps * s.flopsPerStep, 0);
    const last = stages[stages.length - 1].flopsPerStep;
    assert.ok(Math.abs(total - 3e13) <= last / 2, `${name}: ${total} vs 3e13 (a step is ${last})`);
  }
});

test('pretrain with a FLOP budget ends within one step of it by the cost model', async () => {
  const out = path.join(tmp, 'flops');
  const r = await pretrain(parseConfig(tinyRunConfig(out, cacheDir, { schedule: halves, budget: '4e9flops' })), {
    say: quiet,
  });
  const perStep = r.stages[r.stages.length - 1].flopsPerStep;
  assert.ok(Math.abs(r.progress.flops - 4e9) <= perStep, `${r.progress.flops} FLOPs for a 4e9 budget`);
  assert.deepEqual(
    r.stageRecords.map((s) => s.steps),
    r.stages.map((s) => s.steps),
    'a FLOP budget runs its planned steps exactly',
  );
});

/** The run reached its time budget and stopped within one step (its last step's time) or 2% of it. */
function assertEndsAtBudget(run: string, budget: number, field: 'seconds' | 'cpuSeconds') {
  const t = lastTrain(run);
  const end = Number(t[t.length - 1][field]);
  const lastStep = end - Number(t[t.length - 2][field]);
  assert.ok(end >= budget, `${field} ${end} short of the ${budget} s budget`);
  assert.ok(
    end <= budget * 1.02 || end - budget <= lastStep,
    `${field} ${end} overshoots ${budget} s by more than a step`,
  );
}

test('a time budget ends when the training time reaches it; stages and LR follow the clock', async () => {
  const out = path.join(tmp, 'time');
  const r = await pretrain(
    parseConfig(tinyRunConfig(out, cacheDir, { schedule: halves, budget: '3s', train: { checkpointEvery: 5 } })),
    { say: quiet },
  );
  assertEndsAtBudget(out, 3, 'seconds');
  // per stage: planned (calibrated) and actual steps, the share of the budget and the time it took
  const st = stageLines(out);
  assert.equal(st.length, 2);
  assert.deepEqual(
    st.map((l) => [l.stage, l.plannedSeconds, l.clock]),
    [
      [0, 1.5, 'wall'],
      [1, 1.5, 'wall'],
    ],
  );
  const firstEnd = Number(st[0].seconds);
  assert.ok(firstEnd >= 1.5, `stage 1 ended at ${firstEnd} s, before its 1.5 s share`);
  assert.equal(
    st.reduce((a, l) => a + Number(l.stageSteps), 0),
    r.progress.step,
  );
  assert.equal(r.stageRecords.length, 2);
  // the growth happens where stage 1's time ran out, not at its planned step
  const grow = lines(out).find((l) => l.event === 'grow')!;
  assert.equal(grow.step, st[0].step);
  // restart policy: the LR is back near 0 at the end of each stage (it decays by the elapsed fraction)
  const train = lastTrain(out);
  const beforeGrow = train.filter((l) => l.step <= grow.step).at(-1)!;
  assert.ok(Number(beforeGrow.lr) < 0.25 * 3e-3, `stage 1 ends at lr ${beforeGrow.lr}`);
  assert.ok(Number(train.at(-1)!.lr) < 0.25 * 3e-3, `the run ends at lr ${train.at(-1)!.lr}`);
});

test('a resumed time-budget run continues its elapsed time and ends at the same total', async () => {
  const out = path.join(tmp, 'time');
  const resumed = path.join(tmp, 'time-resumed');
  fs.cpSync(out, resumed, { recursive: true });
  // cut it back to its first checkpoint
  const ck = path.join(resumed, 'checkpoints');
  const steps = fs
    .readdirSync(ck)
    .filter((d) => d.startsWith('step-'))
    .sort();
  for (const d of steps.slice(1)) fs.rmSync(path.join(ck, d), { recursive: true });
  fs.writeFileSync(path.join(ck, 'latest.json'), JSON.stringify({ step: Number(steps[0].slice(5)), dir: steps[0] }));
  const said: string[] = [];
  const r = await pretrain(
    parseConfig({
      ...tinyRunConfig(resumed, cacheDir, { schedule: halves, budget: '3s', train: { checkpointEvery: 5 } }),
      resume: true,
    }),
    { say: (l) => said.push(l) },
  );
  const cut = Number(steps[0].slice(5));
  assert.ok(
    said.some((l) => l.startsWith(`resuming ${resumed} at step ${cut} `)),
    said.join('\n'),
  );
  assert.ok(Number(lines(resumed).find((l) => l.step > cut && typeof l.loss === 'number')!.seconds) > 0);
  assertEndsAtBudget(resumed, 3, 'seconds');
  assert.equal(stageLines(resumed).length, 2);
  assert.ok(r.progress.seconds >= 3);
  // a finished time budget is not trained again
  await assert.rejects(
    pretrain(
      parseConfig({
        ...tinyRunConfig(resumed, cacheDir, { schedule: halves, budget: '3s', train: { checkpointEvery: 5 } }),
        resume: true,
      }),
      { say: quiet },
    ),
    /has already trained [\d.]+ s of its 3 s budget \(wall clock\); give a larger --budget/,
  );
});

test('a resume keeps the clock and the unit of its budget: a finished wall-clock run stays finished', async () => {
  const run = path.join(tmp, 'time-resumed'); // finished above, on the wall clock
  const state = () => ({
    metrics: fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8'),
    checkpoints: fs.readdirSync(path.join(run, 'checkpoints')).sort(),
    plan: fs.readFileSync(path.join(run, 'schedule.json'), 'utf8'),
    entries: fs.readdirSync(run).sort(),
  });
  const before = state();
  const base = {
    ...tinyRunConfig(run, cacheDir, { schedule: halves, budget: '3s', train: { checkpointEvery: 5 } }),
    resume: true,
  };
  const oneLine = (re: RegExp) => (e: Error) =>
    e instanceof GrowbertError && re.test(e.message) && !/\n/.test(e.message);
  // the report: --resume --clock cpu trained on (its CPU time was below 3 s), the LR jumped back
  await assert.rejects(
    pretrain(parseConfig({ ...base, clock: 'cpu' }), { say: quiet }),
    oneLine(/charges its time budget on the wall clock; a resume keeps it: drop --clock cpu \(or pass --clock wall\)/),
  );
  await assert.rejects(
    pretrain(parseConfig({ ...base, budget: '1000' }), { say: quiet }),
    oneLine(/planned with a budget of 3s; a resume keeps the budget's unit \(seconds\): give --budget/),
  );
  assert.deepEqual(state(), before, 'the refused resumes changed nothing in the run');
});

test('--clock cpu charges the process CPU time', async () => {
  const out = path.join(tmp, 'cpu');
  const r = await pretrain(
    parseConfig({ ...tinyRunConfig(out, cacheDir, { budget: '2s', runtime: { threads: 1 } }), clock: 'cpu' }),
    { say: quiet },
  );
  assertEndsAtBudget(out, 2, 'cpuSeconds');
  assert.equal(r.stageRecords[0].clock, 'cpu');
  assert.equal(stageLines(out)[0].clock, 'cpu');
});

test('stage pacing: by steps, or by the clock with the LR at the elapsed fraction', () => {
  const bySteps = { startStep: 4, plannedStart: 3, plannedSteps: 10 };
  assert.equal(stageDone(bySteps, 13, 1e9), false);
  assert.equal(stageDone(bySteps, 14, 0), true);
  assert.equal(lrPosition(bySteps, 6, 99), 5);
  const byClock = { startStep: 4, plannedStart: 10, plannedSteps: 20, startSeconds: 2, endSeconds: 6 };
  assert.equal(stageDone(byClock, 1000, 5.99), false);
  assert.equal(stageDone(byClock, 5, 6), true);
  assert.equal(lrPosition(byClock, 50, 4), 20); // half the stage's time: half its planned steps
  assert.equal(lrPosition(byClock, 50, 1), 10);
  assert.ok(lrPosition(byClock, 50, 7) < 30, 'past the end: still inside the stage');
});

test("compare's clock and each run's budget use, flagged below 98% of its share", () => {
  assert.equal(compareClock({}), 'wall');
  assert.equal(compareClock({ parallel: 2 }), 'cpu');
  assert.equal(compareClock({ parallel: 2, clock: 'wall' }), 'wall');
  const runDir = path.join(tmp, 'use');
  fs.mkdirSync(runDir, { recursive: true });
  const write = (ls: MetricsLine[]) =>
    fs.writeFileSync(path.join(runDir, 'metrics.jsonl'), ls.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const stage = { event: 'stage', stageName: 'stage 1', plannedSteps: 50, stageSteps: 40, plannedSeconds: 10 };
  write([
    { step: 40, seconds: 12, cpuSeconds: 9.7, flops: 1e9, tokens: 100, loss: 5 },
    { step: 40, seconds: 12, cpuSeconds: 9.7, flops: 1e9, tokens: 100, ...stage, stageSeconds: 9.7 },
  ]);
  const r = { budget: '10s', schedule: 'full', seed: 0, runDir };
  const cpu = budgetUse(r, 'cpu');
  assert.deepEqual([cpu.measured, cpu.share, cpu.short, cpu.clock], [9.7, 10, true, 'cpu']);
  assert.deepEqual(cpu.stages, [{ name: 'stage 1', plannedSteps: 50, steps: 40, plannedSeconds: 10, seconds: 9.7 }]);
  assert.equal(budgetUse(r, 'wall').short, false);
  assert.equal(budgetUse({ ...r, budget: '1e9flops' }, 'cpu').short, false);
});
