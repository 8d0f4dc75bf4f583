// `growbert eval --run DIR`: validation metrics of a run's latest checkpoint (or a checkpoint
// folder), on the run's own validation split (computed by src/api/evaluate.ts).
import type { Command } from 'commander';
import { evaluate } from '../api/evaluate.js';
import { requiredNumber } from './args.js';

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
      const { checkpoint, step, ...r } = await evaluate({ run: o.run, evalBatches, device: o.device });
      console.log(
        `${checkpoint} (step ${step}): validation loss ${r.valLoss.toFixed(4)}, perplexity ${r.valPerplexity.toFixed(2)}, masked-token accuracy ${(100 * r.valAccuracy).toFixed(2)}%`,
      );
      if (o.json) console.log(JSON.stringify({ step, ...r }));
    });
}
