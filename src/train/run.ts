// The layout of a run folder, in one place (the folder itself is the RunDir object, run-dir.ts):
//   RUN/config.json           the pre-training config (or schedule) it was started with
//   RUN/tokenizer/            vocab.txt, tokenizer.json, tokenizer_config.json
//   RUN/metrics.jsonl         one JSON object per log line
//   RUN/schedule.json         the resolved stages and the budget (src/train/plan-stages.ts)
//   RUN/events.out.tfevents.* the same metrics as TensorBoard event files (src/train/tensorboard.ts)
//   RUN/checkpoints/          step-NNNNNNNN/{model,optimizer}.safetensors + trainer.json + manifest.json,
//                             and latest.json pointing at the newest
//   RUN/.growbert-run         the marker that makes the folder a run; RUN/.growbert-lock its writer
// trainer.json always holds `modelConfig` (the BertConfig of the weights in that checkpoint: a
// growth schedule changes it from stage to stage) and `step`. This module imports nothing of the
// run's formats, so the modules that write them (checkpoint.ts, metrics-log.ts, ...) can read it.
import * as path from 'node:path';

/** The entries growbert writes in a run folder; a '*' ends a prefix. */
export const RUN_ENTRIES = [
  'config.json',
  'tokenizer',
  'metrics.jsonl',
  'checkpoints',
  'schedule.json',
  'events.out.tfevents.*',
] as const;
export const RUN_MARKER = '.growbert-run';
export const RUN_LOCK = '.growbert-lock';

export type RunPaths = ReturnType<typeof runPaths>;

export const runPaths = (runDir: string) => ({
  config: path.join(runDir, 'config.json'),
  tokenizerDir: path.join(runDir, 'tokenizer'),
  tokenizerFile: path.join(runDir, 'tokenizer', 'tokenizer.json'),
  metrics: path.join(runDir, 'metrics.jsonl'),
  schedule: path.join(runDir, 'schedule.json'),
  checkpoints: path.join(runDir, 'checkpoints'),
  latest: path.join(runDir, 'checkpoints', 'latest.json'),
  marker: path.join(runDir, RUN_MARKER),
  lock: path.join(runDir, RUN_LOCK),
});

/** The run folder that holds a checkpoint folder (RUN/checkpoints/step-N -> RUN). */
export function runOfCheckpoint(ckptDir: string): string {
  return path.resolve(ckptDir, '..', '..');
}
