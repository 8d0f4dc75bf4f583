// The launcher, in torchrun's style: `growbert pretrain --nproc N` starts N worker processes on
// this machine, each the same command with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT); with --nnodes M it is started once per
// machine with --node-rank. It watches its workers: when one fails, the others are stopped and
// the launcher exits non-zero; SIGINT, SIGTERM and SIGHUP are passed on to every worker, which
// checkpoint and stop (the launcher exits with the signal's code: 130, 143, 129). On one machine
// the workers meet through a private file store, so no rendezvous port is opened (rendezvous.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import { RDZV_FILE_ENV, privateRendezvous } from './rendezvous.js';

export interface LaunchOptions {
  /** workers on this machine */
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  /** the TCP store's port when there is one (default 29500, torch's) */
  masterPort?: number;
  /**
   * a file store every machine sees, instead of the TCP store; with one machine and none given,
   * a private one of this launch's own
   */
  rdzvFile?: string;
  /** what each worker runs: process.execPath with these arguments */
  args: string[];
  /** CPU threads per worker (sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS unless set) */
  threadsPerWorker?: number;
  say?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** ms the remaining workers get to finish on their own after one was interrupted (exit 130) */
  interruptGraceMs?: number;
}

/** Exit codes of a worker stopped by a signal after saving (src/train/signals.ts): 128 + the signal's number. */
const SIGNAL_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
const INTERRUPT_CODES = Object.values(SIGNAL_CODES);

/** A TCP port free on this machine right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Default CPU threads for each of `nproc` workers on this machine: the cores split between them. */
export function threadsPerWorker(nproc: number): number {
  return Math.max(1, Math.floor((os.availableParallelism?.() ?? os.cpus().length) / nproc));
}

function prefixLines(stream: NodeJS.ReadableStream, out: NodeJS.WritableStream, prefix: string): void {
  let rest = '';
  stream.setEncoding?.('utf8');
  stream.on('data', (d: string) => {
    const parts = (rest + d).split(/\r?\n/);
    rest = parts.pop() ?? '';
    for (const l of parts) out.write(`${prefix}${l}\n`);
  });
  stream.on('end', () => {
    if (rest) out.write(`${prefix}${rest}\n`);
  });
}

/** Runs the workers of this machine; resolves to the launcher's exit code. */
export async function launch(o: LaunchOptions): Promise<number> {
  const say = o.say ?? ((l: string) => console.error(`growbert: ${l}`));
  const worldSize = o.nproc * o.nnodes;
  const own = !o.rdzvFile && o.nnodes === 1 ? privateRendezvous() : null;
  try {
    return await launchWith(o, say, worldSize, own?.file ?? o.rdzvFile);
  } finally {
    own?.dispose();
  }
}

