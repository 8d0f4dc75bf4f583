// Pre-training a run: any schedule of stages (a plain run is the one-stage `full` schedule).
// At each stage boundary the model and its optimizer state grow into the next stage's shape
// (src/grow), the preservation report goes to the log, and a checkpoint is written at once, so
// a run resumes in any stage, including right after a growth event.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { GrowbertError } from '../io/errors.js';
import { fsStep } from '../io/out-guard.js';
import { ProgressBar, formatDuration } from '../io/progress.js';
import { Masker, SequenceSource } from '../data/index.js';
import { checkPreservation, grow } from '../grow/index.js';
import { BertForMaskedLM, bertConfig, growableShape, type BertConfig } from '../model/index.js';
import { stageLr, type ResolvedStage } from '../schedule/plan.js';
import { choosePrecision, dispose, manualSeed, noGrad, retainFreedMemory, type Device } from '../tensor/index.js';
import { DataParallel } from '../parallel/data-parallel.js';
import { workerEnv } from '../parallel/env.js';
import { planStages } from './plan-stages.js';
import { clockSeconds, type StagePace } from './budget-clock.js';
import { stageEnd, stagePaces, type StageRecord, type StageStart } from './stage-record.js';
import { checkFits } from './fit-check.js';
import { loadLatestGood } from './checkpoint.js';
import { resolveConfig, type PretrainConfig, type ResolvedConfig } from './config.js';
import { makeMasker, makeStream, paddingReport, prepareCorpus, validationSet, type PreparedCorpus } from './data.js';
import { MetricsLog } from './metrics-log.js';
import { TensorBoardSink, runTexts } from './tensorboard.js';
import { createOptimizer, type Optimizer } from './optim/index.js';
import { runPaths } from './run.js';
import { absoluteDataPaths, checkConfigMatches, openRunDir, releaseRunLock, resumeTokenizer } from './run-dir.js';
import {
  Interrupted,
  NullMetricsLog,
  checkRunDir,
  modelConfigFor,
  restoreContext,
  runEval,
  runSteps,
  saveContext,
  setupRuntime,
  withInterrupt,
  type Progress,
  type TrainContext,
} from './trainer.js';

export interface PretrainOptions {
  progress?: boolean;
  say?: (line: string) => void;
}

export interface PretrainResult {
  runDir: string;
  progress: Progress;
  modelConfig: BertConfig;
  stages: ResolvedStage[];
  /** per stage run in this process: planned and actual steps and training seconds */
  stageRecords: StageRecord[];
}

/** Stream and masker for a stage, continuing from the previous stage's data position and masking RNG. */
function stageData(
  corpus: PreparedCorpus,
  c: ResolvedConfig,
  st: ResolvedStage,
  prev?: { stream: SequenceSource; masker: Masker },
) {
  const o = {
    ...c.data,
    seqLength: st.seqLength,
    batchSize: st.batchSize,
    maxPredictions: st.maxPredictions,
    seed: c.train.seed,
  };
  const stream = makeStream(corpus, o);
  const masker = makeMasker(corpus, o, c.train.seed + 1);
  if (prev) {
    stream.restore(prev.stream.state());
    const g = prev.masker.state();
    masker.restore(g);
    g.dispose();
  }
  return { stream, masker };
}

function newOptimizer(c: ResolvedConfig, model: BertForMaskedLM): Optimizer {
  return createOptimizer(c.train.optimizer, model.namedParameters(), {
    lr: c.train.lr,
    weightDecay: c.train.weightDecay,
    betas: [c.train.beta1, c.train.beta2],
    eps: c.train.eps,
  });
}

/**
 * Pre-trains as configured. A process started as a torchrun-style worker (RANK and WORLD_SIZE in
 * its environment, see src/parallel/env.ts) with a world size above 1 is one rank of a data-parallel
 * run (docs/distributed.md); otherwise this is the single-process run.
 */
export async function pretrain(input: PretrainConfig, o: PretrainOptions = {}): Promise<PretrainResult> {
  const c = resolveConfig(input);
  const env = workerEnv();
  // the run folder's lock (taken in pretrainOn) goes as soon as the run ends, not only on exit
  if (!env || env.worldSize === 1) return pretrainOn(input, c, o).finally(() => releaseRunLock(c.out));
  const dp = DataParallel.init({
    env,
    backend: c.dist.backend,
    device: c.runtime.device as Device,
    timeoutSeconds: c.dist.timeout,
    masterAddr: env.masterAddr ?? c.dist.masterAddr,
    masterPort: env.masterPort ?? c.dist.masterPort ?? 29500,
    rdzvFile: env.rdzvFile ?? c.dist.rdzvFile,
    say: o.say,
  });
  try {
    // Other ranks are quiet: rank 0 reports for the run.
    const r = await pretrainOn(input, c, dp.isLeader ? o : { say: () => {}, progress: false }, dp);
    dp.barrier(); // nobody tears down the store (rank 0 serves it) while another rank still uses it
    return r;
  } finally {
    dp.destroy();
    releaseRunLock(c.out);
  }
}

