// `compare --parallel N`: N of the comparison's runs side by side, each an ordinary `growbert
// pretrain` in its own process (one thread each unless --threads says otherwise). A process of
// its own per run is what makes `--clock cpu` fair: process.cpuUsage() then charges each run
// exactly the CPU its trainer and native threads used, however the machine is shared.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GrowbertError } from '../io/errors.js';
import type { PretrainConfig } from '../train/config.js';
import { Interrupted } from '../train/signals.js';

export interface ParallelJob {
  /** a short name for the log lines (schedule, budget, seed) */
  label: string;
  config: PretrainConfig;
  /** called when the run finished well */
  done: () => void;
}

/** Runs `pretrain` for one job in a child process; its log lines go to `say`, prefixed by the label. */
function runChild(job: ParallelJob, say: (l: string) => void, abort?: AbortSignal): Promise<void> {
  const file = path.join(os.tmpdir(), `growbert-compare-${process.pid}-${Date.now()}-${Math.random()}.json`);
  fs.writeFileSync(file, JSON.stringify(job.config));
  const bin = fileURLToPath(new URL('../../../bin/growbert.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'pretrain', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  let tail = '';
  const forward = (chunk: Buffer) => {
    const lines = (tail + chunk.toString()).split('\n');
    tail = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) say(`[${job.label}] ${l}`);
  };
  child.stdout.on('data', forward);
  child.stderr.on('data', forward);
  // an abort stops the run as SIGTERM does: it finishes its step and saves a checkpoint
  const stop = () => child.kill('SIGTERM');
  abort?.addEventListener('abort', stop, { once: true });
  return new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      abort?.removeEventListener('abort', stop);
      fs.rmSync(file, { force: true });
      if (tail.trim()) say(`[${job.label}] ${tail}`);
      if (code === 0) return resolve();
      reject(
        new GrowbertError(
          `compare: the run ${job.label} (${job.config.out}) failed (${signal ?? `exit ${code}`}); see its lines above, then rerun compare to continue`,
        ),
      );
    });
  });
}

/** Runs the jobs, `n` at a time, in order; the first failure stops new starts and is thrown once the rest end. */
export async function runParallel(
  jobs: ParallelJob[],
  n: number,
  say: (l: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < jobs.length) {
      const job = jobs[next++];
      if (signal?.aborted) {
        failure = stoppedBefore(job.label);
        break;
      }
      say(`compare: starting ${job.label} -> ${job.config.out}`);
      try {
        await runChild(job, say, signal);
        job.done();
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, n) }, worker));
  // runs stopped by the abort exit 143 (SIGTERM): the comparison was stopped, not failed
  if (failure !== null)
    throw signal?.aborted ? new Interrupted('compare: stopped (aborted); rerun it to continue', 'abort') : failure;
}

/** The comparison stopped by its AbortSignal before the run `label` started. */
export function stoppedBefore(label: string): Interrupted {
  return new Interrupted(`compare: stopped (aborted) before ${label}; rerun compare to continue`, 'abort');
}
