// `growbert plan`: a schedule's stages for a target size: shape, steps, tokens, FLOPs, and the
// time each would take from a quick measured calibration, with the ratio to the `full` baseline.
import type { Command } from 'commander';
import { GrowbertError, oneOf } from '../io/errors.js';
import { positive, positiveInt } from './args.js';
import { presetConfig, type PresetName } from '../model/index.js';
import { loadSchedule } from '../schedule/schedule.js';
import { parseBudget, resolveSchedule, type ResolvedStage } from '../schedule/plan.js';
import { type Device } from '../tensor/index.js';
import { measureStepSeconds } from '../train/calibrate.js';
import { PRESET_NAMES, TRAIN_PRESETS } from '../train/config.js';
import { formatDuration } from '../io/progress.js';
import { setupRuntime } from '../train/runtime.js';

interface PlanOpts {
  schedule: string;
  target: string;
  budget?: string;
  batchSize?: string;
  seqLength?: string;
  vocabSize?: string;
  device: string;
  threads?: string;
  calibrate: boolean;
  json?: boolean;
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      'per-stage shape, steps, tokens, FLOPs and estimated time of a schedule, and its cost relative to full',
    )
    .requiredOption('--schedule <name|file>', 'schedule preset or JSON file')
    .option('--target <size>', `target size: ${PRESET_NAMES.join(', ')}`, 'tiny')
    .option(
      '--budget <b>',
      "budget: steps (600), tokens (2Mtok), time (5m) or FLOPs (5e13flops: no calibration); default the preset's steps",
    )
    .option('--batch-size <n>', "sequences per step (default: the preset's)")
    .option('--seq-length <n>', "sequence length (default: the preset's)")
    .option('--vocab-size <n>', "vocabulary size (default: the preset's)")
    .option('--device <d>', 'device for the calibration', 'cpu')
    .option('--threads <n>', 'CPU threads for the calibration')
    .option('--no-calibrate', 'skip the timing calibration (FLOPs only; answers in about a second)')
    .option('--json', 'print the plan as one JSON line last')
    .action((o: PlanOpts) => plan(o));
}

const fmt = (x: number) =>
  x >= 1e15
    ? `${(x / 1e15).toFixed(2)}P`
    : x >= 1e12
      ? `${(x / 1e12).toFixed(2)}T`
      : x >= 1e9
        ? `${(x / 1e9).toFixed(2)}G`
        : `${(x / 1e6).toFixed(2)}M`;

