// `growbert eval --run DIR`: validation metrics of a run's latest checkpoint (or a checkpoint
// folder), on the run's own validation split.
import type { Command } from 'commander';
import { GrowbertError } from '../io/errors.js';
import { requiredNumber } from './args.js';
import { parseConfig, resolveConfig } from '../train/config.js';
import { prepareCorpus, validationSet } from '../train/data.js';
import { loadRunModel } from '../train/run-dir.js';
import { setupRuntime } from '../train/runtime.js';
import { evaluate } from '../train/step.js';
import { choosePrecision, dispose, type Device } from '../tensor/index.js';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('validation masked-LM loss, perplexity and accuracy of a run')
    .requiredOption('--run <dir>', 'run folder (its latest checkpoint) or a checkpoint folder')
    .option('--eval-batches <n>', 'validation batches (0 = all)', '0')
    .option('--device <d>', 'cpu or cuda', 'cpu')
    .option('--json', 'print the result as one JSON line last')
    .action(async (o: { run: string; evalBatches: string; device: string; json?: boolean }) => {
      const evalBatches = requiredNumber(o.evalBatches, 'eval-batches');
      const loaded = loadRunModel(o.run, { device: o.device as Device });
      const run = loaded.run;
      const saved = run.readConfig();
      if (!saved)
        throw new GrowbertError(
          `${run.dir} has no config.json, so its validation data is unknown; evaluate a pre-training run`,
        );
      const c = resolveConfig(parseConfig(saved, `${run.dir}/config.json`));
      const device = setupRuntime({ ...c, runtime: { ...c.runtime, device: o.device } });
      // The run's own tokenizer, so ids match the weights even if the corpus cache was cleared.
      const corpus = await prepareCorpus({ ...c.data, tokenizer: run.paths.tokenizerFile });
      const seqLength = Math.min(c.data.seqLength, loaded.config.maxPositionEmbeddings);
      const val = validationSet(
        corpus,
        { ...c.data, seqLength, batchSize: c.train.batchSize, seed: c.train.seed },
        evalBatches,
        o.device as Device,
      );
      const r = evaluate(loaded.model, val, {
        bf16: choosePrecision(c.runtime.precision, device).precision === 'bf16',
      });
      dispose(val);
      const step = loaded.trainer.step as number;
      console.log(
        `${loaded.checkpoint} (step ${step}): validation loss ${r.valLoss.toFixed(4)}, perplexity ${r.valPerplexity.toFixed(2)}, masked-token accuracy ${(100 * r.valAccuracy).toFixed(2)}%`,
      );
      if (o.json) console.log(JSON.stringify({ step, ...r }));
    });
}