async function launchWith(
  o: LaunchOptions,
  say: (line: string) => void,
  worldSize: number,
  rdzvFile: string | undefined,
): Promise<number> {
  const port = o.masterPort ?? 29500;
  const threads = o.threadsPerWorker ?? threadsPerWorker(o.nproc);
  const base = { ...(o.env ?? process.env) };
  delete base[RDZV_FILE_ENV]; // only this launch's own decision reaches the workers
  const first = o.nodeRank * o.nproc;
  const where = rdzvFile ? `rendezvous file ${rdzvFile}` : `rendezvous at ${o.masterAddr}:${port}`;
  say(
    `launching ${o.nproc} worker(s) on node ${o.nodeRank} of ${o.nnodes}: ranks ${first}..${first + o.nproc - 1} of ${worldSize}, ${where}, ${threads} CPU thread(s) each`,
  );

  const children: ChildProcess[] = [];
  let alive = 0;
  let failure: { rank: number; code: number } | null = null;
  let stopping = false;
  const timers: NodeJS.Timeout[] = [];
  const signalAll = (sig: NodeJS.Signals) => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        try {
          c.kill(sig);
          if (sig === 'SIGTERM') c.kill('SIGCONT'); // a frozen (stopped) worker must wake to die
        } catch {
          /* already gone */
        }
      }
    }
  };
  const stopAll = (graceMs: number) => {
    if (stopping) return;
    stopping = true;
    timers.push(
      setTimeout(() => {
        signalAll('SIGTERM');
        timers.push(setTimeout(() => signalAll('SIGKILL'), 5000));
      }, graceMs),
    );
  };

  const done = new Promise<void>((resolve) => {
    for (let local = 0; local < o.nproc; local++) {
      const rank = first + local;
      const env: NodeJS.ProcessEnv = {
        ...base,
        RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_RANK: String(local),
        LOCAL_WORLD_SIZE: String(o.nproc),
        GROUP_RANK: String(o.nodeRank),
        MASTER_ADDR: o.masterAddr,
        ...(rdzvFile ? { [RDZV_FILE_ENV]: rdzvFile } : { MASTER_PORT: String(port) }),
        GROWBERT_LAUNCHED: '1',
        OMP_NUM_THREADS: base.OMP_NUM_THREADS ?? String(threads),
        OPENBLAS_NUM_THREADS: base.OPENBLAS_NUM_THREADS ?? String(threads),
      };
      // Own process group: a terminal's Ctrl-C reaches the launcher only, which passes it on once
      // (a second Ctrl-C, passed on again, stops the workers at once, as without a launcher).
      // stdin is a pipe the workers watch: if the launcher itself is killed, they stop.
      const child = spawn(process.execPath, o.args, {
        env,
        detached: true,
        stdio: ['pipe', rank === 0 ? 'inherit' : 'pipe', rank === 0 ? 'inherit' : 'pipe'],
      });
      children.push(child);
      alive++;
      if (rank !== 0) {
        prefixLines(child.stdout!, process.stdout, `[rank ${rank}] `);
        prefixLines(child.stderr!, process.stderr, `[rank ${rank}] `);
      }
      say(`rank ${rank} is pid ${child.pid}`);
      child.on('exit', (code, signal) => {
        alive--;
        const failed = signal !== null || (code ?? 1) !== 0;
        // Stopped because the launcher passed a signal on: that worker did as asked, it did not fail.
        const asked = received !== null && signal === null && INTERRUPT_CODES.includes(code ?? 1);
        if (failed && !failure && !asked) {
          failure = { rank, code: signal ? 1 : (code ?? 1) };
          if (alive > 0) {
            const interrupted = INTERRUPT_CODES.includes(code ?? 1);
            say(
              `worker rank ${rank} (pid ${child.pid}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; ${interrupted ? 'waiting for' : 'stopping'} the other ${alive} worker(s)`,
            );
            stopAll(interrupted ? (o.interruptGraceMs ?? 30000) : 0);
          } else if (signal) {
            say(`worker rank ${rank} (pid ${child.pid}) was killed by ${signal}`);
          }
        }
        if (alive === 0) resolve();
      });
      child.on('error', (e) => {
        say(`worker rank ${rank} could not start: ${e.message}`);
      });
    }
  });

  // A signal to the launcher goes to every worker once: each finishes its step, they agree to stop
  // after the same one, rank 0 saves the checkpoint, and all exit with the signal's code. The
  // launcher then waits for them (however long the save takes) instead of killing them after a grace.
  let received: NodeJS.Signals | null = null;
  const forward = (sig: NodeJS.Signals) => () => {
    if (received && sig !== 'SIGINT') return; // a repeated SIGTERM/SIGHUP: the workers are already stopping
    if (!received) say(`${sig}: passing it on to the ${alive} worker(s); they save a checkpoint and stop`);
    received ??= sig;
    signalAll(sig);
  };
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGINT', forward('SIGINT')],
    ['SIGTERM', forward('SIGTERM')],
    ['SIGHUP', forward('SIGHUP')],
  ];
  for (const [s, h] of handlers) process.on(s, h);
  try {
    await done;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    for (const t of timers) clearTimeout(t);
    for (const c of children) c.stdin?.destroy();
  }
  const f = failure as { rank: number; code: number } | null;
  if (f) return f.code === 0 ? 1 : f.code;
  const sig = received as NodeJS.Signals | null;
  return sig ? (SIGNAL_CODES[sig] ?? 1) : 0;
}

/**
 * In a worker started by launch(): stop when the launcher goes away (its stdin pipe closes), so a
 * killed launcher leaves no workers behind.
 */
export function watchLauncher(rank: number): void {
  if (process.env.GROWBERT_LAUNCHED === '1') watchParent(`[rank ${rank}] the launcher exited; stopping`);
}

/**
 * Exits (code 1, saying `why`) when the parent that started this process with a stdin pipe goes
 * away: the launcher's workers, and the runs of `compare --parallel` (GROWBERT_COMPARE_CHILD).
 */
export function watchParent(why: string): void {
  const stdin = process.stdin;
  const gone = () => {
    console.error(`growbert: ${why}`);
    process.exit(1);
  };
  stdin.on('end', gone);
  stdin.on('close', gone);
  stdin.on('error', gone);
  stdin.resume();
  (stdin as unknown as { unref?: () => void }).unref?.();
}
