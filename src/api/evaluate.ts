// evaluate(): what `growbert eval` computes. Validation masked-LM loss, perplexity and accuracy of a
// run's latest checkpoint (or a checkpoint folder), on the run's own validation split.
import { z } from 'zod';
import { GrowbertError } from '../io/errors.js';
import { choosePrecision, dispose, type Device } from '../tensor/index.js';
import { parseConfig, resolveConfig } from '../train/config.js';
import { prepareCorpus, validationSet } from '../train/data.js';
import { loadRunModel } from '../train/run-dir.js';
import { setupRuntime } from '../train/runtime.js';
import { evaluate as evaluateModel, type EvalResult } from '../train/step.js';
import { DeviceSchema, checkAborted, logTo, parseOptions, type CallOptions } from './common.js';

/** The options of evaluate(): `growbert eval`'s flags as fields. */
export const EvaluateOptionsSchema = z
  .object({
    /** a run folder (its latest checkpoint) or a checkpoint folder */
    run: z.string().min(1),
    /** validation batches (0 = all) */
    evalBatches: z.number().int().min(0).default(0),
    device: DeviceSchema,
  })
  .strict();
export type EvaluateOptions = z.input<typeof EvaluateOptionsSchema>;

export interface EvaluateResult extends EvalResult {
  /** the checkpoint folder evaluated, and its step */
  checkpoint: string;
  step: number;
}

/** Evaluates a run's checkpoint on the run's validation split (see the file's header). */
export async function evaluate(options: EvaluateOptions, call: CallOptions = {}): Promise<EvaluateResult> {
  const o = parseOptions(EvaluateOptionsSchema, options, 'evaluate options');
  checkAborted(call.signal, 'evaluate');
  const loaded = loadRunModel(o.run, { device: o.device as Device });
  try {
    const run = loaded.run;
    const saved = run.readConfig();
    if (!saved)
      throw new GrowbertError(
        `${run.dir} has no config.json, so its validation data is unknown; evaluate a pre-training run`,
      );
    const c = resolveConfig(parseConfig(saved, `${run.dir}/config.json`));
    const device = setupRuntime({ ...c, runtime: { ...c.runtime, device: o.device } });
    // The run's own tokenizer, so ids match the weights even if the corpus cache was cleared.
    const corpus = await prepareCorpus({ ...c.data, tokenizer: run.paths.tokenizerFile }, false, logTo(call));
    checkAborted(call.signal, 'evaluate');
    const seqLength = Math.min(c.data.seqLength, loaded.config.maxPositionEmbeddings);
    const val = validationSet(
      corpus,
      { ...c.data, seqLength, batchSize: c.train.batchSize, seed: c.train.seed },
      o.evalBatches,
      o.device as Device,
    );
    const r = evaluateModel(loaded.model, val, {
      bf16: choosePrecision(c.runtime.precision, device).precision === 'bf16',
    });
    dispose(val);
    return { checkpoint: loaded.checkpoint, step: loaded.trainer.step as number, ...r };
  } finally {
    loaded.model.dispose();
  }
}
