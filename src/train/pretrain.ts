// Pre-training a run, as the phases it goes through, in the order they happen (docs/architecture.md,
// "A run, from the command to the first step"): open the run folder, set up the device and
// precision, load the corpus and tokenizer, plan the stages, start or resume the model and
// optimizer, train the stages (growing the model between them), report. Any schedule of stages (a
// plain run is the one-stage `full` schedule): at each stage boundary the model and its optimizer
// state grow into the next stage's shape (grow-stage.ts), the preservation report goes to the log,
// and a checkpoint is written at once, so a run resumes in any stage, right after a growth event
// too. One process and each rank of a data-parallel run take the same path.
import { GrowbertError } from '../io/errors.js';
import { BertForMaskedLM, bertConfig, type BertConfig } from '../model/index.js';
import { stageLr, type ResolvedStage } from '../schedule/plan.js';
import { choosePrecision, dispose, manualSeed, noGrad, type Device } from '../tensor/index.js';
import { DataParallel } from '../parallel/data-parallel.js';
import { workerEnv } from '../parallel/env.js';
import { clockSeconds, type Clock } from './budget-clock.js';
import type { CheckpointData } from './checkpoint.js';
import { resolveConfig, type PretrainConfig, type ResolvedConfig } from './config.js';
import { paddingReport, prepareCorpus, validationSet, type PreparedCorpus } from './data.js';
import type { PretrainEventListener } from './events.js';
import { checkFits } from './fit-check.js';
import { stageData } from './grow-stage.js';
import { optimizerFor } from './optim/index.js';
import { planStages, runBudget } from './plan-stages.js';
import { RunDir } from './run-dir.js';
import { modelConfigFor, setupRuntime } from './runtime.js';
import { stagePaces, type StageRecord, type StageStart } from './stage-record.js';
import { beginTraining, report, trainStages, trainingContext, type RunPlan, type Start } from './train-stages.js';
import { Interrupted } from './signals.js';
import { restoreContext, type Progress } from './trainer.js';

export interface PretrainOptions {
  /** show a progress bar (the CLI's --progress) */
  progress?: boolean;
  /** where the run's lines go (default: 'message' events when onEvent is given, else stderr) */
  say?: (line: string) => void;
  /**
   * Stops the run as SIGINT does: the current step finishes, a checkpoint is written, the run's
   * lock is released and pretrain rejects with Interrupted (`signal` 'abort', `at` the step and
   * checkpoint); the process goes on. Already aborted when called: rejects at once, touching nothing.
   */
  signal?: AbortSignal;
  /** typed events as the run goes (src/train/events.ts): metrics lines, evaluations, stages, growth, checkpoints */
  onEvent?: PretrainEventListener;
}

export interface PretrainResult {
  runDir: string;
  progress: Progress;
  modelConfig: BertConfig;
  stages: ResolvedStage[];
  /** per stage run in this process: planned and actual steps and training seconds */
  stageRecords: StageRecord[];
}

/** Pre-trains as configured: the phases below, in order, on one process or on each rank. */
export async function pretrain(input: PretrainConfig, o: PretrainOptions = {}): Promise<PretrainResult> {
  const c = resolveConfig(input);
  if (o.signal?.aborted) throw new Interrupted(`pretrain into ${c.out} not started: aborted before it began`, 'abort');
  return onWorkers(c, o, async (o, dp) => {
    const emit = o.onEvent;
    const say = o.say ?? (emit ? (line: string) => emit({ type: 'message', line }) : (l: string) => console.error(l));
    const leader = !dp || dp.isLeader;
    const opened = openRun(c, say, dp);
    const { device, precisionNote, c: rc } = setUpDevice(opened.c, dp);
    if (leader) opened.run.create(); // made, locked and marked only now that the config passed every check
    if (leader && !rc.resume) opened.run.saveConfig(input);
    const corpus = await loadCorpus(opened.run, rc, o.progress, say, dp);
    const plan = planRun(input, rc, opened.run, corpus, device, say, dp);
    const start = startModel(opened.run, rc, plan, corpus, opened.resumeFrom, device, say, dp);
    const ctx = trainingContext({ input, c: rc, run: opened.run, plan, start, device, say, dp, emit: o.onEvent });
    beginTraining(ctx, rc, plan, start, { precisionNote, progress: o.progress });
    const records = await trainStages(ctx, rc, plan, corpus, start, o.signal);
    return report(ctx, rc, plan, records);
  });
}

