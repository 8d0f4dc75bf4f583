// Growth schedules end to end with `pretrain`: growth at the stage boundary (event, stage tags,
// the checkpoint holding the grown model), exact resume before and right after growth, budgets
// split by fraction, and the LR policies as logged. A library caller's side: typed events instead
// of console lines, and an AbortSignal that stops the run as SIGINT does, exactly resumable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pretrain } from '../../src/train/pretrain.js';
import { parseConfig, type PretrainConfigInput } from '../../src/train/config.js';
import { tinyRunConfig, writeSchedule } from '../helpers/tiny-run.js';
import { MetricsLog, type MetricsLine } from '../../src/train/metrics-log.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { loadRunModel } from '../../src/train/run-dir.js';
import type { ScheduleInput } from '../../src/schedule/schedule.js';
import type { PretrainEvent } from '../../src/train/events.js';
import { RUN_LOCK } from '../../src/train/run.js';
import { Interrupted } from '../../src/train/signals.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-schedule-run-'));
const cacheDir = path.join(tmp, 'cache');
const quiet = () => {};
const LR = 3e-3;

function config(out: string, over: { train?: object; schedule?: string; budget?: string } = {}): PretrainConfigInput {
  // the target: 2 layers, FFN 64
  return tinyRunConfig(out, cacheDir, {
    train: { lr: LR, evalEvery: 6, checkpointEvery: 3, keepCheckpoints: 20, ...over.train },
    schedule: over.schedule,
    budget: over.budget,
  });
}

const scheduleFile = (name: string, s: ScheduleInput) => writeSchedule(tmp, name, s);

// stage 1: 1 layer, FFN 16, pooling 2; stage 2: the target, grown by stacking and sharing
const twoStage = scheduleFile('two-stage', {
  name: 'two-stage',
  stages: [
    { name: 'small', steps: 6, model: { numHiddenLayers: 1, intermediateSize: 16, poolingSize: 2 } },
    { name: 'target', steps: 6, ops: { depth: 'stack', ffn: 'share' } },
  ],
});

const lines = (run: string) => new MetricsLog(run).read();
const trainLines = (run: string) => lines(run).filter((l) => l.loss !== undefined);
/** What must match between runs: everything but wall-clock time. */
// the measured times (wall and CPU, of the run and of each stage) differ between any two runs
const TIMINGS = new Set(['seconds', 'cpuSeconds', 'tokensPerSecond', 'stageSeconds', 'stageWallSeconds']);
const comparable = (l: MetricsLine) => Object.fromEntries(Object.entries(l).filter(([k]) => !TIMINGS.has(k)));

const straight = path.join(tmp, 'straight');

