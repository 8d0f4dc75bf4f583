// `growbert bench`: times whole training steps (forward, backward, clipping, AdamW) of a BERT on
// synthetic batches. Compare it with ../shared/bench/torch_ref_bert.py (same shape, same machine,
// same run): see bench/README.md. --profile adds where the step's time goes and the achieved
// GFLOP/s against a matmul peak measured in the same run (src/cli/bench-profile.ts).
import type { Command } from 'commander';
import { GrowbertError } from '../io/errors.js';
import { positiveInt, requiredNumber } from './args.js';
import { BertForMaskedLM, bertConfig } from '../model/index.js';
import { Masker } from '../data/index.js';
import { stepFlops } from '../schedule/cost.js';
import {
  PRECISION_SETTINGS,
  choosePrecision,
  cuda,
  getNumThreads,
  manualSeed,
  randint,
  setNumThreads,
  threadCpuMs,
  tidy,
  zeros,
  type Device,
  type PrecisionSetting,
  retainFreedMemory,
} from '../tensor/index.js';
import { createOptimizer } from '../train/optim/index.js';
import { trainStep } from '../train/step.js';
import type { ModelBatch } from '../train/data.js';
import {
  formatPhases,
  formatProfile,
  matmulPeakGflops,
  phaseRows,
  profileOps,
  profileRows,
  syntheticBatch,
  timeDataStep,
  topOps,
  recordPhases,
  type PhaseRow,
  type ProfileRow,
} from './bench-profile.js';

interface BenchOpts {
  layers: string;
  hidden: string;
  heads: string;
  ffn: string;
  batch: string;
  seq: string;
  vocab: string;
  steps: string;
  warmup: string;
  device: string;
  precision: string;
  threads?: string;
  fullLogits?: boolean;
  json?: boolean;
  profile?: boolean;
  cpuTime?: boolean;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('time BERT training steps on synthetic batches (tokens/s)')
    .option('--layers <n>', 'encoder layers', '4')
    .option('--hidden <n>', 'hidden size', '256')
    .option('--heads <n>', 'attention heads', '4')
    .option('--ffn <n>', 'FFN width', '1024')
    .option('--batch <n>', 'sequences per step', '16')
    .option('--seq <n>', 'sequence length', '128')
    .option('--vocab <n>', 'vocabulary size', '30522')
    .option('--steps <n>', 'timed steps', '5')
    .option('--warmup <n>', 'untimed steps first', '1')
    .option('--device <d>', 'cpu or cuda', 'cpu')
    .option('--precision <p>', 'auto (bf16 where the hardware has fast bfloat16), fp32 or bf16', 'auto')
    .option('--threads <n>', "CPU threads (default: libtorch's)")
    .option('--full-logits', 'MLM logits at every position (Hugging Face layout) instead of masked positions only')
    .option('--json', 'print the result as one JSON line last')
    .option(
      '--cpu-time',
      'time steps by the CPU time of the main thread (needs --threads 1 on the CPU): steadier than wall time on a shared machine',
    )
    .option('--profile', 'also: share of step time per kind of op, and GFLOP/s against a matmul peak measured here')
    .action((o: BenchOpts) => bench(o));
}

