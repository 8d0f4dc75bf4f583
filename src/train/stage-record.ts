// Each stage's plan as the loop runs it (by steps, or by the budget clock for a time budget's
// fraction stages), and what it really took: planned and actual steps and seconds, one
// `event: "stage"` line per finished stage in metrics.jsonl (stageSteps, stageSeconds, ...), so
// a run and compare's results can show how far a time-driven schedule moved off its calibration.
import type { ResolvedStage } from '../schedule/plan.js';
import { clockSeconds, type Clock, type StagePace } from './budget-clock.js';
import { progressFields, type TrainContext } from './trainer.js';

/** Where a stage began: its first step and both clocks' training seconds then (saved in trainer.json). */
export interface StageStart {
  step: number;
  seconds: number;
  cpuSeconds: number;
}

export interface StageRecord {
  stage: number;
  name: string;
  plannedSteps: number;
  steps: number;
  /** a time-driven stage's share of the budget; absent for a stage that ran by steps */
  plannedSeconds?: number;
  /** training seconds on the budget's clock, and wall-clock seconds, this stage took */
  seconds: number;
  wallSeconds: number;
  clock: Clock;
}

/**
 * The stages' paces: a stage with `seconds` (a time budget's fraction) ends when the budget clock
 * reaches the shares so far; the rest by their planned steps. The actual start step is set when
 * a stage starts.
 */
export function stagePaces(stages: ResolvedStage[]): Omit<StagePace, 'startStep'>[] {
  let end = 0;
  return stages.map((s) => {
    const pace = { plannedStart: s.startStep, plannedSteps: s.steps };
    if (s.seconds === undefined) return pace;
    const start = end;
    end += s.seconds;
    return { ...pace, startSeconds: start, endSeconds: end };
  });
}

/** The record of the stage just finished, appended to the metrics log. */
export function stageEnd(ctx: TrainContext, st: ResolvedStage, start: StageStart, clock: Clock): StageRecord {
  const p = ctx.progress;
  const from = clock === 'cpu' ? start.cpuSeconds : start.seconds;
  const r: StageRecord = {
    stage: st.index,
    name: st.name,
    plannedSteps: st.steps,
    steps: p.step - start.step,
    ...(st.seconds !== undefined ? { plannedSeconds: round(st.seconds) } : {}),
    seconds: round(clockSeconds(p, clock) - from),
    wallSeconds: round(p.seconds - start.seconds),
    clock,
  };
  ctx.metrics.append({
    ...progressFields(p),
    event: 'stage',
    stage: st.index,
    stageName: st.name,
    plannedSteps: r.plannedSteps,
    stageSteps: r.steps,
    ...(r.plannedSeconds !== undefined ? { plannedSeconds: r.plannedSeconds } : {}),
    stageSeconds: r.seconds,
    stageWallSeconds: r.wallSeconds,
    clock,
  });
  return r;
}

const round = (x: number) => Number(x.toFixed(4));