async function pretrainOn(
  input: PretrainConfig,
  c: ResolvedConfig,
  o: PretrainOptions,
  dp?: DataParallel,
): Promise<PretrainResult> {
  const say = o.say ?? ((l: string) => console.error(l));
  const leader = !dp || dp.isLeader;
  const runDir = c.out;
  const latest = checkRunDir(runDir, c.resume, { inputs: [...c.data.specs, c.data.tokenizer], say, leader });
  // A resume uses the run's own tokenizer: the token caches (and so the data id) do not depend
  // on the cache folder or the working directory.
  if (c.resume)
    c = { ...c, data: { ...c.data, tokenizer: resumeTokenizer(runDir, c.data.tokenizer, leader ? say : () => {}) } };
  const device = setupRuntime(c, dp);
  // --precision auto becomes fp32 or bf16 here, for this device; the saved config keeps 'auto'.
  const chosen = choosePrecision(c.runtime.precision, device);
  c = { ...c, runtime: { ...c.runtime, precision: chosen.precision } };
  // a bad model shape or size fails here, before any data work
  checkFits(c, modelConfigFor(c, c.data.vocabSize), device);
  if (leader) {
    openRunDir(runDir); // created, marked as growbert's, locked
    fsStep('create the run folder', runDir, () => {
      // A rendezvous file belongs to one launch (the store deletes it at the end; a crashed launch's
      // would hand a resume stale addresses), so it is not kept, as an auto-chosen port is not.
      const { rdzvFile: _launchOnly, ...dist } = input.dist;
      // data paths absolute: the run resumes the same from any folder
      const saved = { ...input, data: absoluteDataPaths(input.data), dist };
      if (!c.resume) atomicWriteFile(runPaths(runDir).config, JSON.stringify(saved, null, 2) + '\n');
    });
  }

  // Data parallel: the first worker on each machine builds the tokenizer and token caches, then
  // the others read them.
  const first = !dp || dp.localRank === 0;
  const early = first ? await prepareCorpus({ ...c.data }, o.progress, say) : undefined;
  dp?.barrier();
  const corpus = early ?? (await prepareCorpus({ ...c.data }, false));
  say(`data: ${corpus.report}`);
  say(`data: ${paddingReport(corpus, { ...c.data, seqLength: c.data.seqLength })}`);
  if (leader && !fs.existsSync(path.join(runPaths(runDir).tokenizerDir, 'tokenizer.json')))
    corpus.tokenizer.save(runPaths(runDir).tokenizerDir);
  const target = modelConfigFor(c, corpus.tokenizer.vocabSize);
  const { schedule, stages, savePlan } = planStages(c, target, runDir, device, say, dp);
  if (dp) for (const st of stages) dp.rows(st.batchSize); // every stage's batch must split evenly
  const totalSteps = stages.reduce((a, s) => a + s.steps, 0);
  // The defaults that scale with the run (warmup, evaluation and checkpoint cadence) follow its
  // planned steps, which a budget, not maxSteps, may set.
  const { warmupSteps, evalEvery, checkpointEvery } = resolveConfig(input, totalSteps).train;
  if (warmupSteps > totalSteps)
    say(
      `warning: --warmup-steps ${warmupSteps} is more than the run's ${totalSteps} steps: the learning rate never reaches --lr ${c.train.lr}; give a warmup below ${totalSteps}`,
    );
  const paces = stagePaces(stages);
  const lr = stageLr(stages, { peak: c.train.lr, warmupSteps, decay: c.train.decay, power: c.train.power });
  // Validation always at the target's sequence length: losses compare across stages and schedules.
  const valSet = validationSet(
    corpus,
    { ...c.data, batchSize: c.train.batchSize, seed: c.train.seed },
    c.train.evalBatches,
    device,
  );

  let stageIndex = 0;
  let model: BertForMaskedLM;
  let restored: {
    trainer: Record<string, unknown>;
    optimizer: Map<string, import('../tensor/index.js').Tensor>;
  } | null = null;
  if (latest) {
    const ck = loadLatestGood(runDir, (l) => say(`warning: ${l}`))!.data; // falls back past a damaged latest checkpoint
    stageIndex = (ck.trainer.stage as number | undefined) ?? 0;
    checkConfigMatches(ck.trainer.modelConfig as BertConfig, stages[stageIndex]?.config, runDir);
    model = new BertForMaskedLM(bertConfig(ck.trainer.modelConfig as BertConfig), { device });
    model.loadStateDict(ck.model);
    dispose(ck.model);
    restored = { trainer: ck.trainer, optimizer: ck.optimizer };
  } else {
    manualSeed(c.train.seed);
    model = new BertForMaskedLM(stages[0].config, { device, seed: c.train.seed });
  }
  // Data parallel: rank 0's weights everywhere (a fresh model is seeded alike, a resumed one read
  // from the same checkpoint: this makes sure).
  if (dp) noGrad(() => dp.broadcast(model.parameters()));
  const optimizer = newOptimizer(c, model);
  const data = stageData(corpus, c, stages[stageIndex]);
  // where the current stage began (a time-driven stage before it may end off its planned step)
  let stageStart: StageStart = { step: stages[stageIndex].startStep, seconds: 0, cpuSeconds: 0 };

  const ctx: TrainContext<BertForMaskedLM> = {
    runDir,
    model,
    optimizer,
    device,
    valSet,
    lr,
    ...data,
    bf16: c.runtime.precision === 'bf16',
    clipNorm: c.train.clipNorm,
    gradAccumulation: c.train.gradAccumulation,
    evalEvery,
    checkpointEvery,
    keepCheckpoints: c.train.keepCheckpoints,
    logEvery: c.train.logEvery,
    metrics: leader ? new MetricsLog(runDir) : new NullMetricsLog(runDir),
    progress: { step: 0, tokens: 0, seconds: 0, flops: 0 },
    extra: () => ({ config: input, schedule: schedule.name, stage: stageIndex, stageStart }),
    flopsPerStep: stages[stageIndex].flopsPerStep,
    tags: { stage: stageIndex },
    say,
    dp,
    clock: c.clock,
  };
  if (restored) {
    restoreContext(ctx, restored.trainer, restored.optimizer);
    dispose(restored.optimizer);
    stageStart = (restored.trainer.stageStart as StageStart | undefined) ?? {
      ...stageStart,
      seconds: ctx.progress.seconds,
      cpuSeconds: ctx.progress.cpuSeconds ?? 0,
    };
    // refused before anything in the run folder changes (metrics, plan)
    if (paces.every((x) => x.endSeconds === undefined) && ctx.progress.step >= totalSteps)
      throw new GrowbertError(
        `${runDir} is already at step ${ctx.progress.step} of ${totalSteps}; give a larger --max-steps (or --budget) to train further`,
      );
    const end = paces[paces.length - 1].endSeconds;
    if (end !== undefined && clockSeconds(ctx.progress, c.clock) >= end)
      throw new GrowbertError(
        `${runDir} has already trained ${clockSeconds(ctx.progress, c.clock).toFixed(1)} s of its ${end} s budget (${c.clock} clock); give a larger --budget to train further`,
      );
    ctx.metrics.truncateAfter(ctx.progress.step);
    say(`resuming ${runDir} at step ${ctx.progress.step} (stage ${stageIndex + 1} of ${stages.length})`);
  }
  savePlan();
  // The TensorBoard event file (rank 0): a new one for each start or resume, closed on any exit below.
  if (leader && c.train.tensorboard)
    ctx.metrics.attach(
      new TensorBoardSink(runDir, {
        step: ctx.progress.step,
        texts: runTexts({ ...c, train: { ...c.train, warmupSteps } }, stages),
        growthSteps: stages.slice(1).map((s) => s.startStep),
      }),
    );
  const shape = (m: BertConfig, st: ResolvedStage) =>
    `${m.numHiddenLayers} layers, hidden ${m.hiddenSize}, FFN ${m.intermediateSize}${m.poolingSize > 1 ? `, pooling ${m.poolingSize}` : ''}${m.ffnRank ? `, FFN rank ${m.ffnRank}` : ''}, ${st.batchSize}x${st.seqLength}`;
  if (leader) say(`precision: ${chosen.reason}`);
  say(
    `schedule ${schedule.name}: ${stages.map((s) => `${s.name} ${s.steps} steps (${shape(s.config, s)})`).join('; ')}; ${totalSteps} steps on ${device}${ctx.bf16 ? ' (bf16)' : ''}${dp ? `, data-parallel over ${dp.worldSize} workers (${dp.pg.backend})` : ''}`,
  );
  dp?.attach([...ctx.optimizer.params.values()]);
  ctx.bar = new ProgressBar({ total: totalSteps, label: 'pretrain', unit: 'steps', enabled: o.progress });
  ctx.bar.update(ctx.progress.step);
  const releaseMemory = retainFreedMemory(); // each step reuses the last one's freed memory
  const stageRecords: StageRecord[] = [];
  try {
    await withInterrupt(async (stop) => {
      ctx.stop = stop;
      for (;;) {
        const pace: StagePace = { ...paces[stageIndex], startStep: stageStart.step };
        await runSteps(ctx, pace);
        stageRecords.push(stageEnd(ctx, stages[stageIndex], stageStart, c.clock));
        if (stageIndex + 1 >= stages.length) break;
        growInto(ctx, c, stages[stageIndex + 1], say);
        stageIndex++;
        stageStart = {
          step: ctx.progress.step,
          seconds: ctx.progress.seconds,
          cpuSeconds: ctx.progress.cpuSeconds ?? 0,
        };
        Object.assign(ctx, stageData(corpus, c, stages[stageIndex], ctx), {
          flopsPerStep: stages[stageIndex].flopsPerStep,
          tags: { stage: stageIndex },
        });
        runEval(ctx); // the curve shows the loss right after growth
        saveContext(ctx);
      }
    });
  } catch (e) {
    throw dp && !(e instanceof Interrupted) ? await dp.explain(e, `training (step ${ctx.progress.step})`) : e;
  } finally {
    ctx.bar.finish();
    ctx.metrics.close();
    dp?.detach();
    releaseMemory();
  }
  const e = ctx.progress.lastEval;
  say(
    `done: ${ctx.progress.step} steps in ${formatDuration(ctx.progress.seconds)}${c.clock === 'cpu' ? ` (CPU time ${formatDuration(clockSeconds(ctx.progress, 'cpu'))})` : ''}${e ? `; validation loss ${e.valLoss.toFixed(4)}, perplexity ${e.valPerplexity.toFixed(1)}, masked-token accuracy ${(100 * e.valAccuracy).toFixed(1)}%` : ''}`,
  );
  return { runDir, progress: ctx.progress, modelConfig: ctx.model.config, stages, stageRecords };
}

