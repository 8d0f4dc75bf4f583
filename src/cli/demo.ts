// `growbert demo` (what `npm run demo` runs after set-up): pre-trains the tiny preset on the
// built-in corpus into a new run folder and says where the run and its metrics are.
import type { Command } from 'commander';
import * as path from 'node:path';
import { parseConfig } from '../train/config.js';
import { RunDir } from '../train/run-dir.js';
import { pretrain } from '../train/pretrain.js';
import { torchVersion } from '../tensor/index.js';
import { flagNumber } from './args.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the quick-start job: pre-train the tiny preset on the built-in corpus')
    .option('--out <dir>', 'run folder (default: runs/demo-<time>)')
    .option('--max-steps <n>', "training steps (default: the tiny preset's)")
    .action(async (o: { out?: string; maxSteps?: string }) => {
      const out =
        o.out ??
        path.join(
          'runs',
          `demo-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`,
        );
      console.error(
        `growbert demo: pre-training the tiny preset on stdlib:sotu + stdlib:moby-dick (libtorch ${torchVersion()})`,
      );
      const config = parseConfig({
        preset: 'tiny',
        out,
        train: o.maxSteps ? { maxSteps: flagNumber(o.maxSteps, 'max-steps') } : {},
      });
      const r = await pretrain(config, { progress: config.runtime.progress ?? process.stderr.isTTY });
      const p = new RunDir(r.runDir).paths;
      console.log(
        `run: ${r.runDir}\nmetrics: ${p.metrics}\ncheckpoints: ${p.checkpoints}\nnext: npx growbert eval --run ${r.runDir}`,
      );
    });
}
