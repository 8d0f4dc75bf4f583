// The training loop: batches -> steps -> metrics, evaluation, checkpoints; exact resume;
// SIGINT, SIGTERM and SIGHUP save and stop (through the run's StopRequest, src/train/signals.ts);
// a NaN/Inf loss stops with the last good checkpoint kept. It works on a TrainContext, so
// src/train/pretrain.ts can swap the model, optimizer and data between growth stages and call it again.
import { GrowbertError } from '../io/errors.js';
import type { ProgressBar } from '../io/progress.js';
import type { Masker, SequenceSource, SequenceSourceState } from '../data/index.js';
import { presetConfig, type BertConfig, type MaskedLM } from '../model/index.js';
import {
  cuda,
  dispose,
  getNumThreads,
  getRngState,
  setNumThreads,
  setRngState,
  tensor,
  tidy,
  torchVersion,
  type Device,
  type Tensor,
} from '../tensor/index.js';
import type { DataParallel } from '../parallel/data-parallel.js';
import { fallBackToGood, latestCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { PretrainConfig, ResolvedConfig } from './config.js';
import { toModelBatch, type ModelBatch } from './data.js';
import { MetricsLog } from './metrics-log.js';
import type { Optimizer } from './optim/index.js';
import type { Schedule } from '../schedule/lr.js';
import { runPaths } from './run.js';
import { prepareRunDir, type RunDirOptions } from './run-dir.js';
import { Interrupted, StopRequest, agreedStop, signalNote, stopFlags, withStopSignals } from './signals.js';
import { clockSeconds, lrPosition, readClocks, stageDone, type Clock, type StagePace } from './budget-clock.js';
import { evalResult, evaluate, evaluateSums, trainStep, type EvalResult, type StepResult } from './step.js';

/** Counters carried across steps, stages and resumes (saved in trainer.json). */
export interface Progress {
  step: number;
  tokens: number;
  /** wall-clock seconds spent training (evaluation and checkpoint writing excluded) */
  seconds: number;
  /** this process's CPU seconds (all threads) over the same steps: what `--clock cpu` charges */
  cpuSeconds?: number;
  /** estimated training FLOPs so far (0 when no cost model is attached) */
  flops: number;
  lastEval?: EvalResult & { step: number };
}

export interface TrainContext<M extends MaskedLM = MaskedLM> {
  runDir: string;
  model: M;
  optimizer: Optimizer;
  stream: SequenceSource;
  masker: Masker;
  valSet: ModelBatch[];
  lr: Schedule;
  device: Device;
  bf16: boolean;
  clipNorm: number;
  gradAccumulation: number;
  evalEvery: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  logEvery: number;
  metrics: MetricsLog;
  progress: Progress;
  /** extra fields saved in trainer.json (config, stage, ...) */
  extra: () => Record<string, unknown>;
  /** FLOPs of one optimizer step (for cost accounting), if known */
  flopsPerStep?: number;
  bar?: ProgressBar;
  say: (line: string) => void;
  /** fields added to every metrics line (e.g. the stage) */
  tags?: Record<string, number | string>;
  /**
   * Data parallelism (src/parallel): this process is one rank of several, each training on its rows
   * of the same global batches; only rank 0 writes checkpoints and metrics. Absent: one process.
   */
  dp?: DataParallel;
  /** the run's stop request (from withInterrupt); absent: the loop never stops early */
  stop?: StopRequest;
  /** the clock a time budget charges (default wall) */
  clock?: Clock;
  /**
   * Data parallel: the budget clock every rank goes by (rank 0's, carried with each step's sums,
   * so one step behind); every stop and LR decision of a time-driven stage reads it.
   */
  sharedSeconds?: number;
  /** the LR of the last step taken (a time-driven stage's LR follows the clock, not the step) */
  lastLr?: number;
}

/** The metrics log of a rank other than 0: it writes nothing. */
export class NullMetricsLog extends MetricsLog {
  override append(): void {}
  override truncateAfter(): void {}
}

// ---- State <-> trainer.json -------------------------------------------------------------------
const b64 = (t: Tensor): string => Buffer.from(t.data() as Uint8Array).toString('base64');
const fromB64 = (s: string): Tensor => tensor(new Uint8Array(Buffer.from(s, 'base64')), { dtype: 'uint8' });

export function saveContext(ctx: TrainContext): string {
  // Every rank holds the same state; rank 0 writes it.
  if (ctx.dp && !ctx.dp.isLeader) return latestCheckpoint(ctx.runDir) ?? runPaths(ctx.runDir).checkpoints;
  const rng = getRngState('cpu');
  const maskRng = ctx.masker.state();
  const trainer = {
    version: 1,
    ...ctx.progress,
    modelConfig: ctx.model.config,
    optimizer: ctx.optimizer.meta(),
    data: ctx.stream.state(),
    maskerRng: b64(maskRng),
    globalRng: b64(rng),
    ...ctx.extra(),
  };
  dispose([rng, maskRng]);
  return saveCheckpoint(
    ctx.runDir,
    ctx.progress.step,
    { model: ctx.model.namedParameters(), optimizer: ctx.optimizer.state(), trainer },
    ctx.keepCheckpoints,
  );
}

/**
 * Restores optimizer, data position and RNGs from a checkpoint's trainer state (the model is
 * loaded by the caller). A checkpoint made by `growbert import` (weights only) or by `grow` with
 * optimizer reset lacks some of these: training then starts them fresh at the saved step.
 */
export function restoreContext(
  ctx: TrainContext,
  trainer: Record<string, unknown>,
  optimizerState: Map<string, Tensor>,
): void {
  if (optimizerState.size > 0) ctx.optimizer.loadState(optimizerState, trainer.optimizer as never);
  if (trainer.data) ctx.stream.restore(trainer.data as SequenceSourceState);
  if (typeof trainer.maskerRng === 'string') {
    const m = fromB64(trainer.maskerRng);
    ctx.masker.restore(m);
    m.dispose();
  }
  if (typeof trainer.globalRng === 'string') {
    const g = fromB64(trainer.globalRng);
    setRngState(g, 'cpu');
    g.dispose();
  }
  const p = trainer as Partial<Progress>;
  ctx.progress = {
    step: p.step ?? 0,
    tokens: p.tokens ?? 0,
    seconds: p.seconds ?? 0,
    cpuSeconds: p.cpuSeconds ?? 0,
    flops: p.flops ?? 0,
    lastEval: p.lastEval,
  };
}

// ---- The loop ----------------------------------------------------------------------------------
// Signals (SIGINT, SIGTERM, SIGHUP) live in ./signals.ts; re-exported for existing importers.
export { Interrupted, StopRequest };

/**
 * Installs the stop-signal handlers (SIGINT, SIGTERM, SIGHUP) for the duration of fn, which gets
 * the run's StopRequest: the first signal finishes the current step, saves and stops.
 */
export async function withInterrupt<T>(fn: (stop: StopRequest) => Promise<T>): Promise<T> {
  return withStopSignals(fn);
}

export function runEval(ctx: TrainContext): EvalResult {
  const r = ctx.dp ? evaluateShared(ctx, ctx.dp) : evaluate(ctx.model, ctx.valSet, { bf16: ctx.bf16 });
  const p = ctx.progress;
  p.lastEval = { ...r, step: p.step };
  ctx.metrics.append({
    ...progressFields(p),
    lr: ctx.lastLr ?? ctx.lr.lrAt(Math.max(0, p.step - 1)),
    ...ctx.tags,
    ...r,
  });
  return r;
}

/** Data-parallel evaluation: rank r evaluates batches r, r + W, ...; the sums are added up. */
function evaluateShared(ctx: TrainContext, dp: DataParallel): EvalResult {
  const mine = ctx.valSet.filter((_, i) => i % dp.worldSize === dp.rank);
  const s = evaluateSums(ctx.model, mine, { bf16: ctx.bf16 });
  const [lossSum, correct, count] = dp.sum([s.lossSum, s.correct, s.count]);
  return evalResult({ lossSum, correct, count });
}

/** This rank's rows of a global batch (assembled on the CPU), moved to `device`. */
function shardBatch(full: ModelBatch, rows: { start: number; count: number }, device: Device): ModelBatch {
  return tidy(() => {
    const part = (t: Tensor | undefined) =>
      t === undefined
        ? undefined
        : device === 'cpu'
          ? t.narrow(0, rows.start, rows.count)
          : t.narrow(0, rows.start, rows.count).to(device);
    const attentionMask = part(full.attentionMask)!;
    return {
      inputIds: part(full.inputIds)!,
      tokenTypeIds: part(full.tokenTypeIds),
      attentionMask,
      maskedPositions: part(full.maskedPositions),
      maskedLabels: part(full.maskedLabels),
      tokens: attentionMask.sum().item(),
    };
  });
}

const round = (x: number, d = 4) => Number(x.toFixed(d));

/** Where a run stands, as every metrics line but the per-step ones records it. */
export function progressFields(p: Progress): {
  step: number;
  tokens: number;
  seconds: number;
  cpuSeconds: number;
  flops: number;
} {
  return {
    step: p.step,
    tokens: p.tokens,
    seconds: round(p.seconds),
    cpuSeconds: round(p.cpuSeconds ?? 0),
    flops: p.flops,
  };
}

/**
 * The micro-batches of the next optimizer step, on ctx.device, with their tokens. Data parallel:
 * every rank reads and masks the same global batches as one process would, then keeps its rows;
 * `totalTargets` counts the prediction targets of the whole global step (all ranks' rows).
 */
function nextMicroBatches(ctx: TrainContext): { micro: ModelBatch[]; tokens: number; totalTargets?: number } {
  const micro: ModelBatch[] = [];
  let tokens = 0,
    totalTargets = 0;
  for (let i = 0; i < ctx.gradAccumulation; i++) {
    const b = ctx.stream.nextBatch();
    if (!ctx.dp) {
      micro.push(toModelBatch(b, ctx.masker.mask(b), ctx.device));
      tokens += micro[i].tokens;
      continue;
    }
    const full = toModelBatch(b, ctx.masker.mask(b), 'cpu');
    totalTargets += tidy(() => full.maskedLabels!.ne(-100).sum().item());
    tokens += full.tokens;
    micro.push(shardBatch(full, ctx.dp.rows(b.size), ctx.device));
    dispose(full);
  }
  return { micro, tokens, totalTargets: ctx.dp ? totalTargets : undefined };
}

/**
 * Trains until progress.step reaches `until` (a step), or until the stage `until` is over (by
 * steps, or by the budget clock for a time-driven stage: src/train/budget-clock.ts), evaluating,
 * logging and checkpointing on the way.
 */
export async function runSteps(ctx: TrainContext, until: number | StagePace): Promise<void> {
  const p = ctx.progress;
  const { dp, stop } = ctx;
  const pace: StagePace = typeof until === 'number' ? { startStep: 0, plannedStart: 0, plannedSteps: until } : until;
  const clock = ctx.clock ?? 'wall';
  // the reading every decision goes by: this process's clock, or rank 0's under data parallelism
  const budgetNow = () => (dp ? (ctx.sharedSeconds ?? clockSeconds(p, clock)) : clockSeconds(p, clock));
  let windowLoss = 0,
    windowNorm = 0,
    windowSteps = 0,
    windowTokens = 0,
    windowSeconds = 0;
  while (!stageDone(pace, p.step, budgetNow())) {
    const t0 = readClocks();
    const lr = ctx.lr.lrAt(lrPosition(pace, p.step, budgetNow()));
    const { micro, tokens, totalTargets } = nextMicroBatches(ctx);
    let r: StepResult;
    try {
      dp?.beforeStep(p.step + 1);
      // Data parallel: the stop flag travels with the loss, so every rank stops after the same
      // step; so does rank 0's budget clock, so every rank ends a time-driven stage alike.
      r = trainStep(ctx.model, ctx.optimizer, micro, {
        lr,
        clipNorm: ctx.clipNorm,
        bf16: ctx.bf16,
        sync: dp,
        totalTargets,
        extra: dp ? [...stopFlags(stop), dp.isLeader ? clockSeconds(p, clock) : 0] : undefined,
      });
    } catch (e) {
      throw dp ? await dp.explain(e, `training step ${p.step + 1}`) : e;
    } finally {
      dispose(micro);
    }
    if (dp && stop) stop.agreed = agreedStop(r.extra);
    if (dp && r.extra) ctx.sharedSeconds = r.extra[r.extra.length - 1];
    if (ctx.device !== 'cpu') cuda.synchronize(ctx.device);
    if (!Number.isFinite(r.loss) || !Number.isFinite(r.gradNorm)) {
      // the newest checkpoint whose loss was sane (not merely the newest) becomes the one --resume uses
      const last = ctx.dp && !ctx.dp.isLeader ? latestCheckpoint(ctx.runDir) : fallBackToGood(ctx.runDir);
      throw new GrowbertError(
        `training diverged at step ${p.step + 1} (loss ${r.loss}, gradient norm ${r.gradNorm}); ${last ? `the last good checkpoint ${last} is kept: resume from it with a lower --lr` : 'no checkpoint was written yet: restart with a lower --lr'}`,
      );
    }
    ctx.lastLr = lr;
    const t1 = readClocks();
    const dt = t1.wall - t0.wall;
    p.step++;
    p.tokens += tokens;
    p.seconds += dt;
    p.cpuSeconds = (p.cpuSeconds ?? 0) + (t1.cpu - t0.cpu);
    const last = stageDone(pace, p.step, budgetNow());
    p.flops += ctx.flopsPerStep ?? 0;
    windowLoss += r.loss;
    windowNorm += r.gradNorm;
    windowSteps++;
    windowTokens += tokens;
    windowSeconds += dt;
    if (p.step % ctx.logEvery === 0 || last) {
      const tps = windowTokens / Math.max(windowSeconds, 1e-9);
      ctx.metrics.append({
        step: p.step,
        tokens: p.tokens,
        seconds: round(p.seconds),
        cpuSeconds: round(p.cpuSeconds),
        flops: p.flops,
        lr,
        ...ctx.tags,
        loss: round(windowLoss / windowSteps, 6),
        gradNorm: round(windowNorm / windowSteps),
        tokensPerSecond: Math.round(tps),
      });
      ctx.bar?.update(
        p.step,
        undefined,
        `loss ${(windowLoss / windowSteps).toFixed(3)} ${(tps / 1000).toFixed(1)}k tok/s`,
      );
      windowLoss = windowNorm = windowSteps = windowTokens = windowSeconds = 0;
    }
    const evalNow = p.step % ctx.evalEvery === 0 || last;
    if (evalNow) {
      const e = runEval(ctx);
      if (!ctx.bar?.enabled)
        ctx.say(
          `step ${p.step}: val loss ${e.valLoss.toFixed(4)}, perplexity ${e.valPerplexity.toFixed(1)}, accuracy ${(100 * e.valAccuracy).toFixed(1)}%`,
        );
    }
    if (p.step % ctx.checkpointEvery === 0 || last) saveContext(ctx);
    // Let signal handlers run (the step itself is synchronous).
    await new Promise((res) => setImmediate(res));
    const sig = stop?.due(dp !== undefined);
    if (sig) {
      const dir = saveContext(ctx);
      if (dp && !dp.isLeader)
        throw new Interrupted(`interrupted at step ${p.step}${signalNote(sig)} (rank 0 saves the checkpoint)`, sig);
      throw new Interrupted(
        `interrupted at step ${p.step}${signalNote(sig)}; checkpoint saved to ${dir}; continue with --resume`,
        sig,
      );
    }
  }
}

// ---- Run set-up shared by the commands -------------------------------------------------------
/**
 * Threads and device. A data-parallel worker (`local`: its place among the workers on this
 * machine) gets an equal share of the cores and, asked for `cuda`, the GPU cuda:LOCAL_RANK.
 */
export function setupRuntime(
  c: { runtime: Pick<PretrainConfig['runtime'], 'device' | 'threads'> },
  local?: { localRank: number; localWorldSize: number },
): Device {
  // Default: libtorch's own choice (its physical cores, as PyTorch's), split between local workers.
  // More threads are opt-in with --threads: on the 2-vCPU development VM (1 core, 2 hyper-threads)
  // 2 threads once made a tiny step 2.1x slower, which was OpenMP's threads spinning against
  // OpenBLAS's (src/tensor/native.ts now lets them sleep); since then 2 threads ran it 1.3x faster.
  setNumThreads(c.runtime.threads ?? Math.max(1, Math.floor(getNumThreads() / (local?.localWorldSize ?? 1))));
  let device = c.runtime.device as Device;
  if (device.startsWith('cuda') && !cuda.isAvailable()) {
    throw new GrowbertError(
      cuda.isBuilt()
        ? `--device ${device} asked for, but no GPU is visible to this CUDA build (libtorch ${torchVersion()}): ` +
            'check the driver (nvidia-smi) and CUDA_VISIBLE_DEVICES, or use --device cpu'
        : `--device ${device} asked for, but this libtorch (${torchVersion()}) has no CUDA: use --device cpu, or ` +
            'build against your CUDA torch (LIBTORCH_USE_PYTORCH=1 PYTHON=<its python> npm run build:native)',
    );
  }
  if (local && device === 'cuda') {
    if (local.localRank >= cuda.deviceCount())
      throw new GrowbertError(
        `worker ${local.localRank} on this machine needs GPU cuda:${local.localRank}, but only ${cuda.deviceCount()} are visible; use --nproc ${cuda.deviceCount()} or fewer`,
      );
    device = `cuda:${local.localRank}` as Device;
  }
  return device;
}

/** Checks the run folder: a fresh run must not overwrite a run, a resume must have one (src/train/run-dir.ts). */
export function checkRunDir(runDir: string, resume: boolean, o: RunDirOptions = {}): string | null {
  return prepareRunDir(runDir, resume, o);
}

export function modelConfigFor(c: ResolvedConfig, vocabSize: number): BertConfig {
  const base = presetConfig(c.preset, vocabSize, c.model);
  return presetConfig(c.preset, vocabSize, {
    ...c.model,
    maxPositionEmbeddings: Math.max(base.maxPositionEmbeddings, c.data.seqLength),
  });
}
