// Resolving a schedule against a run: each stage's model config, data shape, step count (from
// steps, tokens, or a fraction of a step/token/seconds budget), FLOPs per step, and one LR
// function over the whole run that follows each stage's policy.
import { z } from 'zod';
import { GrowbertError } from '../io/errors.js';
import { GROWABLE_KEYS, bertConfig, type BertConfig } from '../model/index.js';
import { lrAt, type LrDecay, type Schedule as LrSchedule } from './lr.js';
import { stepFlops } from './cost.js';
import type { Schedule, Stage } from './schedule.js';

export type BudgetUnit = 'steps' | 'tokens' | 'seconds' | 'flops';
/** `given`: the user stated it (--budget); the default budget (the preset's or --max-steps' steps) is not. */
export interface Budget {
  unit: BudgetUnit;
  amount: number;
  label: string;
  given?: boolean;
}

const FLOP_SCALE: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };

/**
 * '600' or '600steps' (steps), '2M' tokens as '2Mtok' or '2000000tokens', '90s' / '5m' / '1h' (seconds),
 * '5e13flops' / '50Tflops' (training FLOPs by the cost model, src/schedule/cost.ts). Steps and
 * tokens are whole numbers; every amount is finite and at most 2^53 (counted exactly: above that,
 * doubles skip integers, and 1e400 is Infinity).
 */
export function parseBudget(text: string): Budget {
  const t = text.trim();
  if (t === '')
    throw new GrowbertError(
      `budget '${text}' is empty; write steps (600), tokens (2Mtok), time (90s, 5m, 1h) or FLOPs (5e13flops), or leave --budget out`,
    );
  const flops = t.match(/^(\d+(?:\.\d+)?(?:e\+?\d+)?)\s*([kMGTP]?)\s*flops?$/i);
  if (flops) {
    const n = Number(flops[1]) * FLOP_SCALE[flops[2].length ? flops[2].toUpperCase().replace('K', 'k') : ''];
    if (!(n >= 1)) throw new GrowbertError(`budget '${text}' must be at least 1 FLOP`);
    // a FLOP count is an estimate (the cost model): above 2^53 it is fine, but it must be finite, and
    // the steps it buys are checked by resolveSchedule
    if (!Number.isFinite(n)) countable(n, text, 'FLOPs');
    return { unit: 'flops', amount: n, label: t, given: true };
  }
  const time = t.match(/^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)$/);
  if (time) {
    const sec = time[2] === 'h' ? 3600 : time[2].startsWith('m') ? 60 : 1;
    if (!(Number(time[1]) > 0)) throw new GrowbertError(`budget '${text}' must be positive`);
    return { unit: 'seconds', amount: countable(Number(time[1]) * sec, text, 'seconds'), label: t, given: true };
  }
  const m = t.match(/^(\d+(?:\.\d+)?)\s*([kKM]?)\s*(steps?|tok|tokens?)?$/);
  if (!m)
    throw new GrowbertError(
      `budget '${text}' not understood; write steps (600), tokens (2Mtok), time (90s, 5m, 1h) or FLOPs (5e13flops)`,
    );
  const unit = m[3]?.startsWith('tok') ? 'tokens' : 'steps';
  // 1.5 would have been rounded to 2 steps silently; 1.5k is 1500, a whole number
  const n = Number((Number(m[1]) * (m[2] ? (m[2] === 'M' ? 1e6 : 1e3) : 1)).toPrecision(15));
  if (!(n >= 1)) throw new GrowbertError(`budget '${text}' must be at least 1 ${unit === 'tokens' ? 'token' : 'step'}`);
  if (!Number.isInteger(n))
    throw new GrowbertError(
      `budget '${text}' is ${n} ${unit}; a budget of ${unit} is a whole number: write ${Math.floor(n) || 1} or ${Math.ceil(n)}`,
    );
  return { unit, amount: countable(n, text, unit), label: t, given: true };
}

/** A budget as a config or option field: a string parseBudget accepts (its one-line message otherwise). */
export const BudgetSchema = z.string().superRefine((b, ctx) => {
  try {
    parseBudget(b);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
  }
});

/** The largest count growbert keeps exact (step, token and FLOP counters are doubles). */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** `n` when it is finite and at most 2^53, else a one-line error naming the budget. */
function countable(n: number, text: string, unit: string): number {
  if (Number.isFinite(n) && n <= MAX_COUNT) return n;
  throw new GrowbertError(
    `budget '${text}' is ${Number.isFinite(n) ? `${n.toExponential(2)} ${unit}` : 'infinite (beyond a double)'}, more than growbert counts exactly (2^53 = ${MAX_COUNT}); give a smaller budget`,
  );
}

