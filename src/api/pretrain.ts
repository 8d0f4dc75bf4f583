// pretrain(): what `growbert pretrain` (and `growbert demo`) do in one process. Masked-LM pre-training from
// the same config the CLI reads (PretrainConfigSchema, docs/config.md), plain or by a growth schedule,
// into a run folder; returns where things are and how the run ended, with its progress as typed events.
import { GrowbertError } from '../io/errors.js';
import type { BertConfig } from '../model/index.js';
import type { ResolvedStage } from '../schedule/plan.js';
import { latestCheckpoint } from '../train/checkpoint.js';
import { parseConfig, type PretrainConfigInput } from '../train/config.js';
import { pretrain as trainRun } from '../train/pretrain.js';
import { runPaths } from '../train/run.js';
import type { StageRecord } from '../train/stage-record.js';
import { checkAborted, logTo, type CallOptions } from './common.js';
import { readMetrics, type EvalMetrics } from './metrics.js';

export type { PretrainConfigInput };

export type PretrainCallOptions = CallOptions;

export interface PretrainResult {
  /** the run folder, its metrics file and its newest checkpoint */
  runDir: string;
  metricsFile: string;
  checkpoint: string | null;
  /** where training stopped */
  step: number;
  tokens: number;
  /** training seconds (wall clock; evaluation and checkpoints excluded) */
  seconds: number;
  flops: number;
  /** the mean training loss of the last logged window */
  finalLoss: number | null;
  /** the last validation */
  finalEval: EvalMetrics | null;
  /** the shape of the model trained last (the target, after a growth schedule) */
  modelConfig: BertConfig;
  /** the schedule's stages as planned, and what each stage run in this call took */
  stages: ResolvedStage[];
  stageRecords: StageRecord[];
}

/**
 * Pre-trains as configured (see the file's header). Data-parallel runs (dist.nproc or dist.nnodes above 1)
 * need worker processes: start those with the `growbert pretrain` command (docs/distributed.md).
 */
export async function pretrain(config: PretrainConfigInput, call: PretrainCallOptions = {}): Promise<PretrainResult> {
  const c = parseConfig(config, 'pretrain config');
  if (c.dist.nproc * c.dist.nnodes > 1)
    throw new GrowbertError(
      `pretrain config: dist.nproc ${c.dist.nproc} x dist.nnodes ${c.dist.nnodes}: data-parallel runs start worker processes; run them with \`growbert pretrain --nproc N\` (docs/distributed.md)`,
    );
  checkAborted(call.signal, 'pretrain');
  // the progress bar (on stderr) only when the config asks for it (runtime.progress, the CLI's --progress)
  const r = await trainRun(c, { say: logTo(call), progress: c.runtime.progress ?? false });
  const m = readMetrics(r.runDir);
  const lastTrain = m.train[m.train.length - 1];
  return {
    runDir: r.runDir,
    metricsFile: runPaths(r.runDir).metrics,
    checkpoint: latestCheckpoint(r.runDir, logTo(call)),
    step: r.progress.step,
    tokens: r.progress.tokens,
    seconds: r.progress.seconds,
    flops: r.progress.flops,
    finalLoss: lastTrain ? lastTrain.loss : null,
    finalEval: m.eval[m.eval.length - 1] ?? null,
    modelConfig: r.modelConfig,
    stages: r.stages,
    stageRecords: r.stageRecords,
  };
}
