// The runs of a `growbert compare`: their plans (fixed step counts for step, token and FLOP
// budgets; the clock for time budgets), running them one after another in this process or N side
// by side (--parallel, src/report/compare-parallel.ts), and what each run really got of its
// budget: its measured time (or FLOPs) on the clock the budget charged, per stage as well.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { GrowbertError } from '../io/errors.js';
import { parseBudget, resolveSchedule } from '../schedule/plan.js';
import { loadSchedule } from '../schedule/schedule.js';
import type { Clock } from '../train/budget-clock.js';
import { parseConfig, resolveConfig, type PretrainConfig } from '../train/config.js';
import { prepareCorpus } from '../train/data.js';
import type { MetricsLine } from '../train/metrics-log.js';
import { pretrain } from '../train/pretrain.js';
import { RUN_LOCK, RUN_MARKER } from '../train/run.js';
import { RunDir } from '../train/run-dir.js';
import { modelConfigFor } from '../train/runtime.js';
import { Interrupted, signalNote } from '../train/signals.js';
import { runParallel, stoppedBefore, type ParallelJob } from './compare-parallel.js';
import type { CompareOptions } from './compare.js';

const dirName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** A run's schedule (a preset, a JSON file, or the fixed-steps plan) and, for a time budget, the budget itself. */
export interface RunPlan {
  schedule: string;
  budget?: string;
}

/**
 * Every run's plan, fixed before any run starts and written to OUT/schedules/ (so an interrupted
 * compare of any budget kind is recognized and continued, and its plans can be copied with it).
 * Step, token and FLOP budgets are resolved once into a schedule file with explicit steps per
 * stage (deterministic: the cost model, not the machine, sets a FLOP budget's steps). A time
 * budget is the clock's: its file keeps the schedule's fractions, and each run gets the budget
 * itself and stops when its training time reaches it (src/train/budget-clock.ts), so a slow
 * calibration or a busy machine no longer hands one schedule more time than another.
 */
export async function planRuns(o: CompareOptions, schedules: string[]): Promise<Map<string, RunPlan>> {
  const plans = new Map<string, RunPlan>();
  const c = resolveConfig(parseConfig({ ...o.base, preset: o.target as never }, 'compare config'));
  const corpus = await prepareCorpus({ ...c.data }, o.progress);
  const target = modelConfigFor(c, corpus.tokenizer.vocabSize);
  const dir = path.join(o.out, 'schedules');
  fs.mkdirSync(dir, { recursive: true });
  for (const budget of o.budgets) {
    const timed = parseBudget(budget).unit === 'seconds';
    for (const s of schedules) {
      const file = path.join(dir, `${dirName(budget)}-${dirName(path.basename(s, '.json'))}.json`);
      plans.set(key(budget, s), timed ? { schedule: file, budget } : { schedule: file });
      if (fs.existsSync(file)) continue; // planned by an earlier, interrupted compare: keep its plan
      const sched = loadSchedule(s, target, c.data.seqLength, { lrHorizon: c.lrHorizon });
      if (timed) {
        atomicWriteFile(file, JSON.stringify(sched, null, 2) + '\n');
        continue;
      }
      const stages = resolveSchedule(sched, {
        target,
        seqLength: c.data.seqLength,
        batchSize: c.train.batchSize,
        maskProb: c.data.maskProb,
        gradAccumulation: c.train.gradAccumulation,
        budget: parseBudget(budget),
      });
      const steps = sched.stages.map((st, i) => ({
        ...st,
        steps: stages[i].steps,
        tokens: undefined,
        fraction: undefined,
      }));
      atomicWriteFile(file, JSON.stringify({ ...sched, stages: steps }, null, 2) + '\n');
    }
  }
  return plans;
}

export const key = (budget: string, schedule: string) => `${budget}\u0000${schedule}`;

/** One run of the comparison. */
export interface CompareRun {
  budget: string;
  schedule: string;
  seed: number;
  runDir: string;
}

/** A run's config: the shared base, this seed, schedule and budget; one thread each when runs share the machine. */
function runConfig(o: CompareOptions, r: CompareRun, plan: RunPlan, clock: Clock): PretrainConfig {
  const parallel = (o.parallel ?? 1) > 1;
  return parseConfig(
    {
      ...o.base,
      train: { ...o.base.train, seed: r.seed },
      runtime: {
        ...o.base.runtime,
        threads: o.base.runtime?.threads ?? (parallel ? 1 : undefined),
        ...(parallel ? { progress: false } : {}),
      },
      preset: o.target as never,
      schedule: plan.schedule,
      ...(plan.budget ? { budget: plan.budget, clock } : {}),
      out: r.runDir,
      resume: false,
    },
    'compare config',
  );
}

/**
 * Runs every run not yet done (a `compare-done.json` and a checkpoint), in order, `o.parallel`
 * at a time. A run that was cut off is started over: comparisons need uninterrupted timings.
 */
