// The last phases of pretrain (src/train/pretrain.ts), which the earlier ones feed: the training
// context built in one place from what they settled (RunPlan, Start), the start committed to the
// run folder and announced, the stages trained with growth between them, and the report.
import { ProgressBar, formatDuration } from '../io/progress.js';
import type { BertConfig, BertForMaskedLM } from '../model/index.js';
import type { ResolvedStage } from '../schedule/plan.js';
import type { Schedule as LrSchedule } from '../schedule/lr.js';
import type { Schedule } from '../schedule/schedule.js';
import { retainFreedMemory, type Device } from '../tensor/index.js';
import type { DataParallel } from '../parallel/data-parallel.js';
import { clockSeconds, type StagePace } from './budget-clock.js';
import type { PretrainConfig, ResolvedConfig } from './config.js';
import type { ModelBatch, PreparedCorpus } from './data.js';
import type { PretrainEventListener } from './events.js';
import { growInto, stageData } from './grow-stage.js';
import type { Optimizer } from './optim/index.js';
import type { PretrainResult } from './pretrain.js';
import type { RunDir } from './run-dir.js';
import { Interrupted } from './signals.js';
import { stageEnd, type StageRecord, type StageStart } from './stage-record.js';
import { runTexts } from './tensorboard.js';
import {
  NullMetricsLog,
  runEval,
  runSteps,
  saveContext,
  withInterrupt,
  type Progress,
  type TrainContext,
} from './trainer.js';

/** What planning settles; nothing of it is written until training begins. */
export interface RunPlan {
  schedule: Schedule;
  stages: ResolvedStage[];
  /** writes schedule.json (once the start is known to go ahead) */
  savePlan: () => void;
  totalSteps: number;
  warmupSteps: number;
  evalEvery: number;
  checkpointEvery: number;
  paces: Omit<StagePace, 'startStep'>[];
  lr: LrSchedule;
  /** always at the target's sequence length: losses compare across stages and schedules */
  valSet: ModelBatch[];
}

/** Where training starts: model, optimizer and data, the progress so far, and the stage it is in. */
export interface Start {
  model: BertForMaskedLM;
  optimizer: Optimizer;
  data: ReturnType<typeof stageData>;
  progress: Progress;
  /** the current stage and where it began (a time-driven stage before it may end off its planned step) */
  at: { stage: number; start: StageStart };
  resumed: boolean;
}

/** The training context. Guarantees: the loop's context, built in one place from what the phases settled. */
export function trainingContext(p: {
  input: PretrainConfig;
  c: ResolvedConfig;
  run: RunDir;
  plan: RunPlan;
  start: Start;
  device: Device;
  say: (l: string) => void;
  dp?: DataParallel;
  emit?: PretrainEventListener;
}): TrainContext<BertForMaskedLM> {
  const { c, plan, start, emit } = p;
  const metrics = !p.dp || p.dp.isLeader ? p.run.metrics() : new NullMetricsLog(p.run.dir);
  if (emit) metrics.attach({ write: (line) => emit({ type: 'metrics', line }), close: () => {} });
  return {
    run: p.run,
    model: start.model,
    optimizer: start.optimizer,
    ...start.data,
    device: p.device,
    valSet: plan.valSet,
    lr: plan.lr,
    bf16: c.runtime.precision === 'bf16',
    clipNorm: c.train.clipNorm,
    gradAccumulation: c.train.gradAccumulation,
    evalEvery: plan.evalEvery,
    checkpointEvery: plan.checkpointEvery,
    keepCheckpoints: c.train.keepCheckpoints,
    logEvery: c.train.logEvery,
    metrics,
    progress: start.progress,
    extra: () => ({ config: p.input, schedule: plan.schedule.name, stage: start.at.stage, stageStart: start.at.start }),
    flopsPerStep: plan.stages[start.at.stage].flopsPerStep,
    tags: { stage: start.at.stage },
    say: p.say,
    dp: p.dp,
    clock: c.clock,
    emit,
  };
}