export interface ResolvedStage {
  index: number;
  name: string;
  stage: Stage;
  config: BertConfig;
  seqLength: number;
  batchSize: number;
  maxPredictions: number;
  steps: number;
  startStep: number;
  flopsPerStep: number;
  /** a time budget's fraction stage: its share of the budget in seconds (the clock ends it; steps are an estimate) */
  seconds?: number;
}

export interface RunShape {
  /** the target model (the last stage grows into it) */
  target: BertConfig;
  seqLength: number;
  batchSize: number;
  maskProb: number;
  gradAccumulation: number;
  /** budget for fraction stages (default: maxSteps steps) */
  budget: Budget;
  /** measured seconds per step of a stage (needed for seconds budgets) */
  secondsPerStep?: (s: Omit<ResolvedStage, 'steps' | 'startStep'>) => number;
}

/**
 * Each stage's shape and step count. A FLOP budget places each fraction stage's end where the
 * run's cumulative FLOPs reach the fractions so far (rounded to whole steps there, so the run
 * ends within half a step of its budget, whatever the stages). A time budget's fraction stages
 * get `seconds` (their share, the clock ends them: src/train/budget-clock.ts) and planned steps
 * from the calibration, an estimate for progress bars and `plan`.
 */
export function resolveSchedule(sched: Schedule, run: RunShape): ResolvedStage[] {
  const out: ResolvedStage[] = [];
  let start = 0,
    flopsSoFar = 0,
    fractionSoFar = 0;
  sched.stages.forEach((stage, index) => {
    const config = bertConfig({ ...run.target, ...stage.model });
    const seqLength = stage.seqLength ?? run.seqLength;
    if (seqLength > run.target.maxPositionEmbeddings) {
      throw new GrowbertError(
        `schedule ${sched.name}: stage ${index + 1} uses sequences of ${seqLength} but the model has ${run.target.maxPositionEmbeddings} positions`,
      );
    }
    const batchSize = stage.batchSize ?? run.batchSize;
    const maxPredictions = Math.max(1, Math.round(seqLength * run.maskProb));
    const base = {
      index,
      name: stage.name ?? `stage ${index + 1}`,
      stage,
      config,
      seqLength,
      batchSize,
      maxPredictions,
      flopsPerStep: stepFlops({ config, batchSize, seqLength, maxPredictions }, run.gradAccumulation),
    };
    const tokensPerStep = batchSize * seqLength * run.gradAccumulation;
    let steps: number;
    let seconds: number | undefined;
    if (stage.steps !== undefined) steps = stage.steps;
    else if (stage.tokens !== undefined) steps = Math.ceil(stage.tokens / tokensPerStep);
    else {
      const share = stage.fraction! * run.budget.amount;
      fractionSoFar += stage.fraction!;
      if (run.budget.unit === 'steps') steps = Math.round(share);
      else if (run.budget.unit === 'tokens') steps = Math.round(share / tokensPerStep);
      else if (run.budget.unit === 'flops')
        steps = Math.round((fractionSoFar * run.budget.amount - flopsSoFar) / base.flopsPerStep);
      else {
        if (!run.secondsPerStep)
          throw new GrowbertError('a time budget needs a step-time calibration; give the budget in steps or tokens');
        seconds = share;
        steps = Math.floor(share / run.secondsPerStep(base));
      }
    }
    steps = Math.max(1, steps);
    if (!(steps <= MAX_COUNT))
      throw new GrowbertError(
        `schedule ${sched.name}: stage ${index + 1} would take ${steps.toExponential(2)} steps (budget ${run.budget.label}), more than growbert counts exactly (2^53); give a smaller budget`,
      );
    out.push({ ...base, steps, startStep: start, ...(seconds !== undefined ? { seconds } : {}) });
    start += steps;
    if (stage.fraction !== undefined) flopsSoFar += steps * base.flopsPerStep; // the fraction stages' running total
  });
  checkFixedStagesFit(sched, out, run);
  const last = out[out.length - 1].config;
  for (const k of GROWABLE_KEYS) {
    if (last[k] !== run.target[k] && !sched.control) {
      throw new GrowbertError(
        `schedule ${sched.name}: the last stage has ${k} ${last[k]} but the target has ${run.target[k]}; end with the target model`,
      );
    }
  }
  return out;
}

/**
 * Stages given in steps or tokens are not shares of the budget, so nothing keeps them within it:
 * a plan that would run past a step or token budget is refused, naming both figures (it used to
 * run 8x the budget without a word). Fractions of the budget always fit; without --budget, the
 * stages' own steps are the plan.
 */