function plan(o: PlanOpts): void {
  if (!(o.target in TRAIN_PRESETS)) throw new GrowbertError(`unknown target '${o.target}'; use ${oneOf(PRESET_NAMES)}`);
  const p = TRAIN_PRESETS[o.target as PresetName];
  const seqLength = positiveInt(o.seqLength, 'seq-length', p.seqLength);
  const batchSize = positiveInt(o.batchSize, 'batch-size', p.batchSize);
  const vocab = positiveInt(o.vocabSize, 'vocab-size', p.vocabSize);
  const base = presetConfig(o.target as PresetName, vocab);
  const target = presetConfig(o.target as PresetName, vocab, {
    maxPositionEmbeddings: Math.max(base.maxPositionEmbeddings, seqLength),
  });
  const budget = o.budget
    ? parseBudget(o.budget)
    : { unit: 'steps' as const, amount: p.maxSteps, label: `${p.maxSteps} steps` };
  if (budget.unit === 'seconds' && !o.calibrate)
    throw new GrowbertError(
      `a time budget (${budget.label}) needs the timing calibration to estimate steps; drop --no-calibrate, or give the budget in FLOPs (e.g. 5e13flops)`,
    );
  const calibrate = budget.unit === 'seconds' || (o.calibrate && budget.unit !== 'flops');
  const device = setupRuntime({ runtime: { device: o.device, threads: positive(o.threads, 'threads') } });
  // Calibrate on a small batch and scale by batch size: per-token time is close to constant, and
  // a large target's full batch would take minutes on a CPU.
  const cache = new Map<string, number>();
  const timeOf = (s: Pick<ResolvedStage, 'config' | 'batchSize' | 'seqLength' | 'maxPredictions'>) => {
    const key = JSON.stringify([s.config, s.seqLength]);
    const calB = Math.min(s.batchSize, 8);
    if (!cache.has(key))
      cache.set(
        key,
        measureStepSeconds({ ...s, batchSize: calB }, { device: device as Device, bf16: false, steps: 2 }) / calB,
      );
    return cache.get(key)! * s.batchSize;
  };
  const run = {
    target,
    seqLength,
    batchSize,
    maskProb: 0.15,
    gradAccumulation: 1,
    budget,
    // FLOPs need no timing: a FLOP budget or --no-calibrate answers from the cost model alone (a
    // calibration builds and trains each stage's model: minutes and gigabytes for base)
    secondsPerStep: calibrate ? timeOf : undefined,
  };
  const stages = resolveSchedule(loadSchedule(o.schedule, target, seqLength), run);
  const full = resolveSchedule(loadSchedule('full', target, seqLength), run);
  const rows = stages.map((s) => ({
    s,
    tokens: s.steps * s.batchSize * s.seqLength,
    flops: s.steps * s.flopsPerStep,
    seconds: run.secondsPerStep ? s.steps * timeOf(s) : NaN,
  }));
  const totalFlops = rows.reduce((a, r) => a + r.flops, 0);
  const fullFlops = full.reduce((a, s) => a + s.steps * s.flopsPerStep, 0);
  console.log(
    `plan: schedule ${o.schedule} for target ${o.target} (${target.numHiddenLayers} layers, hidden ${target.hiddenSize}, FFN ${target.intermediateSize}, vocab ${vocab}), budget ${budget.label}`,
  );
  console.log('stage        layers hidden ffn   pool rank seq  batch steps    tokens      FLOPs     est. time');
  for (const { s, tokens, flops, seconds } of rows) {
    const c = s.config;
    console.log(
      `${s.name.padEnd(12)} ${String(c.numHiddenLayers).padStart(6)} ${String(c.hiddenSize).padStart(6)} ${String(c.intermediateSize).padStart(5)} ${String(c.poolingSize).padStart(4)} ${String(c.ffnRank).padStart(4)} ${String(s.seqLength).padStart(4)} ${String(s.batchSize).padStart(5)} ${String(s.steps).padStart(6)} ${String(tokens).padStart(10)} ${fmt(flops).padStart(10)} ${Number.isNaN(seconds) ? '-' : formatDuration(seconds).padStart(12)}`,
    );
  }
  const totalSec = rows.reduce((a, r) => a + r.seconds, 0);
  const fullSec = run.secondsPerStep ? full.reduce((a, s) => a + s.steps * timeOf(s), 0) : NaN;
  console.log(
    `total: ${fmt(totalFlops)} FLOPs${Number.isNaN(totalSec) ? '' : `, about ${formatDuration(totalSec)}`}; full: ${fmt(fullFlops)} FLOPs${Number.isNaN(fullSec) ? '' : `, about ${formatDuration(fullSec)}`}; ratio ${(totalFlops / fullFlops).toFixed(3)} (FLOPs)${Number.isNaN(fullSec) ? '' : `, ${(totalSec / fullSec).toFixed(3)} (time)`}`,
  );
  if (o.json) {
    console.log(
      JSON.stringify({
        stages: rows.map((r) => ({
          name: r.s.name,
          flops: r.flops,
          steps: r.s.steps,
          tokens: r.tokens,
          ...(Number.isNaN(r.seconds) ? {} : { seconds: r.seconds }),
        })),
        totalFlops,
        fullFlops,
        ratio: totalFlops / fullFlops,
      }),
    );
  }
}
