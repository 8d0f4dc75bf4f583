// A run is a folder:
//   RUN/config.json          the resolved pre-training config (or schedule) it was started with
//   RUN/tokenizer/           vocab.txt, tokenizer.json, tokenizer_config.json
//   RUN/metrics.jsonl        one JSON object per log line
//   RUN/events.out.tfevents.* the same metrics as TensorBoard event files (src/train/tensorboard.ts)
//   RUN/checkpoints/         step-NNNNNNNN/{model,optimizer}.safetensors + trainer.json + manifest.json,
//                            and latest.json pointing at the newest
// trainer.json always holds `modelConfig` (the BertConfig of the weights in that checkpoint: a
// growth schedule changes it from stage to stage) and `step`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from '../io/errors.js';
import { BertTokenizer } from '../data/tokenizer.js';
import { BertForMaskedLM, bertConfig, type BertConfig } from '../model/index.js';
import { dispose, type Device, type Tensor } from '../tensor/index.js';
import { loadCheckpoint, resolveCheckpoint } from './checkpoint.js';

export const runPaths = (runDir: string) => ({
  config: path.join(runDir, 'config.json'),
  tokenizerDir: path.join(runDir, 'tokenizer'),
  metrics: path.join(runDir, 'metrics.jsonl'),
  checkpoints: path.join(runDir, 'checkpoints'),
});

/** The run folder that holds a checkpoint folder (RUN/checkpoints/step-N -> RUN). */
export function runOfCheckpoint(ckptDir: string): string {
  return path.resolve(ckptDir, '..', '..');
}

export function loadRunTokenizer(runDir: string): BertTokenizer {
  const dir = runPaths(runDir).tokenizerDir;
  const file = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(file))
    throw new GrowbertError(`${runDir} has no tokenizer (${file} missing); is it a growbert run folder?`);
  return BertTokenizer.fromFile(file);
}

export interface LoadedModel {
  model: BertForMaskedLM;
  config: BertConfig;
  tokenizer: BertTokenizer;
  /** the checkpoint folder the weights came from */
  checkpoint: string;
  trainer: Record<string, unknown>;
}

/** Loads the model (and tokenizer) of a run's latest checkpoint, or of a checkpoint folder. */
export function loadRunModel(runOrCkpt: string, opts: { device?: Device } = {}): LoadedModel {
  const checkpoint = resolveCheckpoint(runOrCkpt);
  const data = loadCheckpoint(checkpoint, { skipOptimizer: true });
  const raw = data.trainer.modelConfig;
  if (!raw)
    throw new GrowbertError(
      `${checkpoint}/trainer.json has no modelConfig; the checkpoint was not written by this growbert`,
    );
  const config = bertConfig(raw as BertConfig);
  const model = new BertForMaskedLM(config, { device: opts.device });
  model.loadStateDict(data.model as Map<string, Tensor>);
  dispose(data.model);
  const tokenizer = loadRunTokenizer(runOfCheckpoint(checkpoint));
  return { model, config, tokenizer, checkpoint, trainer: data.trainer };
}