function bench(o: BenchOpts): void {
  const L = positiveInt(o.layers, 'layers'),
    H = positiveInt(o.hidden, 'hidden'),
    A = positiveInt(o.heads, 'heads'),
    F = positiveInt(o.ffn, 'ffn');
  const B = positiveInt(o.batch, 'batch'),
    S = positiveInt(o.seq, 'seq'),
    V = positiveInt(o.vocab, 'vocab'),
    steps = positiveInt(o.steps, 'steps');
  const warmup = requiredNumber(o.warmup, 'warmup');
  // Also without --threads: setNumThreads sizes OpenBLAS's pool to libtorch's, as training runs do.
  setNumThreads(o.threads ? positiveInt(o.threads, 'threads') : getNumThreads());
  const device = o.device as Device;
  if (device.startsWith('cuda') && !cuda.isAvailable())
    throw new GrowbertError('--device cuda, but this libtorch has no CUDA; use --device cpu');
  if (!(PRECISION_SETTINGS as readonly string[]).includes(o.precision))
    throw new GrowbertError(`--precision ${o.precision}: use auto, fp32 or bf16`);
  const { precision, reason } = choosePrecision(o.precision as PrecisionSetting, device);
  if (o.cpuTime && (device !== 'cpu' || getNumThreads() !== 1))
    throw new GrowbertError("--cpu-time counts one thread's CPU time: use it with --threads 1 on the CPU");
  const clock = o.cpuTime ? threadCpuMs : () => performance.now();
  retainFreedMemory(); // as the trainers do while they train (held until this command exits)
  manualSeed(0);
  const config = bertConfig({
    vocabSize: V,
    hiddenSize: H,
    numHiddenLayers: L,
    numAttentionHeads: A,
    intermediateSize: F,
    maxPositionEmbeddings: Math.max(512, S),
  });
  const model = new BertForMaskedLM(config, { device, seed: 0 });
  const optimizer = createOptimizer('adamw', model.namedParameters(), { lr: 1e-4 });
  // BERT's masking: P = round(0.15 S) predictions per sequence (or every position with --full-logits).
  const P = Math.max(1, Math.round(0.15 * S));
  const batch: ModelBatch = tidy(() => {
    const positions = o.fullLogits ? undefined : randint(0, S, [B, P], { device });
    return {
      inputIds: randint(5, V, [B, S], { device }),
      tokenTypeIds: zeros([B, S], { dtype: 'int64', device }),
      attentionMask: zeros([B, S], { dtype: 'int64', device }).add(1),
      maskedPositions: positions,
      maskedLabels: randint(5, V, o.fullLogits ? [B, S] : [B, P], { device }),
      tokens: B * S,
    };
  });
  const step = () => trainStep(model, optimizer, [batch], { lr: 1e-4, clipNorm: 1, bf16: precision === 'bf16' });
  for (let i = 0; i < warmup; i++) step();
  if (device !== 'cpu') cuda.synchronize(device);
  const t0 = clock();
  for (let i = 0; i < steps; i++) step();
  if (device !== 'cpu') cuda.synchronize(device);
  const stepMs = (clock() - t0) / steps;
  const tokensPerSecond = (B * S) / (stepMs / 1000);
  const params = model.numParameters();
  // The cost model's FLOPs (matmuls only) per step; logits everywhere = a prediction at every position.
  const flops = stepFlops({ config, batchSize: B, seqLength: S, maxPredictions: o.fullLogits ? S : P });
  const gflops = flops / (stepMs / 1000) / 1e9;
  console.log(
    `growbert bench: L=${L} H=${H} A=${A} F=${F} batch ${B}x${S} vocab ${V} on ${device}, ${getNumThreads()} thread(s), ${o.fullLogits ? 'logits at every position' : `masked-only head (P=${P})`}`,
  );
  console.log(`precision ${reason}`);
  console.log(
    `${o.cpuTime ? 'CPU time of the main thread: ' : ''}step_ms ${stepMs.toFixed(1)}  tok/s ${tokensPerSecond.toFixed(1)}  params ${params}  ${gflops.toFixed(1)} GFLOP/s (${(flops / 1e9).toFixed(1)} GFLOP/step)`,
  );
  const r2 = (v: number) => Math.round(v * 100) / 100;
  const result: Record<string, unknown> = {
    tokensPerSecond: Math.round(tokensPerSecond * 10) / 10,
    stepMs: r2(stepMs),
    params,
    precision,
    gflops: r2(gflops),
    timing: o.cpuTime ? 'cpu' : 'wall',
  };
  if (o.profile) {
    // One libtorch thread on the CPU: the main thread's CPU time, which other processes on a
    // shared machine disturb far less than wall time; the peak and the step on the same clock.
    const cpuClock = device === 'cpu' && getNumThreads() === 1;
    const now = cpuClock ? threadCpuMs : () => performance.now();
    const peak = matmulPeakGflops(precision === 'bf16' ? 'bfloat16' : 'float32', device, now, {
      rows: B * S,
      hidden: H,
      ffn: F,
    });
    const p = profileSteps(step, steps, device, now, cpuClock ? 'CPU time of the main thread' : 'wall time', {
      B,
      S,
      V,
      P,
    });
    const stepGflops = flops / (p.stepMs / 1000) / 1e9;
    console.log(
      `matmul peak measured now (${cpuClock ? 'CPU time' : 'wall time'}): ${peak.toFixed(1)} GFLOP/s ${precision}; ` +
        `the profiled steps reach ${stepGflops.toFixed(1)} GFLOP/s, ${((100 * stepGflops) / peak).toFixed(1)}% of it`,
    );
    Object.assign(result, {
      matmulPeakGflops: r2(peak),
      profiledGflops: r2(stepGflops),
      peakFraction: Math.round((stepGflops / peak) * 1000) / 1000,
      clock: cpuClock ? 'cpu' : 'wall',
      profile: p.rows,
      phases: p.phases,
    });
  }
  if (o.json) console.log(JSON.stringify(result));
}

/** Profiles `steps` more steps (op kinds, data and masking, overhead) and prints the table. */
function profileSteps(
  step: () => unknown,
  steps: number,
  device: Device,
  now: () => number,
  clock: string,
  s: { B: number; S: number; V: number; P: number },
): { rows: ProfileRow[]; phases: PhaseRow[]; stepMs: number } {
  const masker = new Masker({ vocabSize: s.V, maskId: 4, maxPredictions: s.P, randomRange: [5, s.V] }, 0);
  const packed = syntheticBatch(s.B, s.S, s.V);
  let dataMs = 0;
  for (let i = 0; i < steps; i++) dataMs += timeDataStep(masker, packed, device, now);
  const t0 = now();
  const {
    profile,
    result: { phases },
  } = profileOps(
    () =>
      recordPhases(() => {
        for (let i = 0; i < steps; i++) step();
        if (device !== 'cpu') cuda.synchronize(device);
      }),
    { cpuClock: clock !== 'wall time' },
  );
  const ms = now() - t0;
  const rows = profileRows(profile, ms, dataMs);
  console.log(formatProfile(rows, steps, clock));
  console.log(formatPhases(phases, steps));
  console.log(
    `slowest ops: ${topOps(profile, 8)
      .map((t) => `${t.name} ${(t.ms / steps).toFixed(1)} ms`)
      .join('; ')}`,
  );
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return {
    rows: rows.map((r) => ({ kind: r.kind, ms: r2(r.ms / steps), share: Math.round(r.share * 1000) / 1000 })),
    phases: phaseRows(phases, steps),
    stepMs: ms / steps,
  };
}
