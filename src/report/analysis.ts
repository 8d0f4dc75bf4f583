// The numbers of a growth comparison, from the runs' metrics: final validation loss, the time
// and FLOPs each schedule needs to reach the baseline's final loss, and the speedups as the
// paper reports them (baseline cost / method cost - 1). Pure functions over metrics lines.
import type { MetricsLine } from '../train/metrics-log.js';

export interface Curve {
  name: string;
  /** evaluation points in order */
  evals: { step: number; seconds: number; flops: number; valLoss: number }[];
  /** growth events */
  grows: { step: number; seconds: number; flops: number }[];
}

export function curveFromMetrics(name: string, lines: MetricsLine[]): Curve {
  const evals = lines
    .filter((l) => typeof l.valLoss === 'number')
    .map((l) => ({ step: l.step, seconds: Number(l.seconds), flops: Number(l.flops), valLoss: Number(l.valLoss) }));
  const grows = lines
    .filter((l) => l.event === 'grow')
    .map((l) => ({ step: l.step, seconds: Number(l.seconds), flops: Number(l.flops) }));
  return { name, evals, grows };
}

export const finalLoss = (c: Curve): number => (c.evals.length ? c.evals[c.evals.length - 1].valLoss : NaN);

/**
 * The first (interpolated) cost at which a curve reaches `target` loss, on the `by` axis; null if
 * it never does. Between two evaluations the loss is taken as linear in the cost.
 */
export function costToReach(c: Curve, target: number, by: 'seconds' | 'flops'): number | null {
  let prev: Curve['evals'][number] | null = null;
  for (const e of c.evals) {
    if (e.valLoss <= target) {
      if (!prev || prev.valLoss <= target) return e[by];
      const f = (prev.valLoss - target) / (prev.valLoss - e.valLoss);
      return prev[by] + f * (e[by] - prev[by]);
    }
    prev = e;
  }
  return null;
}

export interface ScheduleResult {
  name: string;
  finalValLoss: number;
  seconds: number;
  flops: number;
  secondsToBaselineLoss: number | null;
  flopsToBaselineLoss: number | null;
  /** baseline seconds / schedule seconds to the baseline's final loss, minus 1 (null: never reached) */
  speedupTime: number | null;
  speedupFlops: number | null;
  /** false when the speedup is not meaningful: full does not beat the small-only control */
  meaningful: boolean;
}

export interface BudgetResult {
  budget: string;
  baselineFinalLoss: number;
  smallOnlyFinalLoss: number | null;
  /** growth only makes sense where the full model beats the small model trained alone */
  fullBeatsSmallOnly: boolean | null;
  schedules: ScheduleResult[];
}

export function analyse(budget: string, curves: Curve[], baseline = 'full', control = 'small-only'): BudgetResult {
  const base = curves.find((c) => c.name === baseline);
  if (!base || base.evals.length === 0) throw new Error(`analyse: no evaluations for the baseline '${baseline}'`);
  const target = finalLoss(base);
  // The baseline's own cost to its final loss, by the same rule as every schedule's (a noisy
  // curve can touch its final value before the end), so full's speedup is 0 by construction.
  const baseSeconds = costToReach(base, target, 'seconds')!;
  const baseFlops = costToReach(base, target, 'flops')!;
  const small = curves.find((c) => c.name === control);
  const smallLoss = small ? finalLoss(small) : null;
  const fullBeatsSmallOnly = smallLoss === null ? null : target < smallLoss;
  const schedules = curves.map((c): ScheduleResult => {
    const end = c.evals[c.evals.length - 1];
    const sec = costToReach(c, target, 'seconds');
    const fl = costToReach(c, target, 'flops');
    return {
      name: c.name,
      finalValLoss: finalLoss(c),
      seconds: end?.seconds ?? NaN,
      flops: end?.flops ?? NaN,
      secondsToBaselineLoss: sec,
      flopsToBaselineLoss: fl,
      speedupTime: sec ? baseSeconds / sec - 1 : null,
      speedupFlops: fl ? baseFlops / fl - 1 : null,
      meaningful: fullBeatsSmallOnly !== false,
    };
  });
  return { budget, baselineFinalLoss: target, smallOnlyFinalLoss: smallLoss, fullBeatsSmallOnly, schedules };
}

// ---- Several seeds ------------------------------------------------------------------------------
export interface Stat {
  mean: number;
  min: number;
  max: number;
  n: number;
}

export function stat(xs: number[]): Stat {
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  return { mean, min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}
/** half the seeds' range: the spread a difference has to beat */
export const halfRange = (s: Stat): number => (s.max - s.min) / 2;

/** a - b (means), beyond seed noise only when larger than the two half-ranges added */
export function difference(a: Stat, b: Stat): { delta: number; noise: number; beyondNoise: boolean } {
  const delta = a.mean - b.mean,
    noise = halfRange(a) + halfRange(b);
  return { delta, noise, beyondNoise: Math.abs(delta) > noise };
}

export interface SeededScheduleResult {
  name: string;
  finalValLoss: Stat;
  /** over the seeds that reached the baseline's final loss (null: none did) */
  speedupTime: Stat | null;
  speedupFlops: Stat | null;
  /** seeds whose run reached the baseline's (same-seed) final loss */
  reached: number;
  /** final loss minus full's */
  vsFull: { delta: number; noise: number; beyondNoise: boolean };
}

export interface SeededBudgetResult {
  budget: string;
  seeds: number[];
  schedules: SeededScheduleResult[];
  /** 'yes' / 'no' beyond the seed spread, 'within noise', or null without a control */
  fullBeatsSmallOnly: 'yes' | 'no' | 'within noise' | null;
}

/** One budget's results over seeds (each BudgetResult from one seed, same schedules in the same order). */
export function aggregateSeeds(
  seeds: number[],
  perSeed: BudgetResult[],
  baseline = 'full',
  control = 'small-only',
): SeededBudgetResult {
  const names = perSeed[0].schedules.map((s) => s.name);
  const pick = (n: string) => perSeed.map((r) => r.schedules.find((s) => s.name === n)!);
  const finals = (n: string) => stat(pick(n).map((s) => s.finalValLoss));
  const full = finals(baseline);
  const schedules = names.map((n): SeededScheduleResult => {
    const runs = pick(n);
    const some = (xs: (number | null)[]) =>
      xs.some((x) => x !== null) ? stat(xs.filter((x): x is number => x !== null)) : null;
    return {
      name: n,
      finalValLoss: finals(n),
      speedupTime: some(runs.map((s) => s.speedupTime)),
      speedupFlops: some(runs.map((s) => s.speedupFlops)),
      reached: runs.filter((s) => s.speedupTime !== null).length,
      vsFull: difference(finals(n), full),
    };
  });
  let fullBeatsSmallOnly: SeededBudgetResult['fullBeatsSmallOnly'] = null;
  if (names.includes(control)) {
    const d = difference(full, finals(control));
    fullBeatsSmallOnly = !d.beyondNoise ? 'within noise' : d.delta < 0 ? 'yes' : 'no';
  }
  return { budget: perSeed[0].budget, seeds, schedules, fullBeatsSmallOnly };
}
