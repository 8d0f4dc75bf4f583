// `growbert plan`: a schedule's stages for a target size: shape, steps, tokens, FLOPs, and the
// time each would take from a quick measured calibration, with the ratio to the `full` baseline
// (computed by src/api/plan.ts; this file turns flags into its options and prints the table).
import type { Command } from 'commander';
import { GrowbertError, oneOf } from '../io/errors.js';
import { positive } from './args.js';
import { PRESET_NAMES, TRAIN_PRESETS } from '../train/config.js';
import { formatDuration } from '../io/progress.js';
import { plan as planOf } from '../api/plan.js';
import type { PresetName } from '../model/index.js';

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

async function plan(o: PlanOpts): Promise<void> {
  if (!Object.hasOwn(TRAIN_PRESETS, o.target))
    throw new GrowbertError(`unknown target '${o.target}'; use ${oneOf(PRESET_NAMES)}`);
  const r = await planOf({
    schedule: o.schedule,
    target: o.target as PresetName,
    budget: o.budget,
    batchSize: positive(o.batchSize, 'batch-size'),
    seqLength: positive(o.seqLength, 'seq-length'),
    vocabSize: positive(o.vocabSize, 'vocab-size'),
    device: o.device,
    threads: positive(o.threads, 'threads'),
    calibrate: o.calibrate,
  });
  const t = r.targetConfig;
  console.log(
    `plan: schedule ${o.schedule} for target ${o.target} (${t.numHiddenLayers} layers, hidden ${t.hiddenSize}, FFN ${t.intermediateSize}, vocab ${t.vocabSize}), budget ${r.budget}`,
  );
  console.log('stage        layers hidden ffn   pool rank seq  batch steps    tokens      FLOPs     est. time');
  for (const s of r.stages) {
    const c = s.config;
    console.log(
      `${s.name.padEnd(12)} ${String(c.numHiddenLayers).padStart(6)} ${String(c.hiddenSize).padStart(6)} ${String(c.intermediateSize).padStart(5)} ${String(c.poolingSize).padStart(4)} ${String(c.ffnRank).padStart(4)} ${String(s.seqLength).padStart(4)} ${String(s.batchSize).padStart(5)} ${String(s.steps).padStart(6)} ${String(s.tokens).padStart(10)} ${fmt(s.flops).padStart(10)} ${s.seconds === undefined ? '-' : formatDuration(s.seconds).padStart(12)}`,
    );
  }
  const timed = r.totalSeconds !== undefined && r.fullSeconds !== undefined;
  console.log(
    `total: ${fmt(r.totalFlops)} FLOPs${timed ? `, about ${formatDuration(r.totalSeconds!)}` : ''}; full: ${fmt(r.fullFlops)} FLOPs${timed ? `, about ${formatDuration(r.fullSeconds!)}` : ''}; ratio ${r.ratio.toFixed(3)} (FLOPs)${timed ? `, ${(r.totalSeconds! / r.fullSeconds!).toFixed(3)} (time)` : ''}`,
  );
  if (o.json) {
    console.log(
      JSON.stringify({
        stages: r.stages.map((s) => ({
          name: s.name,
          flops: s.flops,
          steps: s.steps,
          tokens: s.tokens,
          ...(s.seconds === undefined ? {} : { seconds: s.seconds }),
        })),
        totalFlops: r.totalFlops,
        fullFlops: r.fullFlops,
        ratio: r.ratio,
      }),
    );
  }
}
