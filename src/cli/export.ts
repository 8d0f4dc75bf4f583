// `growbert export`: a run's model as a Hugging Face folder (src/api/hf.ts over src/export/hf.ts, docs/export.md).
import type { Command } from 'commander';
import { exportToHf } from '../api/hf.js';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description("write a run's latest checkpoint as a Hugging Face BertForMaskedLM folder")
    .requiredOption('--run <dir>', 'a growbert run (its latest checkpoint) or checkpoint folder')
    .requiredOption('--out <dir>', 'the Hugging Face folder to write (must be empty or absent)')
    .option('--force', 'replace an earlier export in --out (its files only; other files there stay)')
    .option('--json', 'print the result as one JSON object on the last line')
    .action(async (f: { run: string; out: string; force?: boolean; json?: boolean }) => {
      const r = await exportToHf({ run: f.run, out: f.out, force: f.force ?? false }, { log: console.error });
      console.log(
        `exported ${r.checkpoint} to ${r.out}: ${r.tensors} tensors, ${r.parameters} parameters (${r.config.numHiddenLayers} layers, hidden ${r.config.hiddenSize})`,
      );
      if (f.json) console.log(JSON.stringify(r));
    });
}