/** Runs `body` on this process or rank. Guarantees: the process group is gone and the run's lock released. */
// A torchrun-style worker (RANK and WORLD_SIZE in its environment, a world size above 1:
// src/parallel/env.ts, docs/distributed.md) is one rank of a data-parallel run; rank 0 reports
// for the run, the others are quiet. The lock goes as soon as the run ends, not only on exit.
async function onWorkers<T>(
  c: ResolvedConfig,
  o: PretrainOptions,
  body: (o: PretrainOptions, dp?: DataParallel) => Promise<T>,
): Promise<T> {
  const env = workerEnv();
  const dp =
    env && env.worldSize > 1
      ? DataParallel.init({
          env,
          backend: c.dist.backend,
          device: c.runtime.device as Device,
          timeoutSeconds: c.dist.timeout,
          masterAddr: env.masterAddr ?? c.dist.masterAddr,
          masterPort: env.masterPort ?? c.dist.masterPort ?? 29500,
          rdzvFile: env.rdzvFile ?? c.dist.rdzvFile,
          say: o.say,
        })
      : undefined;
  try {
    const r = await body(!dp || dp.isLeader ? o : { signal: o.signal, say: () => {}, progress: false }, dp);
    dp?.barrier(); // nobody tears down the store (rank 0 serves it) while another rank still uses it
    return r;
  } finally {
    dp?.destroy();
    new RunDir(c.out).release();
  }
}

/** Open the run. Guarantees: the folder fits this start, locked and tidied if it exists; a resume knows where from. */
// A fresh run overwrites no run; a resume has one, keeps its budget's unit and clock, and reads
// its data with the run's own tokenizer.
function openRun(c: ResolvedConfig, say: (l: string) => void, dp?: DataParallel) {
  const leader = !dp || dp.isLeader;
  const run = new RunDir(c.out);
  const resumeFrom = run.check(c.resume, { inputs: [...c.data.specs, c.data.tokenizer], say, leader });
  if (!c.resume) return { run, resumeFrom, c };
  if (leader && resumeFrom) run.checkBudgetKept(runBudget(c), c.clock);
  // The run's own tokenizer: the token caches (and so the data id) do not depend on the cache
  // folder or the working directory.
  const tokenizer = run.tokenizerFor(c.data.tokenizer, leader ? say : () => {});
  return { run, resumeFrom, c: { ...c, data: { ...c.data, tokenizer } } };
}

/** Device and precision. Guarantees: threads, device and precision set; the model's size fits, before any data work. */
// --precision auto becomes fp32 or bf16 here, for this device; the saved config keeps 'auto'.
function setUpDevice(c: ResolvedConfig, dp?: DataParallel) {
  const device = setupRuntime(c, dp);
  const chosen = choosePrecision(c.runtime.precision, device);
  const rc = { ...c, runtime: { ...c.runtime, precision: chosen.precision } };
  checkFits(rc, modelConfigFor(rc, rc.data.vocabSize), device);
  return { device, precisionNote: chosen.reason, c: rc };
}

/** Corpus and tokenizer. Guarantees: the corpus tokenized and cached; the run folder holds its tokenizer. */
// Data parallel: the first worker on each machine builds the tokenizer and token caches, the others read them.
async function loadCorpus(
  run: RunDir,
  c: ResolvedConfig,
  progress: boolean | undefined,
  say: (l: string) => void,
  dp?: DataParallel,
): Promise<PreparedCorpus> {
  const first = !dp || dp.localRank === 0;
  const early = first ? await prepareCorpus({ ...c.data }, progress, say) : undefined;
  dp?.barrier();
  const corpus = early ?? (await prepareCorpus({ ...c.data }, false));
  say(`data: ${corpus.report}`);
  say(`data: ${paddingReport(corpus, { ...c.data, seqLength: c.data.seqLength })}`);
  if ((!dp || dp.isLeader) && !run.hasTokenizer()) run.saveTokenizer(corpus.tokenizer);
  return corpus;
}