/** Grows ctx's model and optimizer into stage `next`, logging the preservation report. */
function growInto(
  ctx: TrainContext<BertForMaskedLM>,
  c: ResolvedConfig,
  next: ResolvedStage,
  say: (l: string) => void,
): void {
  const policy = next.stage.optimizer;
  const before = ctx.model;
  const t = next.config;
  const r = grow(
    { model: before, optimizer: { state: ctx.optimizer.state(), meta: ctx.optimizer.meta() } },
    { ...growableShape(t), seqLength: next.seqLength },
    { ...next.stage.ops, seed: next.stage.ops.seed ?? c.train.seed },
    policy,
  );
  const report = checkPreservation(before, r.model, ctx.valSet[0]);
  const optimizer = newOptimizer(c, r.model);
  if (r.optimizerState) {
    optimizer.loadState(r.optimizerState, r.optimizerMeta);
    dispose(r.optimizerState);
  }
  ctx.dp?.detach(); // the reducer holds the old parameters
  ctx.optimizer.dispose();
  before.dispose();
  ctx.model = r.model;
  ctx.optimizer = optimizer;
  if (ctx.dp) {
    // Every rank grew the same way at the same step: prove the results are identical (weights and
    // optimizer state), then take rank 0's anyway, as at the start.
    ctx.dp.verifyIdentical(
      [...r.model.namedParameters(), ...optimizer.state()],
      `after growing into ${next.name} at step ${ctx.progress.step}`,
    );
    noGrad(() => ctx.dp!.broadcast(r.model.parameters()));
    ctx.dp.attach([...optimizer.params.values()]);
  }
  const p = ctx.progress;
  ctx.metrics.append({
    step: p.step,
    tokens: p.tokens,
    seconds: Number(p.seconds.toFixed(4)),
    cpuSeconds: Number((p.cpuSeconds ?? 0).toFixed(4)),
    flops: p.flops,
    event: 'grow',
    stage: next.index,
    optimizerPolicy: policy,
    preserving: r.preserving,
    ...report,
    // The new stage's shape, for the dashboard and TensorBoard's growth/event text.
    stageName: next.name,
    layers: t.numHiddenLayers,
    hidden: t.hiddenSize,
    ffn: t.intermediateSize,
    heads: t.numAttentionHeads,
    pooling: t.poolingSize,
    batchSize: next.batchSize,
    seqLength: next.seqLength,
  });
  say(
    `step ${p.step}: grew into ${next.name} (${r.report.join('; ')}); optimizer ${policy}; logits max abs diff ${report.maxAbsLogitDiff.toExponential(2)} (rel ${report.maxRelLogitDiff.toExponential(2)}), loss ${report.lossBefore.toFixed(4)} -> ${report.lossAfter.toFixed(4)}`,
  );
}