export async function runAll(o: CompareOptions, runs: CompareRun[], plans: Map<string, RunPlan>): Promise<void> {
  const clock = compareClock(o);
  const todo: ParallelJob[] = [];
  for (const r of runs) {
    const run = new RunDir(r.runDir);
    const doneFile = path.join(r.runDir, 'compare-done.json');
    if (fs.existsSync(doneFile) && run.latestCheckpoint()) {
      o.say(
        `compare: budget ${r.budget}, schedule ${r.schedule}, seed ${r.seed}: already done in ${r.runDir}, reusing it`,
      );
      continue;
    }
    // Only a run folder is deleted: anything else put there is the user's.
    if (fs.existsSync(r.runDir) && fs.readdirSync(r.runDir).length > 0 && !run.isRun()) {
      throw new GrowbertError(
        `${r.runDir} holds files that are not a growbert run; move them away (compare deletes a cut-off run there to start it over)`,
      );
    }
    if (fs.existsSync(r.runDir)) startRunOver(run);
    todo.push({
      label: `${path.basename(r.schedule, '.json')} ${r.budget} seed ${r.seed}`,
      config: runConfig(o, r, plans.get(key(r.budget, r.schedule))!, clock),
      done: () =>
        atomicWriteFile(doneFile, JSON.stringify({ schedule: r.schedule, budget: r.budget, seed: r.seed }) + '\n'),
    });
  }
  if ((o.parallel ?? 1) > 1) return runParallel(todo, o.parallel!, o.say, o.signal);
  for (const job of todo) {
    if (o.signal?.aborted) throw stoppedBefore(job.label);
    o.say(`compare: ${job.label} -> ${job.config.out}`);
    try {
      // an abort or a signal stops the run after its step, with a checkpoint (rerunning compare starts it over)
      await pretrain(job.config, { say: o.say, progress: o.progress, signal: o.signal });
    } catch (e) {
      // pretrain's "continue with --resume" is not how a compare continues
      if (e instanceof Interrupted)
        throw new Interrupted(
          `compare stopped${signalNote(e.signal)} in the run ${job.label} (${job.config.out}); the runs that finished are kept: rerun the same compare to continue (the run cut off starts over)`,
          e.signal,
        );
      throw e;
    }
    job.done();
  }
}

/**
 * A cut-off run is started over (comparisons need uninterrupted timings), under the run folder's lock so a
 * run still training there is refused, removing only what growbert wrote: anything else is the user's.
 */
function startRunOver(run: RunDir): void {
  run.lock();
  try {
    run.removeOutputs(['compare-done.json']);
    const left = fs.readdirSync(run.dir).filter((n) => n !== RUN_MARKER && n !== RUN_LOCK);
    if (left.length)
      throw new GrowbertError(
        `${run.dir} holds files growbert did not write (${left.slice(0, 3).join(', ')}); move them away so compare can start the cut-off run there over`,
      );
  } finally {
    run.release();
  }
  fs.rmSync(run.dir, { recursive: true, force: true });
}

/** The clock time budgets charge: the one asked for, else cpu when runs share the machine, else wall. */
export function compareClock(o: Pick<CompareOptions, 'clock' | 'parallel'>): Clock {
  return o.clock ?? ((o.parallel ?? 1) > 1 ? 'cpu' : 'wall');
}

/** What a run got of its budget: the amount on the budget's own measure, and per stage. */
export interface BudgetUse {
  schedule: string;
  seed: number;
  /** seconds (on `clock`), FLOPs, steps or tokens, as the budget is given */
  unit: string;
  clock?: Clock;
  share: number;
  measured: number;
  /** a time or FLOP budget's run that got below 98% of its share */
  short: boolean;
  /** wall-clock and CPU training seconds, whatever the budget */
  seconds: number;
  cpuSeconds: number;
  stages: { name: string; plannedSteps: number; steps: number; plannedSeconds?: number; seconds: number }[];
}

/** A finished run's use of its budget, from its metrics (the stage lines and the last training line). */
export function budgetUse(r: CompareRun, clock: Clock): BudgetUse {
  const lines = new RunDir(r.runDir).readMetrics();
  const b = parseBudget(r.budget);
  const lastOf = (f: (l: MetricsLine) => boolean) => [...lines].reverse().find(f);
  const end = lastOf((l) => typeof l.seconds === 'number') ?? { step: 0 };
  const seconds = Number(end.seconds ?? 0),
    cpuSeconds = Number(lastOf((l) => typeof l.cpuSeconds === 'number')?.cpuSeconds ?? 0);
  const measured =
    b.unit === 'seconds'
      ? clock === 'cpu'
        ? cpuSeconds
        : seconds
      : b.unit === 'flops'
        ? Number(end.flops ?? 0)
        : b.unit === 'steps'
          ? end.step
          : Number(end.tokens ?? 0);
  const stages = lines
    .filter((l) => l.event === 'stage')
    .map((l) => ({
      name: String(l.stageName),
      plannedSteps: Number(l.plannedSteps),
      steps: Number(l.stageSteps),
      ...(typeof l.plannedSeconds === 'number' ? { plannedSeconds: l.plannedSeconds } : {}),
      seconds: Number(l.stageSeconds),
    }));
  return {
    schedule: path.basename(r.schedule, '.json'),
    seed: r.seed,
    unit: b.unit,
    ...(b.unit === 'seconds' ? { clock } : {}),
    share: b.amount,
    measured,
    short: (b.unit === 'seconds' || b.unit === 'flops') && measured < 0.98 * b.amount,
    seconds,
    cpuSeconds,
    stages,
  };
}
