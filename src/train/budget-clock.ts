// Where a stage ends and where the LR schedule stands, by steps or by the clock. A time budget is
// enforced by the clock, not by a calibration: a stage given as a fraction of a time budget ends
// when the run's training time (evaluation and checkpoints excluded) reaches its share, and the
// LR schedule follows the elapsed fraction of that share (as Cramming does), so a slow start or
// a shared machine changes the step count, not the schedule's shape. The planned steps only place
// the stage in the LR schedule (src/schedule/plan.ts's stageLr) and size the progress bar.
import type { Progress } from './trainer.js';

/** Which clock a time budget charges: wall-clock, or this process's CPU time (all its threads). */
export const CLOCKS = ['wall', 'cpu'] as const;
export type Clock = (typeof CLOCKS)[number];

/** A stage as the loop runs it. */
export interface StagePace {
  /** the step this stage started at (after a time-driven stage, not the planned one) */
  startStep: number;
  /** the stage's place in the LR schedule: its planned first step and planned steps */
  plannedStart: number;
  plannedSteps: number;
  /** time-driven: the budget clock's seconds at the stage's planned start and end */
  startSeconds?: number;
  endSeconds?: number;
}

/** The budget clock's reading in a Progress: training seconds on the chosen clock. */
export function clockSeconds(p: Progress, clock: Clock): number {
  return clock === 'cpu' ? (p.cpuSeconds ?? 0) : p.seconds;
}

/** Whether the stage is over, at this step and budget-clock reading. */
export function stageDone(pace: StagePace, step: number, seconds: number): boolean {
  return pace.endSeconds !== undefined ? seconds >= pace.endSeconds : step >= pace.startStep + pace.plannedSteps;
}

/**
 * The position in the LR schedule of the step about to be taken: the planned step the elapsed
 * fraction of a time-driven stage corresponds to (fractional, at most just before the stage's
 * planned end); for a step-driven stage, its planned start plus the steps taken in it.
 */
export function lrPosition(pace: StagePace, step: number, seconds: number): number {
  if (pace.endSeconds === undefined) return pace.plannedStart + (step - pace.startStep);
  const start = pace.startSeconds ?? 0;
  const q = (seconds - start) / Math.max(1e-9, pace.endSeconds - start);
  const frac = Math.min(Math.max(q, 0), 1 - 1e-9);
  return pace.plannedStart + frac * pace.plannedSteps;
}

/** The two clocks, read together: wall (performance.now) and this process's CPU time, in seconds. */
export function readClocks(): { wall: number; cpu: number } {
  const u = process.cpuUsage();
  return { wall: performance.now() / 1000, cpu: (u.user + u.system) / 1e6 };
}
