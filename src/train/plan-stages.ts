// A run's stages, resolved once and saved with it (RUN/schedule.json): the schedule, the budget
// and each stage's planned steps. A time budget's planned steps come from a calibration, measured
// on the clock the budget charges; they place the stages in the LR schedule and size the
// progress bar, while the clock ends the stages (src/train/budget-clock.ts).
import type { BertConfig } from '../model/index.js';
import { loadSchedule, type Schedule } from '../schedule/schedule.js';
import { parseBudget, resolveSchedule, type Budget, type ResolvedStage } from '../schedule/plan.js';
import type { Device } from '../tensor/index.js';
import type { DataParallel } from '../parallel/data-parallel.js';
import { measureStepSeconds } from './calibrate.js';
import type { ResolvedConfig } from './config.js';
import type { RunDir } from './run-dir.js';

/**
 * The resolved stages, saved with the run. On resume the schedule is the saved one; the budget
 * is the one given now (a larger --max-steps or --budget extends the run), and the step counts of
 * a time budget, which came from a calibration, are reused rather than measured again.
 */
interface SavedPlan {
  schedule: Schedule;
  budget: Budget;
  steps: number[];
}

/** The run's budget: --budget, or else --max-steps (the preset's steps) as a step budget. */
export function runBudget(c: Pick<ResolvedConfig, 'budget' | 'train'>): Budget {
  return c.budget
    ? parseBudget(c.budget)
    : { unit: 'steps' as const, amount: c.train.maxSteps, label: `${c.train.maxSteps} steps` };
}

export function planStages(
  c: ResolvedConfig,
  target: BertConfig,
  runDir: RunDir,
  device: Device,
  say: (l: string) => void,
  dp?: DataParallel,
): { schedule: Schedule; stages: ResolvedStage[]; savePlan: () => void } {
  const budget = runBudget(c);
  // The saved (or rank 0's) planned steps, without calibrating again; a time budget's stages keep
  // their seconds, so the clock still ends them.
  const withSteps = (schedule: Schedule, steps: number[]): ResolvedStage[] => {
    let start = 0;
    return resolveSchedule(schedule, { ...run, secondsPerStep: () => 1 }).map((s, i) => {
      const r = { ...s, steps: steps[i], startStep: start };
      start += steps[i];
      return r;
    });
  };
  const workers = dp?.worldSize ?? 1;
  const run = {
    target,
    seqLength: c.data.seqLength,
    batchSize: c.train.batchSize,
    maskProb: c.data.maskProb,
    gradAccumulation: c.train.gradAccumulation,
    budget,
    secondsPerStep: (s: Pick<ResolvedStage, 'config' | 'batchSize' | 'seqLength' | 'maxPredictions' | 'name'>) => {
      // Data parallel: one worker's share of the batch (communication not counted).
      const t = measureStepSeconds(
        { ...s, batchSize: Math.max(1, Math.floor(s.batchSize / workers)) },
        { device, bf16: c.runtime.precision === 'bf16', gradAccumulation: c.train.gradAccumulation, clock: c.clock },
      );
      say(
        `calibration: ${s.name} takes ${(t * 1000).toFixed(1)} ms per step${workers > 1 ? ` (its share of the batch on one of ${workers} workers)` : ''}`,
      );
      return t;
    },
  };
  // Data parallel: rank 0 plans (and calibrates, and writes schedule.json); the others take its plan.
  if (dp && !dp.isLeader) {
    const plan = dp.broadcastObject<{ schedule: Schedule; steps: number[] }>(undefined);
    return { schedule: plan.schedule, stages: withSteps(plan.schedule, plan.steps), savePlan: () => {} };
  }
  const saved = c.resume ? runDir.readPlan<SavedPlan>() : null;
  const schedule = saved?.schedule ?? loadSchedule(c.schedule, target, c.data.seqLength, { lrHorizon: c.lrHorizon });
  const reuse =
    saved !== null &&
    budget.unit === 'seconds' &&
    saved.budget.unit === 'seconds' &&
    saved.budget.amount === budget.amount;
  const stages = reuse ? withSteps(schedule, saved!.steps) : resolveSchedule(schedule, run);
  // Written by the caller once the resume is known to go ahead: a refused one leaves the plan as it was.
  const savePlan = () => runDir.savePlan({ schedule, budget, steps: stages.map((s) => s.steps) } satisfies SavedPlan);
  dp?.broadcastObject({ schedule, steps: stages.map((s) => s.steps) });
  return { schedule, stages, savePlan };
}
