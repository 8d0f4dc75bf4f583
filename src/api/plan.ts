// plan(): what `growbert plan` computes. A schedule's stages for a target size: shape, steps, tokens,
// FLOPs, and the time each would take from a quick measured calibration, with the ratio to the `full`
// baseline.
import { z } from 'zod';
import { GrowbertError } from '../io/errors.js';
import { presetConfig, type BertConfig, type PresetName } from '../model/index.js';
import { loadSchedule } from '../schedule/schedule.js';
import { BudgetSchema, parseBudget, resolveSchedule, type ResolvedStage } from '../schedule/plan.js';
import { type Device } from '../tensor/index.js';
import { measureStepSeconds } from '../train/calibrate.js';
import { PRESET_NAMES, TRAIN_PRESETS } from '../train/config.js';
import { setupRuntime } from '../train/runtime.js';
import { DeviceSchema, checkAborted, parseOptions, type CallOptions, posInt } from './common.js';

/** The options of plan(): `growbert plan`'s flags as fields. */
export const PlanOptionsSchema = z
  .object({
    /** schedule preset (full, stack, length, width, compound, small-only) or JSON file */
    schedule: z.string().min(1),
    /** target size preset */
    target: z.enum(PRESET_NAMES).default('tiny'),
    /** steps (600), tokens (2Mtok), time (5m) or FLOPs (5e13flops); default the preset's steps */
    budget: BudgetSchema.optional(),
    /** sequences per step, sequence length, vocabulary size; default the preset's */
    batchSize: posInt.optional(),
    seqLength: posInt.optional(),
    vocabSize: posInt.optional(),
    /** the device and CPU threads of the timing calibration */
    device: DeviceSchema,
    threads: posInt.optional(),
    /** time each stage's step (false: FLOPs only, about a second) */
    calibrate: z.boolean().default(true),
  })
  .strict();
export type PlanOptions = z.input<typeof PlanOptionsSchema>;

export interface PlannedStage {
  name: string;
  config: BertConfig;
  seqLength: number;
  batchSize: number;
  steps: number;
  tokens: number;
  flops: number;
  /** estimated training seconds (absent without calibration) */
  seconds?: number;
}

export interface PlanResult {
  schedule: string;
  target: PresetName;
  targetConfig: BertConfig;
  budget: string;
  stages: PlannedStage[];
  totalFlops: number;
  /** the `full` baseline at the same budget */
  fullFlops: number;
  /** totalFlops / fullFlops */
  ratio: number;
  /** with calibration: estimated seconds of the schedule and of `full` */
  totalSeconds?: number;
  fullSeconds?: number;
}

/** A schedule's plan for a target size (see the file's header). */
export async function plan(options: PlanOptions, call: CallOptions = {}): Promise<PlanResult> {
  const o = parseOptions(PlanOptionsSchema, options, 'plan options');
  checkAborted(call.signal, 'plan');
  const p = TRAIN_PRESETS[o.target];
  const seqLength = o.seqLength ?? p.seqLength;
  const batchSize = o.batchSize ?? p.batchSize;
  const vocab = o.vocabSize ?? p.vocabSize;
  const base = presetConfig(o.target, vocab);
  const target = presetConfig(o.target, vocab, {
    maxPositionEmbeddings: Math.max(base.maxPositionEmbeddings, seqLength),
  });
  const budget =
    o.budget !== undefined
      ? parseBudget(o.budget)
      : { unit: 'steps' as const, amount: p.maxSteps, label: `${p.maxSteps} steps` };
  if (budget.unit === 'seconds' && !o.calibrate)
    throw new GrowbertError(
      `a time budget (${budget.label}) needs the timing calibration to estimate steps; drop --no-calibrate, or give the budget in FLOPs (e.g. 5e13flops)`,
    );
  const calibrate = budget.unit === 'seconds' || (o.calibrate && budget.unit !== 'flops');
  const device = setupRuntime({ runtime: { device: o.device, threads: o.threads } });
  // Calibrate on a small batch and scale by batch size: per-token time is close to constant, and
  // a large target's full batch would take minutes on a CPU.
  const cache = new Map<string, number>();
  const timeOf = (s: Pick<ResolvedStage, 'config' | 'batchSize' | 'seqLength' | 'maxPredictions'>) => {
    const key = JSON.stringify([s.config, s.seqLength]);
    const calB = Math.min(s.batchSize, 8);
    if (!cache.has(key)) {
      checkAborted(call.signal, 'plan');
      const sec = measureStepSeconds({ ...s, batchSize: calB }, { device: device as Device, bf16: false, steps: 2 });
      cache.set(key, sec / calB);
    }
    return cache.get(key)! * s.batchSize;
  };
  const run = {
    target,
    seqLength,
    batchSize,
    maskProb: 0.15,
    gradAccumulation: 1,
    budget,
    // FLOPs need no timing: a FLOP budget or no calibration answers from the cost model alone (a
    // calibration builds and trains each stage's model: minutes and gigabytes for base)
    secondsPerStep: calibrate ? timeOf : undefined,
  };
  const stages = resolveSchedule(loadSchedule(o.schedule, target, seqLength), run);
  const full = resolveSchedule(loadSchedule('full', target, seqLength), run);
  const rows: PlannedStage[] = stages.map((s) => ({
    name: s.name,
    config: s.config,
    seqLength: s.seqLength,
    batchSize: s.batchSize,
    steps: s.steps,
    tokens: s.steps * s.batchSize * s.seqLength,
    flops: s.steps * s.flopsPerStep,
    ...(calibrate ? { seconds: s.steps * timeOf(s) } : {}),
  }));
  const totalFlops = rows.reduce((a, r) => a + r.flops, 0);
  const fullFlops = full.reduce((a, s) => a + s.steps * s.flopsPerStep, 0);
  const seconds = calibrate
    ? {
        totalSeconds: rows.reduce((a, r) => a + r.seconds!, 0),
        fullSeconds: full.reduce((a, s) => a + s.steps * timeOf(s), 0),
      }
    : {};
  return {
    schedule: o.schedule,
    target: o.target,
    targetConfig: target,
    budget: budget.label,
    stages: rows,
    totalFlops,
    fullFlops,
    ratio: totalFlops / fullFlops,
    ...seconds,
  };
}