test('a 2-stage schedule grows at its boundary and checkpoints the grown model', async () => {
  const said: string[] = [];
  const r = await pretrain(parseConfig(config(straight, { schedule: twoStage })), { say: (l) => said.push(l) });
  assert.deepEqual(
    r.stages.map((s) => [s.name, s.startStep, s.steps]),
    [
      ['small', 0, 6],
      ['target', 6, 6],
    ],
  );
  assert.equal(r.progress.step, 12);
  assert.deepEqual(
    [r.modelConfig.numHiddenLayers, r.modelConfig.intermediateSize, r.modelConfig.poolingSize],
    [2, 64, 1],
  );

  const all = lines(straight);
  const grows = all.filter((l) => l.event === 'grow');
  assert.equal(grows.length, 1);
  assert.equal(grows[0].step, 6);
  assert.equal(grows[0].stage, 1);
  assert.equal(grows[0].preserving, false); // pooling 2 -> 1 changes the function
  for (const k of ['maxAbsLogitDiff', 'maxRelLogitDiff', 'lossBefore', 'lossAfter', 'paramsBefore', 'paramsAfter'])
    assert.equal(typeof grows[0][k], 'number', k);
  assert.ok(Number(grows[0].paramsAfter) > Number(grows[0].paramsBefore));
  // an evaluation right after growth, tagged with the new stage
  const after = all[all.indexOf(grows[0]) + 1];
  assert.equal(after.step, 6);
  assert.equal(after.stage, 1);
  assert.ok(Number.isFinite(after.valLoss));

  const train = trainLines(straight);
  assert.deepEqual(
    train.map((l) => l.step),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  );
  assert.deepEqual(
    train.map((l) => l.stage),
    [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
  );
  for (const l of train) assert.ok(Number.isFinite(l.loss), `finite loss at step ${l.step}`);
  // the stage-2 steps cost more than the stage-1 steps
  const flops = train.map((l) => Number(l.flops));
  assert.ok(flops[7] - flops[6] > flops[1] - flops[0]);

  // the step-6 checkpoint is written after growth: the stage-2 model, stage 1 (0-based)
  const ck = loadCheckpoint(path.join(straight, 'checkpoints', 'step-00000006'), { skipOptimizer: true });
  const mc = ck.trainer.modelConfig as Record<string, number>;
  assert.deepEqual(
    [mc.numHiddenLayers, mc.intermediateSize, mc.poolingSize, ck.trainer.stage, ck.trainer.schedule],
    [2, 64, 1, 1, 'two-stage'],
  );
  assert.ok(ck.model.has('bert.encoder.layer.1.attention.self.query.weight'));
  assert.deepEqual(ck.model.get('bert.encoder.layer.0.intermediate.dense.weight')!.shape, [64, 32]);
  const ck3 = loadCheckpoint(path.join(straight, 'checkpoints', 'step-00000003'), { skipOptimizer: true });
  assert.deepEqual([(ck3.trainer.modelConfig as Record<string, number>).numHiddenLayers, ck3.trainer.stage], [1, 0]);
  assert.ok(!ck3.model.has('bert.encoder.layer.1.attention.self.query.weight'));
  assert.ok(
    said.some((l) => /step 6: grew into target/.test(l)),
    said.join('\n'),
  );
  // the resolved plan is kept with the run
  const plan = JSON.parse(fs.readFileSync(path.join(straight, 'schedule.json'), 'utf8'));
  assert.deepEqual(plan.steps, [6, 6]);
});

/** Copies the straight run and cuts it back to its step-`step` checkpoint, as a crash there would. */
function cutCopy(name: string, step: number): string {
  const dir = path.join(tmp, name);
  fs.cpSync(straight, dir, { recursive: true });
  const ck = path.join(dir, 'checkpoints');
  const keep = `step-${String(step).padStart(8, '0')}`;
  for (const d of fs.readdirSync(ck))
    if (d.startsWith('step-') && d !== keep) fs.rmSync(path.join(ck, d), { recursive: true });
  fs.writeFileSync(path.join(ck, 'latest.json'), JSON.stringify({ step, dir: keep }));
  return dir;
}

for (const [what, step] of [
  ['mid-stage (step 3)', 3],
  ['right after growth (step 6)', 6],
] as const) {
  test(`resume ${what} matches the uninterrupted run`, async () => {
    const dir = cutCopy(`resume-${step}`, step);
    const said: string[] = [];
    await pretrain(parseConfig({ ...config(dir, { schedule: twoStage }), resume: true }), { say: (l) => said.push(l) });
    assert.ok(
      said.some((l) => l.startsWith(`resuming ${dir} at step ${step} (stage ${step === 3 ? 1 : 2} of 2)`)),
      said.join('\n'),
    );
    assert.equal(
      said.some((l) => /grew into/.test(l)),
      step === 3,
      'grows again only when resumed before the boundary',
    );
    assert.deepEqual(trainLines(dir).map(comparable), trainLines(straight).map(comparable));
    assert.deepEqual(
      lines(dir).map(comparable),
      lines(straight).map(comparable),
      'the whole log: growth event and evaluations too',
    );
    const a = loadRunModel(straight).model.namedParameters();
    const b = loadRunModel(dir).model.namedParameters();
    assert.deepEqual([...b.keys()], [...a.keys()]);
    for (const [name, t] of a) assert.ok(t.equal(b.get(name)!), `${name} differs after resume`);
  });
}

test('fraction stages divide a token budget', async () => {
  const out = path.join(tmp, 'tokens');
  const f = scheduleFile('fractions', {
    name: 'fractions',
    stages: [
      { fraction: 0.5, batchSize: 4, model: { numHiddenLayers: 1 } }, // 4 x 32 = 128 tokens per step
      { fraction: 0.5, ops: { depth: 'stack' } }, // 8 x 32 = 256 tokens per step
    ],
  });
  const r = await pretrain(
    parseConfig(
      config(out, { schedule: f, budget: '4096tok', train: { maxSteps: 1000, evalEvery: 100, checkpointEvery: 100 } }),
    ),
    { say: quiet },
  );
  assert.deepEqual(
    r.stages.map((s) => [s.startStep, s.steps, s.batchSize]),
    [
      [0, 16, 4],
      [16, 8, 8],
    ],
  );
  assert.equal(r.progress.step, 24, 'the budget, not maxSteps, sets the run length');
  assert.ok(r.progress.tokens <= 4096);
  const grows = lines(out).filter((l) => l.event === 'grow');
  assert.deepEqual(
    grows.map((l) => l.step),
    [16],
  );
  assert.equal(grows[0].preserving, false); // stacking copies a layer: not exact, and the log says so
  const plan = JSON.parse(fs.readFileSync(path.join(out, 'schedule.json'), 'utf8'));
  assert.deepEqual([plan.budget.unit, plan.budget.amount, plan.steps], ['tokens', 4096, [16, 8]]);
});

test('LR policy continue vs restart at the boundary', async () => {
  const mk = (name: string, lr2: object) =>
    scheduleFile(name, {
      name,
      stages: [
        { steps: 6, model: { numHiddenLayers: 1 }, lr: { policy: 'continue' } },
        { steps: 6, ops: { depth: 'stack' }, lr: lr2 },
      ],
    });
  const cont = path.join(tmp, 'lr-continue');
  const rest = path.join(tmp, 'lr-restart');
  await pretrain(parseConfig(config(cont, { schedule: mk('continue', { policy: 'continue' }) })), { say: quiet });
  await pretrain(parseConfig(config(rest, { schedule: mk('restart', { policy: 'restart', warmup: 0.5 }) })), {
    say: quiet,
  });
  const lrs = (run: string) => trainLines(run).map((l) => Number(l.lr));
  const near = (got: number[], want: number[], what: string) => {
    assert.equal(got.length, want.length, what);
    got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-12, `${what}, step ${i + 1}: ${g} vs ${want[i]}`));
  };
  // the line for step n logs the lr of 0-based step n-1; global schedule: warmup 2, linear decay to 0 at 12
  const global = (i: number) => (i < 2 ? (LR * i) / 2 : LR * (1 - (i - 2) / 10));
  near(
    lrs(cont),
    Array.from({ length: 12 }, (_, i) => global(i)),
    'continue is one schedule',
  );
  // restart: stage 2 warms up again over 3 steps (50% of 6) and decays to 0 at its end
  const stage2 = [0, LR / 3, (2 * LR) / 3, LR, (2 * LR) / 3, LR / 3];
  near(lrs(rest), [...Array.from({ length: 6 }, (_, i) => global(i)), ...stage2], 'restart warms up again');
  // around the boundary: continue keeps decaying, restart drops to 0 then passes it
  const [c, r] = [lrs(cont), lrs(rest)];
  assert.ok(c[6] < c[5] && c[6] > 0);
  assert.ok(r[6] === 0 && r[9] > c[9]);
  // the losses agree up to the boundary (same stage 1), and differ after it
  const lossC = trainLines(cont).map((l) => l.loss),
    lossR = trainLines(rest).map((l) => l.loss);
  assert.deepEqual(lossC.slice(0, 6), lossR.slice(0, 6));
  assert.notDeepEqual(lossC.slice(7), lossR.slice(7));
});

