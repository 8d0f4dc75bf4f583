// pretrain(): what `growbert pretrain` (and `growbert demo`) do in one process. Masked-LM pre-training from
// the same config the CLI reads (PretrainConfigSchema, docs/config.md), plain or by a growth schedule,
// into a run folder; returns where things are and how the run ended. Progress comes as typed events
// (src/train/events.ts), and an AbortSignal stops the run after its step with a checkpoint (Interrupted).
import { GrowbertError } from '../io/errors.js';
import type { BertConfig } from '../model/index.js';
import type { ResolvedStage } from '../schedule/plan.js';
import { parseConfig, type PretrainConfigInput } from '../train/config.js';
import type { PretrainEvent } from '../train/events.js';
import { pretrain as trainRun } from '../train/pretrain.js';
import { RunDir } from '../train/run-dir.js';
import type { StageRecord } from '../train/stage-record.js';
import type { CallOptions } from './common.js';
import { splitMetrics, type EvalMetrics } from './metrics.js';

export type { PretrainConfigInput, PretrainEvent };

export interface PretrainCallOptions extends CallOptions {
  /**
   * Typed events as the run goes: every metrics.jsonl line, evaluations, stage starts and ends, growth,
   * checkpoints; and, when no `log` is given, the lines the command prints ('message').
   */
  onEvent?: (e: PretrainEvent) => void;
}

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
  // Lines go to `log`; without it, to onEvent as 'message' events; with neither, nowhere. The progress
  // bar (stderr) only when the config asks for it (runtime.progress, the CLI's --progress).
  const say = call.log ?? (call.onEvent ? undefined : () => {});
  const r = await trainRun(c, {
    say,
    progress: c.runtime.progress ?? false,
    signal: call.signal,
    onEvent: call.onEvent,
  });
  const run = new RunDir(r.runDir);
  const m = splitMetrics(run.readMetrics());
  const lastTrain = m.train[m.train.length - 1];
  return {
    runDir: r.runDir,
    metricsFile: run.paths.metrics,
    checkpoint: run.latestCheckpoint(call.log ?? (() => {})),
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

/**
 * The config a run was started with (its config.json), to continue it as `growbert pretrain --out RUN
 * --resume` does: pretrain({ ...saved, resume: true, train: { ...saved.train, maxSteps: N } }).
 */
export function readRunConfig(runDir: string): PretrainConfigInput {
  const saved = new RunDir(runDir).readConfig();
  if (!saved) throw new GrowbertError(`${runDir} has no config.json; give a run folder that pretrain or grow wrote`);
  return saved as PretrainConfigInput;
}
