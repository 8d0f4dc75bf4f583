// `growbert import`: a Hugging Face BERT folder as a growbert run that can be grown and trained
// further (src/api/hf.ts over src/export/hf-import.ts, docs/export.md).
import type { Command } from 'commander';
import { requiredNumber } from './args.js';
import { importFromHf } from '../api/hf.js';

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('turn a Hugging Face BERT folder into a growbert run (config, tokenizer, step-0 checkpoint)')
    .requiredOption('--hf <dir>', 'Hugging Face folder: config.json + model.safetensors (+ tokenizer files)')
    .requiredOption('--out <dir>', 'the run folder to create (must be empty or absent)')
    .option('--tokenizer <file>', 'vocab.txt / tokenizer.json to use when the folder has none')
    .option('--seed <n>', 'seed for weights the folder lacks (an absent MLM head)', '0')
    .option('--force', 'replace an earlier growbert run in --out (its run files only; other files there stay)')
    .option('--json', 'print the result as one JSON object on the last line')
    .action(
      async (f: { hf: string; out: string; tokenizer?: string; seed: string; force?: boolean; json?: boolean }) => {
        const seed = requiredNumber(f.seed, 'seed');
        const o = { hf: f.hf, out: f.out, tokenizer: f.tokenizer, force: f.force ?? false, seed };
        const r = await importFromHf(o, { log: console.error });
        console.log(
          `imported ${f.hf} into ${r.out} (${r.config.numHiddenLayers} layers, hidden ${r.config.hiddenSize}, vocab ${r.config.vocabSize}); checkpoint ${r.checkpoint}`,
        );
        if (f.json) console.log(JSON.stringify(r));
      },
    );
}
