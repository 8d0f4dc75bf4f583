// `compare --parallel N`: N of the comparison's runs side by side, each an ordinary `growbert
// pretrain` in its own process (one thread each unless --threads says otherwise). A process of
// its own per run is what makes `--clock cpu` fair: process.cpuUsage() then charges each run
// exactly the CPU its trainer and native threads used, however the machine is shared. Signals to
// compare, and the caller's AbortSignal, are passed on to the runs (each checkpoints and stops),
// and the temp files go with them.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GrowbertError } from '../io/errors.js';
import type { PretrainConfig } from '../train/config.js';
import { Interrupted, SIGNAL_EXIT_CODE, STOP_SIGNALS, type StopReason, type StopSignal } from '../train/signals.js';

export interface ParallelJob {
  /** a short name for the log lines (schedule, budget, seed) */
  label: string;
  config: PretrainConfig;
  /** called when the run finished well */
  done: () => void;
}

/** The processes of the runs under way, and what asked them to stop (a signal, or the caller's abort). */
interface Running {
  children: Set<ChildProcess>;
  stop: StopReason | null;
}

/** The signal a run gets for a stop: the same signal; an abort stops it as SIGTERM does. */
const signalFor = (stop: StopReason): StopSignal => (stop === 'abort' ? 'SIGTERM' : stop);

/**
 * Runs `pretrain` for one job in a child process; its log lines go to `say`, prefixed by the label.
 * Resolves true when the run finished, false when it stopped for a signal passed on to it.
 */
function runChild(job: ParallelJob, say: (l: string) => void, running: Running): Promise<boolean> {
  const file = path.join(os.tmpdir(), `growbert-compare-${process.pid}-${Date.now()}-${Math.random()}.json`);
  fs.writeFileSync(file, JSON.stringify(job.config));
  const bin = fileURLToPath(new URL('../../../bin/growbert.js', import.meta.url));
  // Own process group: a terminal's Ctrl-C reaches this process only, which passes it on once (a
  // child that got it twice would stop at once, without its checkpoint). stdin is a pipe the child
  // watches (GROWBERT_COMPARE_CHILD): if this process is killed outright, the runs stop too; the
  // child removes its temp config once read (GROWBERT_TEMP_CONFIG).
  const child = spawn(process.execPath, [bin, 'pretrain', '--config', file], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, GROWBERT_COMPARE_CHILD: '1', GROWBERT_TEMP_CONFIG: file },
    detached: true,
  });
  running.children.add(child);
  let tail = '';
  const forward = (chunk: Buffer) => {
    const lines = (tail + chunk.toString()).split('\n');
    tail = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) say(`[${job.label}] ${l}`);
  };
  child.stdout.on('data', forward);
  child.stderr.on('data', forward);
  return new Promise<boolean>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      running.children.delete(child);
      fs.rmSync(file, { force: true });
      if (tail.trim()) say(`[${job.label}] ${tail}`);
      if (code === 0) return resolve(true);
      // stopped because a signal was passed on: it did as asked (and saved a checkpoint)
      if (running.stop && code === SIGNAL_EXIT_CODE[signalFor(running.stop)]) return resolve(false);
      reject(
        new GrowbertError(
          `compare: the run ${job.label} (${job.config.out}) failed (${signal ?? `exit ${code}`}); see its lines above, then rerun compare to continue`,
        ),
      );
    });
  });
}

/**
 * Runs the jobs, `n` at a time, in order; the first failure stops new starts and is thrown once
 * the rest end. SIGINT, SIGTERM and SIGHUP (and the caller's AbortSignal, as SIGTERM) are passed
 * on to every run under way (each saves a checkpoint and stops), no new run starts, and once they
 * have ended an Interrupted says so (exit 130, 143 or 129). A second Ctrl-C is passed on too: the
 * runs then stop at once.
 */
export async function runParallel(
  jobs: ParallelJob[],
  n: number,
  say: (l: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const running: Running = { children: new Set(), stop: null };
  const stop = (why: StopReason) => {
    if (running.stop && why !== 'SIGINT') return; // a repeated SIGTERM/SIGHUP: the runs are already stopping
    if (!running.stop)
      say(
        `compare: ${why === 'abort' ? 'aborted' : why}: passing it on to the ${running.children.size} run(s) under way; each saves a checkpoint and stops, and no new run starts`,
      );
    running.stop ??= why;
    for (const c of running.children) c.kill(signalFor(why));
  };
  const handlers = STOP_SIGNALS.map((s) => [s, () => stop(s)] as const);
  const onAbort = () => stop('abort');
  for (const [s, h] of handlers) process.on(s, h);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) running.stop = 'abort';
  const worker = async () => {
    while (failure === null && running.stop === null && next < jobs.length) {
      const job = jobs[next++];
      say(`compare: starting ${job.label} -> ${job.config.out}`);
      try {
        if (await runChild(job, say, running)) job.done();
      } catch (e) {
        failure ??= e;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, n) }, worker));
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== null) throw failure;
  if (running.stop)
    throw new Interrupted(
      `compare stopped (${running.stop === 'abort' ? 'aborted' : running.stop}); the runs that finished are kept: rerun the same compare to continue (the runs cut off start over)`,
      running.stop,
    );
}

/** The comparison stopped by its AbortSignal before the run `label` started. */
export function stoppedBefore(label: string): Interrupted {
  return new Interrupted(`compare: stopped (aborted) before ${label}; rerun compare to continue`, 'abort');
}
