// readMetrics(): a run's metrics.jsonl as typed data, split by kind of line (docs/pretraining.md lists the
// fields). The same lines feed the dashboard and TensorBoard; this is the way to read them from code.
import * as fs from 'node:fs';
import { GrowbertError } from '../io/errors.js';
import type { PreservationReport } from '../grow/index.js';
import type { MetricsLine } from '../train/metrics-log.js';
import { RunDir } from '../train/run-dir.js';

/** Where a run stood when a line was written. */
export interface Position {
  step: number;
  tokens: number;
  /** training seconds so far (wall clock; evaluation and checkpoints excluded) */
  seconds: number;
  /** this process's CPU seconds over the same steps */
  cpuSeconds: number;
  /** estimated training FLOPs so far */
  flops: number;
  /** the stage of a growth schedule (0 for a plain run) */
  stage?: number;
}

/** A training line: the mean over the steps since the last one (every train.logEvery steps). */
export interface TrainMetrics extends Position {
  lr: number;
  loss: number;
  gradNorm: number;
  tokensPerSecond: number;
}

/** A validation line (every train.evalEvery steps, at the end, and right after each growth). */
export interface EvalMetrics extends Position {
  lr: number;
  valLoss: number;
  valPerplexity: number;
  valAccuracy: number;
}

/** A growth event: the stage grown into, its shape, and the measured preservation. */
export interface GrowthMetrics extends Position, PreservationReport {
  stage: number;
  stageName: string;
  optimizerPolicy: string;
  /** whether the operators keep the function exactly, by construction */
  preserving: boolean;
  layers: number;
  hidden: number;
  ffn: number;
  heads: number;
  pooling: number;
  batchSize: number;
  seqLength: number;
}

/** The end of a stage: planned and actual steps and seconds. */
export interface StageMetrics extends Position {
  stage: number;
  stageName: string;
  plannedSteps: number;
  stageSteps: number;
  /** a time-driven stage's share of the budget */
  plannedSeconds?: number;
  stageSeconds: number;
  stageWallSeconds: number;
  clock: 'wall' | 'cpu';
}

export interface RunMetrics {
  train: TrainMetrics[];
  eval: EvalMetrics[];
  growth: GrowthMetrics[];
  stages: StageMetrics[];
  /** every line as written, in order (including fields added by later versions) */
  lines: MetricsLine[];
}

/** Sorts metrics lines by kind: growth and stage events by their `event`, the rest by their fields. */
export function splitMetrics(lines: MetricsLine[]): RunMetrics {
  const m: RunMetrics = { train: [], eval: [], growth: [], stages: [], lines };
  for (const l of lines) {
    if (l.event === 'grow') m.growth.push(l as unknown as GrowthMetrics);
    else if (l.event === 'stage') m.stages.push(l as unknown as StageMetrics);
    else if (typeof l.valLoss === 'number') m.eval.push(l as unknown as EvalMetrics);
    else if (typeof l.loss === 'number') m.train.push(l as unknown as TrainMetrics);
  }
  return m;
}

/** The metrics of a run folder (a torn last line, from a crash mid-write, is skipped). */
export function readMetrics(runDir: string): RunMetrics {
  const run = new RunDir(runDir);
  if (!fs.existsSync(run.paths.metrics))
    throw new GrowbertError(`${runDir} has no metrics.jsonl; give a growbert run folder (one pretrain wrote)`);
  return splitMetrics(run.readMetrics());
}