/** Begin. Guarantees: the run folder committed to this start, the run's summary said, the progress bar shown. */
// Committed: a resume's later metrics lines dropped, the plan saved, a new TensorBoard event file open.
export function beginTraining(
  ctx: TrainContext<BertForMaskedLM>,
  c: ResolvedConfig,
  plan: RunPlan,
  start: Start,
  o: { precisionNote: string; progress?: boolean },
): void {
  const { stages, totalSteps } = plan;
  const leader = !ctx.dp || ctx.dp.isLeader;
  if (start.resumed) {
    ctx.metrics.truncateAfter(ctx.progress.step);
    ctx.say(`resuming ${ctx.run.dir} at step ${ctx.progress.step} (stage ${start.at.stage + 1} of ${stages.length})`);
  }
  plan.savePlan();
  // The TensorBoard event file (rank 0): a new one for each start or resume, closed when training ends.
  if (leader && c.train.tensorboard)
    ctx.metrics.attach(
      ctx.run.openEventFile({
        step: ctx.progress.step,
        texts: runTexts({ ...c, train: { ...c.train, warmupSteps: plan.warmupSteps } }, stages),
        growthSteps: stages.slice(1).map((s) => s.startStep),
      }),
    );
  const shape = (m: BertConfig, st: ResolvedStage) =>
    `${m.numHiddenLayers} layers, hidden ${m.hiddenSize}, FFN ${m.intermediateSize}${m.poolingSize > 1 ? `, pooling ${m.poolingSize}` : ''}${m.ffnRank ? `, FFN rank ${m.ffnRank}` : ''}, ${st.batchSize}x${st.seqLength}`;
  if (leader) ctx.say(`precision: ${o.precisionNote}`);
  const dp = ctx.dp;
  ctx.say(
    `schedule ${plan.schedule.name}: ${stages.map((s) => `${s.name} ${s.steps} steps (${shape(s.config, s)})`).join('; ')}; ${totalSteps} steps on ${ctx.device}${ctx.bf16 ? ' (bf16)' : ''}${dp ? `, data-parallel over ${dp.worldSize} workers (${dp.pg.backend})` : ''}`,
  );
  dp?.attach([...ctx.optimizer.params.values()]);
  ctx.bar = new ProgressBar({ total: totalSteps, label: 'pretrain', unit: 'steps', enabled: o.progress });
  ctx.bar.update(ctx.progress.step);
}

/** Train the stages. Guarantees: every stage trained, the model grown between them (evaluated, checkpointed). */
// A signal or an abort stops it after a step with a checkpoint (Interrupted); training's resources
// (the event file, the gradient reducer, the memory kept for reuse) are released however it ends.
export async function trainStages(
  ctx: TrainContext<BertForMaskedLM>,
  c: ResolvedConfig,
  plan: RunPlan,
  corpus: PreparedCorpus,
  start: Start,
  abort?: AbortSignal,
): Promise<StageRecord[]> {
  const { at } = start;
  const records: StageRecord[] = [];
  const releaseMemory = retainFreedMemory(); // each step reuses the last one's freed memory
  try {
    await withInterrupt(async (stop) => {
      ctx.stop = stop;
      for (let resumed = start.resumed; ; resumed = false) {
        const st = plan.stages[at.stage];
        const model = ctx.model.config;
        ctx.emit?.({ type: 'stage-start', stage: at.stage, name: st.name, step: ctx.progress.step, model, resumed });
        await runSteps(ctx, { ...plan.paces[at.stage], startStep: at.start.step });
        records.push(stageEnd(ctx, st, at.start, c.clock));
        ctx.emit?.({ type: 'stage-end', record: records[records.length - 1] });
        if (at.stage + 1 >= plan.stages.length) return;
        growInto(ctx, c, plan.stages[at.stage + 1], ctx.say);
        at.stage++;
        const p = ctx.progress;
        at.start = { step: p.step, seconds: p.seconds, cpuSeconds: p.cpuSeconds ?? 0 };
        const next = plan.stages[at.stage];
        Object.assign(ctx, stageData(corpus, c, next, ctx), {
          flopsPerStep: next.flopsPerStep,
          tags: { stage: at.stage },
        });
        runEval(ctx); // the curve shows the loss right after growth
        saveContext(ctx);
      }
    }, abort);
  } catch (e) {
    throw ctx.dp && !(e instanceof Interrupted) ? await ctx.dp.explain(e, `training (step ${ctx.progress.step})`) : e;
  } finally {
    ctx.bar?.finish();
    ctx.metrics.close();
    ctx.dp?.detach();
    releaseMemory();
  }
  return records;
}

/** Report. Guarantees: the run's last line said (steps, time, final validation), its result returned. */
export function report(ctx: TrainContext<BertForMaskedLM>, c: ResolvedConfig, plan: RunPlan, records: StageRecord[]) {
  const p = ctx.progress;
  const e = p.lastEval;
  ctx.say(
    `done: ${p.step} steps in ${formatDuration(p.seconds)}${c.clock === 'cpu' ? ` (CPU time ${formatDuration(clockSeconds(p, 'cpu'))})` : ''}${e ? `; validation loss ${e.valLoss.toFixed(4)}, perplexity ${e.valPerplexity.toFixed(1)}, masked-token accuracy ${(100 * e.valAccuracy).toFixed(1)}%` : ''}`,
  );
  const r: PretrainResult = {
    runDir: ctx.run.dir,
    progress: p,
    modelConfig: ctx.model.config,
    stages: plan.stages,
    stageRecords: records,
  };
  return r;
}
