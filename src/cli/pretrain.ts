// `growbert pretrain`: masked-LM pre-training from a config file, a preset, and flags. With
// --nproc N (and/or --nnodes) it is the launcher of a data-parallel run (docs/distributed.md).
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GrowbertError } from '../io/errors.js';
import { launchEnv, workerEnv } from '../parallel/env.js';
import { launch, threadsPerWorker, watchLauncher, watchParent } from '../parallel/launch.js';
import { requireDistributed } from '../parallel/process-group.js';
import { checkRendezvousFile } from '../parallel/rendezvous.js';
import { parseConfig, readConfigFile, resolveConfig, type PretrainConfig } from '../train/config.js';
import { RunDir } from '../train/run-dir.js';
import { pretrain } from '../train/pretrain.js';
import { withStopSignals } from '../train/signals.js';
import { checkConfigRanges } from './args.js';
import { PRETRAIN_FLAGS, addFlags, applyFlags } from './config-flags.js';

/** MASTER_ADDR, MASTER_PORT, NNODES and NODE_RANK from the environment (flags override them). */
function applyDistEnv(base: Record<string, unknown>): Record<string, unknown> {
  const e = launchEnv();
  const dist = { ...(base.dist as Record<string, unknown> | undefined) };
  for (const [k, v] of Object.entries(e)) if (v !== undefined) dist[k] = v;
  return Object.keys(dist).length ? { ...base, dist } : base;
}

/** This machine's share of a data-parallel run: its workers run `growbert pretrain` with the resolved config. */
async function launchWorkers(config: PretrainConfig): Promise<number> {
  const d = config.dist;
  if (d.nodeRank >= d.nnodes)
    throw new GrowbertError(`--node-rank ${d.nodeRank} must be less than --nnodes ${d.nnodes}`);
  const world = d.nproc * d.nnodes;
  const batch = resolveConfig(config).train.batchSize;
  if (batch % world !== 0)
    throw new GrowbertError(
      `batch size ${batch} is not divisible by the ${world} data-parallel workers; use a multiple of ${world} for --batch-size`,
    );
  requireDistributed(d.backend === 'nccl' ? 'nccl' : 'gloo');
  if (d.rdzvFile) checkRendezvousFile(d.rdzvFile);
  const file = path.join(os.tmpdir(), `growbert-launch-${process.pid}-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(config));
  try {
    const bin = fileURLToPath(new URL('../../../bin/growbert.js', import.meta.url));
    return await launch({
      nproc: d.nproc,
      nnodes: d.nnodes,
      nodeRank: d.nodeRank,
      masterAddr: d.masterAddr,
      masterPort: d.masterPort,
      rdzvFile: d.rdzvFile && path.resolve(d.rdzvFile),
      args: [bin, 'pretrain', '--config', file],
      threadsPerWorker: config.runtime.threads ?? threadsPerWorker(d.nproc),
    });
  } finally {
    fs.rmSync(file, { force: true });
  }
}

export function registerPretrain(program: Command): void {
  const cmd = program
    .command('pretrain')
    .description(
      'pre-train a BERT masked-LM (config file and/or flags; flags override the file); --nproc N trains data-parallel',
    )
    .option('--config <file>', 'JSON config file (see docs/config.md)');
  addFlags(cmd, PRETRAIN_FLAGS).action(async (opts: Record<string, unknown>) => {
    let base: Record<string, unknown> = opts.config
      ? (readConfigFile(String(opts.config)) as Record<string, unknown>)
      : {};
    // a run of `compare --parallel` gets its config in a temp file only it reads: gone once read,
    // so a compare killed outright leaves none behind
    if (opts.config && process.env.GROWBERT_TEMP_CONFIG === String(opts.config))
      fs.rmSync(String(opts.config), { force: true });
    if (opts.resume) {
      // A resumed run keeps the config it was started with; flags may still change it (e.g. --max-steps).
      const run = new RunDir(String(opts.out ?? base.out ?? 'runs/latest'));
      const saved = run.readConfig();
      if (saved) base = saved;
      else if (!opts.config && fs.existsSync(run.paths.checkpoints))
        throw new GrowbertError(
          `${run.paths.config} is missing: a resume needs the config the run started with; restore it, or pass --config with that config`,
        );
    }
    const worker = workerEnv();
    // A worker of our own launcher reads MASTER_* from its environment: the port the launcher
    // picked must not enter the run's config.json as if the user had chosen it (a resume picks again).
    const launched = worker && process.env.GROWBERT_LAUNCHED === '1';
    const config = parseConfig(
      applyFlags(launched ? base : applyDistEnv(base), opts, PRETRAIN_FLAGS),
      opts.config ? `config ${opts.config}` : 'config',
    );
    checkConfigRanges(config, PRETRAIN_FLAGS); // config-file values too, with the flags' ranges
    if (!worker && config.dist.nproc * config.dist.nnodes > 1) {
      process.exitCode = await launchWorkers(config);
      return;
    }
    if (worker) watchLauncher(worker.rank);
    else if (process.env.GROWBERT_COMPARE_CHILD === '1')
      watchParent('the compare that started this run exited; stopping');
    // Signals stop the run cleanly from here on, including during data preparation (src/train/signals.ts).
    const r = await withStopSignals(() => pretrain(config, { progress: config.runtime.progress }));
    const { metrics, checkpoints } = new RunDir(r.runDir).paths;
    if (!worker || worker.rank === 0)
      console.log(`run: ${r.runDir} (metrics: ${metrics}, checkpoints: ${checkpoints})`);
  });
}