test('a stage grows the hidden size (24 -> 32, heads 3 -> 4: hidden=lemon), and lrHorizon lemon skips the warmup', async () => {
  const wide = scheduleFile('hidden', {
    name: 'hidden',
    stages: [
      { steps: 6, model: { hiddenSize: 24, numAttentionHeads: 3 } },
      { steps: 6, ops: { hidden: 'lemon' } },
    ],
  });
  const out = path.join(tmp, 'hidden-lemon');
  const said: string[] = [];
  const c = { ...config(out, { schedule: wide }), lrHorizon: 'lemon' as const };
  c.model = { ...c.model, numAttentionHeads: 4 };
  const r = await pretrain(parseConfig(c), { say: (l) => said.push(l) });
  assert.deepEqual([r.modelConfig.hiddenSize, r.modelConfig.numAttentionHeads], [32, 4]);
  const grow = lines(out).find((l) => l.event === 'grow')!;
  assert.deepEqual([grow.hidden, grow.heads, grow.preserving], [32, 4, false]);
  assert.ok(Number(grow.maxRelLogitDiff) < 0.5, `relative logit change ${grow.maxRelLogitDiff}`);
  assert.ok(
    said.some((l) => /grew into .*hidden: 24 -> 32, heads 3 -> 4 \(head size 8\) by lemon/.test(l)),
    said.join('\n'),
  );
  // lemon: stage 1 is the run's schedule; stage 2 back at the peak at once, to 0 at the run's end
  const lrs = trainLines(out).map((l) => Number(l.lr));
  assert.ok(Math.abs(lrs[6] - LR) < 1e-12, `first grown step's lr ${lrs[6]}`);
  assert.ok(Math.abs(lrs[11] - LR / 6) < 1e-12, `last step's lr ${lrs[11]}`);
  for (const l of trainLines(out)) assert.ok(Number.isFinite(l.loss));
});