function checkFixedStagesFit(sched: Schedule, stages: ResolvedStage[], run: RunShape): void {
  if (
    !run.budget.given ||
    run.budget.unit === 'seconds' ||
    !sched.stages.some((s) => s.steps !== undefined || s.tokens !== undefined)
  )
    return;
  const unit = run.budget.unit;
  const per = (s: ResolvedStage) =>
    unit === 'steps' ? 1 : unit === 'flops' ? s.flopsPerStep : s.batchSize * s.seqLength * run.gradAccumulation;
  const total = stages.reduce((a, s) => a + s.steps * per(s), 0);
  // a FLOP budget may end half a step past its amount (whole steps)
  const slack = unit === 'flops' ? 0.5 * stages[stages.length - 1].flopsPerStep : 0;
  if (total > run.budget.amount + slack) {
    throw new GrowbertError(
      `schedule ${sched.name}: its stages take ${total} ${unit} but the budget is ${run.budget.amount} ${unit} (${run.budget.label}); lower the stages' steps or tokens, or raise --budget`,
    );
  }
}

export interface LrOptions {
  peak: number;
  warmupSteps: number;
  decay: LrDecay;
  power: number;
}

/**
 * One LR function over the run:
 *   restart   warmup (stage.lr.warmup x the stage; default 5%, or the run's warmup in stage 1),
 *             then by stage.lr.horizon: 'stage' decay to 0 at the stage's end; 'run' the run's
 *             one decay (to 0 at the run's end) times the warmup ramp; 'none' constant peak;
 *             'lemon' no warmup by default after stage 1, the peak decayed to 0 at the run's end
 *   continue  the run's single schedule (its warmup at step 0, decay to 0 at the run's end)
 *   rewind    back to the peak after a short warmup (stage.lr.warmup steps, default 2% of the
 *             run), then decay to 0 at the run's end
 * Stage 1 uses the run's warmup (whatever its policy) unless it gives its own, so a one-stage
 * run is the run's single schedule.
 */
export function stageLr(stages: ResolvedStage[], o: LrOptions): LrSchedule {
  const total = stages.reduce((a, s) => a + s.steps, 0);
  const global = {
    peak: o.peak,
    warmupSteps: Math.min(o.warmupSteps, total),
    totalSteps: total,
    decay: o.decay,
    power: o.power,
    endLr: 0,
  };
  const lrOf = (step: number): number => {
    const s = stages.find((x) => step < x.startStep + x.steps) ?? stages[stages.length - 1];
    const k = step - s.startStep;
    const peak = s.stage.lr.peak ?? o.peak;
    switch (s.stage.lr.policy) {
      case 'restart': {
        const horizon = s.stage.lr.horizon ?? 'stage';
        // lemon: a grown stage goes straight back to the peak (the growth kept the function and
        // the moments: nothing to warm up) unless the stage asks for a warmup
        const later = horizon === 'lemon' ? 0 : Math.round(0.05 * s.steps);
        const w = Math.min(
          s.steps,
          s.stage.lr.warmup !== undefined
            ? Math.round(s.stage.lr.warmup * s.steps)
            : s.index === 0
              ? o.warmupSteps
              : later,
        );
        const ramp = w > 0 && k < w ? k / w : 1;
        if (horizon === 'none') return ramp * peak;
        // 'run': the run-long decay (no warmup of its own), times this stage's warmup ramp
        if (horizon === 'run')
          return (
            ramp *
            lrAt(
              { ...global, peak, warmupSteps: Math.min(o.warmupSteps, total) },
              Math.max(step, Math.min(o.warmupSteps, total)),
            )
          );
        // lemon: from the peak (after the warmup, if any) to 0 at the run's end, in the run's decay shape
        if (horizon === 'lemon') return lrAt({ ...global, peak, warmupSteps: w, totalSteps: total - s.startStep }, k);
        return lrAt({ ...global, peak, warmupSteps: w, totalSteps: s.steps }, k);
      }
      case 'continue':
        return lrAt({ ...global, peak }, step);
      case 'rewind': {
        if (s.index === 0) return lrAt({ ...global, peak }, step);
        // the warmup ends at the peak; the decay runs from there to 0 at the run's end
        const rest = total - s.startStep;
        const w = Math.round(s.stage.lr.warmup ?? 0.02 * total);
        return lrAt({ ...global, peak, warmupSteps: Math.min(w, rest), totalSteps: rest }, k);
      }
    }
  };
  return { totalSteps: total, lrAt: lrOf };
}
