// `growbert pretrain`: masked-LM pre-training from a config file, a preset, and flags.
import type { Command } from 'commander';
import * as fs from 'node:fs';
import { parseConfig, readConfigFile } from '../train/config.js';
import { runPaths } from '../train/run.js';
import { pretrain } from '../train/pretrain.js';
import { PRETRAIN_FLAGS, addFlags, applyFlags } from './config-flags.js';

export function registerPretrain(program: Command): void {
  const cmd = program
    .command('pretrain')
    .description('pre-train a BERT masked-LM (config file and/or flags; flags override the file)')
    .option('--config <file>', 'JSON config file (see docs/config.md)');
  addFlags(cmd, PRETRAIN_FLAGS).action(async (opts: Record<string, unknown>) => {
    let base: Record<string, unknown> = opts.config ? (readConfigFile(String(opts.config)) as Record<string, unknown>) : {};
    if (opts.resume) {
      // A resumed run keeps the config it was started with; flags may still change it (e.g. --max-steps).
      const out = String(opts.out ?? base.out ?? 'runs/latest');
      const saved = runPaths(out).config;
      if (fs.existsSync(saved)) base = readConfigFile(saved) as Record<string, unknown>;
    }
    const config = parseConfig(applyFlags(base, opts, PRETRAIN_FLAGS), opts.config ? `config ${opts.config}` : 'config');
    const r = await pretrain(config, { progress: config.runtime.progress });
    console.log(`run: ${r.runDir} (metrics: ${runPaths(r.runDir).metrics}, checkpoints: ${runPaths(r.runDir).checkpoints})`);
  });
}