/** Plan the stages. Guarantees: each stage's shape and steps (rank 0's on every rank), LR, cadences, validation set. */
function planRun(
  input: PretrainConfig,
  c: ResolvedConfig,
  run: RunDir,
  corpus: PreparedCorpus,
  device: Device,
  say: (l: string) => void,
  dp?: DataParallel,
): RunPlan {
  const target = modelConfigFor(c, corpus.tokenizer.vocabSize);
  const { schedule, stages, savePlan } = planStages(c, target, run, device, say, dp);
  if (dp) for (const st of stages) dp.rows(st.batchSize); // every stage's batch must split evenly
  const totalSteps = stages.reduce((a, s) => a + s.steps, 0);
  // The defaults that scale with the run (warmup, evaluation and checkpoint cadence) follow its
  // planned steps, which a budget, not maxSteps, may set.
  const { warmupSteps, evalEvery, checkpointEvery } = resolveConfig(input, totalSteps).train;
  if (warmupSteps > totalSteps)
    say(
      `warning: --warmup-steps ${warmupSteps} is more than the run's ${totalSteps} steps: the learning rate never reaches --lr ${c.train.lr}; give a warmup below ${totalSteps}`,
    );
  const lr = stageLr(stages, { peak: c.train.lr, warmupSteps, decay: c.train.decay, power: c.train.power });
  const valOptions = { ...c.data, batchSize: c.train.batchSize, seed: c.train.seed };
  const valSet = validationSet(corpus, valOptions, c.train.evalBatches, device);
  const paces = stagePaces(stages);
  return { schedule, stages, savePlan, totalSteps, warmupSteps, evalEvery, checkpointEvery, paces, lr, valSet };
}

/** Start or resume. Guarantees: model, optimizer and data position, alike on every rank; a finished run stays so. */
// Fresh (seeded) at step 0, or the checkpoint's. A resume with nothing left to train is refused
// here, before anything in the run folder changes.
function startModel(
  run: RunDir,
  c: ResolvedConfig,
  plan: RunPlan,
  corpus: PreparedCorpus,
  resumeFrom: string | null,
  device: Device,
  say: (l: string) => void,
  dp?: DataParallel,
): Start {
  let ck: CheckpointData | undefined;
  let model: BertForMaskedLM;
  if (resumeFrom) {
    ck = run.loadLatestGood((l) => say(`warning: ${l}`))!.data; // falls back past a damaged latest checkpoint
    run.checkShapeKept(ck.trainer.modelConfig as BertConfig, plan.stages[stageOf(ck)]?.config);
    model = new BertForMaskedLM(bertConfig(ck.trainer.modelConfig as BertConfig), { device });
    model.loadStateDict(ck.model);
    dispose(ck.model);
  } else {
    manualSeed(c.train.seed);
    model = new BertForMaskedLM(plan.stages[0].config, { device, seed: c.train.seed });
  }
  // Data parallel: rank 0's weights everywhere (a fresh model is seeded alike, a resumed one read
  // from the same checkpoint: this makes sure).
  if (dp) noGrad(() => dp.broadcast(model.parameters()));
  const optimizer = optimizerFor(c.train, model.namedParameters());
  const stage = ck ? stageOf(ck) : 0;
  const data = stageData(corpus, c, plan.stages[stage]);
  const planned: StageStart = { step: plan.stages[stage].startStep, seconds: 0, cpuSeconds: 0 };
  if (!ck) {
    const progress = { step: 0, tokens: 0, seconds: 0, flops: 0 };
    return { model, optimizer, data, progress, at: { stage, start: planned }, resumed: false };
  }
  const progress = restoreContext({ optimizer, ...data }, ck.trainer, ck.optimizer);
  dispose(ck.optimizer);
  const start = (ck.trainer.stageStart as StageStart | undefined) ?? {
    ...planned,
    seconds: progress.seconds,
    cpuSeconds: progress.cpuSeconds ?? 0,
  };
  checkLeftToTrain(run, progress, plan, c.clock);
  return { model, optimizer, data, progress, at: { stage, start }, resumed: true };
}

const stageOf = (ck: CheckpointData) => (ck.trainer.stage as number | undefined) ?? 0;

/** Refuses a resume of a run already at the end of its budget: give a larger one to train further. */
function checkLeftToTrain(run: RunDir, p: Progress, plan: RunPlan, clock: Clock): void {
  if (plan.paces.every((x) => x.endSeconds === undefined) && p.step >= plan.totalSteps)
    throw new GrowbertError(
      `${run.dir} is already at step ${p.step} of ${plan.totalSteps}; give a larger --max-steps (or --budget) to train further`,
    );
  const end = plan.paces[plan.paces.length - 1].endSeconds;
  if (end !== undefined && clockSeconds(p, clock) >= end)
    throw new GrowbertError(
      `${run.dir} has already trained ${clockSeconds(p, clock).toFixed(1)} s of its ${end} s budget (${clock} clock); give a larger --budget to train further`,
    );
}
