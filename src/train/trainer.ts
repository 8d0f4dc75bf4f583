// The training loop: batches -> steps -> metrics, evaluation, checkpoints; exact resume;
// SIGINT, SIGTERM, SIGHUP and the caller's AbortSignal save and stop (through the run's
// StopRequest, src/train/signals.ts); a NaN/Inf loss stops with the last good checkpoint kept.
// It works on a TrainContext, so src/train/pretrain.ts can swap the model, optimizer and data
// between growth stages and call it again.
import { GrowbertError } from '../io/errors.js';
import type { ProgressBar } from '../io/progress.js';
import type { Masker, SequenceSource, SequenceSourceState } from '../data/index.js';
import type { MaskedLM } from '../model/index.js';
import { cuda, dispose, getRngState, setRngState, tensor, tidy, type Device, type Tensor } from '../tensor/index.js';
import type { DataParallel } from '../parallel/data-parallel.js';
import { toModelBatch, type ModelBatch } from './data.js';
import type { PretrainEventListener } from './events.js';
import { MetricsLog } from './metrics-log.js';
import type { Optimizer } from './optim/index.js';
import type { Schedule } from '../schedule/lr.js';
import type { RunDir } from './run-dir.js';
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
  /** the run folder: checkpoints go there (src/train/run-dir.ts) */
  run: RunDir;
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
  /** typed events for a caller of pretrain (src/train/events.ts); absent: none */
  emit?: PretrainEventListener;
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
  if (ctx.dp && !ctx.dp.isLeader) return ctx.run.latestCheckpoint() ?? ctx.run.paths.checkpoints;
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
  const dir = ctx.run.saveCheckpoint(
    ctx.progress.step,
    { model: ctx.model.namedParameters(), optimizer: ctx.optimizer.state(), trainer },
    ctx.keepCheckpoints,
  );
  ctx.emit?.({ type: 'checkpoint', step: ctx.progress.step, dir });
  return dir;
}

/**
 * Restores optimizer, data position and RNGs from a checkpoint's trainer state (the model is
 * loaded by the caller), and returns the progress it had. A checkpoint made by `growbert import`
 * (weights only) or by `grow` with optimizer reset lacks some of these: training then starts them
 * fresh at the saved step.
 */
export function restoreContext(
  ctx: Pick<TrainContext, 'optimizer' | 'stream' | 'masker'>,
  trainer: Record<string, unknown>,
  optimizerState: Map<string, Tensor>,
): Progress {
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
  return {
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
 * the run's StopRequest: the first signal (or `abort`) finishes the current step, saves and stops.
 */
export async function withInterrupt<T>(fn: (stop: StopRequest) => Promise<T>, abort?: AbortSignal): Promise<T> {
  return withStopSignals(fn, abort);
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
  ctx.emit?.({ type: 'evaluation', step: p.step, ...r });
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
  const pace: StagePace = typeof until === 'number' ? { startStep: 0, plannedStart: 0, plannedSteps: until } : until;
  const clock = ctx.clock ?? 'wall';
  // the reading every decision goes by: this process's clock, or rank 0's under data parallelism
  const budgetNow = () => (ctx.dp ? (ctx.sharedSeconds ?? clockSeconds(p, clock)) : clockSeconds(p, clock));
  const window = { loss: 0, norm: 0, steps: 0, tokens: 0, seconds: 0 };
  while (!stageDone(pace, p.step, budgetNow())) {
    const t0 = readClocks();
    const lr = ctx.lr.lrAt(lrPosition(pace, p.step, budgetNow()));
    const { r, tokens } = await takeStep(ctx, lr, clock);
    ctx.lastLr = lr;
    const t1 = readClocks();
    const dt = t1.wall - t0.wall;
    p.step++;
    p.tokens += tokens;
    p.seconds += dt;
    p.cpuSeconds = (p.cpuSeconds ?? 0) + (t1.cpu - t0.cpu);
    const last = stageDone(pace, p.step, budgetNow());
    p.flops += ctx.flopsPerStep ?? 0;
    window.loss += r.loss;
    window.norm += r.gradNorm;
    window.steps++;
    window.tokens += tokens;
    window.seconds += dt;
    if (p.step % ctx.logEvery === 0 || last) logWindow(ctx, window, lr);
    if (p.step % ctx.evalEvery === 0 || last) {
      const e = runEval(ctx);
      if (!ctx.bar?.enabled)
        ctx.say(
          `step ${p.step}: val loss ${e.valLoss.toFixed(4)}, perplexity ${e.valPerplexity.toFixed(1)}, accuracy ${(100 * e.valAccuracy).toFixed(1)}%`,
        );
    }
    if (p.step % ctx.checkpointEvery === 0 || last) saveContext(ctx);
    // Let signal handlers (and an abort) run: the step itself is synchronous.
    await new Promise((res) => setImmediate(res));
    stopIfAsked(ctx);
  }
}

/**
 * One optimizer step at `lr` on the next batches (data parallel: this rank's rows, the gradients
 * summed, the stop request and rank 0's budget clock agreed); throws on a NaN/Inf loss.
 */
async function takeStep(ctx: TrainContext, lr: number, clock: Clock): Promise<{ r: StepResult; tokens: number }> {
  const { dp, stop } = ctx;
  const p = ctx.progress;
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
    const last = dp && !dp.isLeader ? ctx.run.latestCheckpoint() : ctx.run.fallBackToGood();
    throw new GrowbertError(
      `training diverged at step ${p.step + 1} (loss ${r.loss}, gradient norm ${r.gradNorm}); ${last ? `the last good checkpoint ${last} is kept: resume from it with a lower --lr` : 'no checkpoint was written yet: restart with a lower --lr'}`,
    );
  }
  return { r, tokens };
}

/** Appends the training line of the steps since the last one (mean loss and gradient norm); empties the window. */
function logWindow(
  ctx: TrainContext,
  w: { loss: number; norm: number; steps: number; tokens: number; seconds: number },
  lr: number,
): void {
  const p = ctx.progress;
  const tps = w.tokens / Math.max(w.seconds, 1e-9);
  ctx.metrics.append({
    step: p.step,
    tokens: p.tokens,
    seconds: round(p.seconds),
    cpuSeconds: round(p.cpuSeconds ?? 0),
    flops: p.flops,
    lr,
    ...ctx.tags,
    loss: round(w.loss / w.steps, 6),
    gradNorm: round(w.norm / w.steps),
    tokensPerSecond: Math.round(tps),
  });
  ctx.bar?.update(p.step, undefined, `loss ${(w.loss / w.steps).toFixed(3)} ${(tps / 1000).toFixed(1)}k tok/s`);
  w.loss = w.norm = w.steps = w.tokens = w.seconds = 0;
}

/** After a step: when a signal or abort asked the run to stop, saves a checkpoint and throws Interrupted. */
function stopIfAsked(ctx: TrainContext): void {
  const { dp, stop } = ctx;
  const sig = stop?.due(dp !== undefined);
  if (!sig) return;
  const step = ctx.progress.step;
  const dir = saveContext(ctx);
  if (dp && !dp.isLeader)
    throw new Interrupted(`interrupted at step ${step}${signalNote(sig)} (rank 0 saves the checkpoint)`, sig, { step });
  throw new Interrupted(
    `interrupted at step ${step}${signalNote(sig)}; checkpoint saved to ${dir}; continue with --resume`,
    sig,
    { step, checkpoint: dir },
  );
}