/** What fn printed: stderr and the console (stdout carries the test runner's own reports). */
async function printed(fn: () => Promise<unknown>): Promise<string> {
  const saved = [process.stderr.write, console.log, console.error, console.warn] as const;
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => (
    (text += String(chunk)),
    true
  )) as typeof process.stderr.write;
  console.log = console.error = console.warn = (...a: unknown[]) => void (text += a.join(' ') + '\n');
  try {
    await fn();
  } finally {
    [process.stderr.write, console.log, console.error, console.warn] = saved;
  }
  return text;
}

test('a caller gets typed events (metrics, evaluations, stages, growth, checkpoints) and needs no console', async () => {
  const dir = path.join(tmp, 'events');
  const events: PretrainEvent[] = [];
  const text = await printed(() =>
    pretrain(parseConfig(config(dir, { schedule: twoStage })), { onEvent: (e) => events.push(e) }),
  );
  assert.equal(text, '', 'nothing printed');
  const of = <T extends PretrainEvent['type']>(t: T) =>
    events.filter((e): e is Extract<PretrainEvent, { type: T }> => e.type === t);
  assert.deepEqual(
    of('metrics').map((e) => e.line),
    lines(dir),
    'every metrics.jsonl line, as it was written',
  );
  assert.deepEqual(lines(dir).map(comparable), lines(straight).map(comparable), 'the same run as without events');
  assert.ok(of('message').some((e) => /step 6: grew into target/.test(e.line)));
  const steps = events
    .filter((e) => e.type !== 'metrics' && e.type !== 'message')
    .map((e) => `${e.type} ${'record' in e ? e.record.stage : e.type === 'stage-start' ? e.stage : e.step}`);
  assert.deepEqual(steps, [
    'stage-start 0',
    'checkpoint 3',
    'evaluation 6',
    'checkpoint 6',
    'stage-end 0',
    'growth 6',
    'evaluation 6', // right after growth
    'checkpoint 6',
    'stage-start 1',
    'checkpoint 9',
    'evaluation 12',
    'checkpoint 12',
    'stage-end 1',
  ]);
  const [grown] = of('growth');
  const line = lines(dir).find((l) => l.event === 'grow')!;
  assert.equal(grown.preservation.maxAbsLogitDiff, line.maxAbsLogitDiff);
  assert.equal(grown.preserving, false);
  assert.ok(grown.report.length > 0);
  assert.deepEqual([grown.model.numHiddenLayers, grown.model.intermediateSize], [2, 64]);
  assert.deepEqual(
    of('evaluation').map((e) => e.valLoss),
    lines(dir)
      .filter((l) => l.valLoss !== undefined)
      .map((l) => l.valLoss),
  );
  assert.equal(of('checkpoint').at(-1)!.dir, path.join(dir, 'checkpoints', 'step-00000012'));
});

test('an AbortSignal stops the run as SIGINT does; resumed, it gives the uninterrupted losses', async () => {
  const dir = path.join(tmp, 'aborted');
  const stop = new AbortController();
  const events: PretrainEvent[] = [];
  const onEvent = (e: PretrainEvent) => {
    events.push(e);
    if (e.type === 'metrics' && e.line.step === 4 && e.line.loss !== undefined) stop.abort();
  };
  await assert.rejects(
    pretrain(parseConfig(config(dir, { schedule: twoStage })), { say: quiet, signal: stop.signal, onEvent }),
    (e: Error) =>
      e instanceof Interrupted &&
      e.signal === 'abort' &&
      e.at?.step === 4 &&
      e.at.checkpoint === path.join(dir, 'checkpoints', 'step-00000004') &&
      /^interrupted at step 4 \(aborted\); checkpoint saved to \S+; continue with --resume$/.test(e.message),
  );
  assert.deepEqual(events.at(-1), { type: 'checkpoint', step: 4, dir: path.join(dir, 'checkpoints', 'step-00000004') });
  assert.equal(fs.existsSync(path.join(dir, RUN_LOCK)), false, 'the lock is released');
  await pretrain(parseConfig({ ...config(dir, { schedule: twoStage }), resume: true }), { say: quiet });
  assert.deepEqual(lines(dir).map(comparable), lines(straight).map(comparable), 'the whole log, growth included');
  const a = loadRunModel(straight).model.namedParameters();
  const b = loadRunModel(dir).model.namedParameters();
  for (const [name, t] of a) assert.ok(t.equal(b.get(name)!), `${name} differs after the aborted run resumed`);
  // aborted before the call: refused at once, nothing made
  const never = path.join(tmp, 'never');
  await assert.rejects(
    pretrain(parseConfig(config(never)), { say: quiet, signal: AbortSignal.abort() }),
    (e: Error) => e instanceof Interrupted && e.signal === 'abort' && /not started/.test(e.message),
  );
  assert.equal(fs.existsSync(never), false);
});
