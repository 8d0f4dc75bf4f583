// The flags of the smallest real `growbert pretrain` the CLI tests start as child processes (signals,
// Ctrl-C, output-folder safety, the dashboard): one list, so a changed flag name is fixed in one place.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export function tinyModelFlags(cacheDir: string, o: { layers?: number } = {}): string[] {
  return [
    '--data',
    'stdlib:moby-dick',
    '--cache-dir',
    cacheDir,
    '--vocab-size',
    '2000',
    '--hidden',
    '32',
    '--layers',
    String(o.layers ?? 1),
    '--heads',
    '2',
    '--ffn',
    '64',
    '--seq-length',
    '32',
    '--batch-size',
    '8',
  ];
}

export interface StoppedRun {
  code: number | null;
  stderr: string;
}

/**
 * Starts a tiny `growbert pretrain` that would run for ever, waits until it has logged a few steps (or exited),
 * sends `signal` `times` times and resolves with its exit code and stderr. `before` goes right after `pretrain`
 * (e.g. `--nproc 2`), `after` before `--out`. A run still alive after `limitMs` is killed, so a hang fails the
 * test instead of stalling the suite.
 */
export async function stopTinyRun(o: {
  out: string;
  cacheDir: string;
  signal: NodeJS.Signals;
  times?: number;
  before?: string[];
  after?: string[];
  limitMs?: number;
}): Promise<StoppedRun> {
  const args = [
    'bin/growbert.js',
    'pretrain',
    ...(o.before ?? []),
    ...tinyModelFlags(o.cacheDir),
    '--max-steps',
    '100000',
    '--eval-every',
    '100000',
    '--eval-batches',
    '1',
    '--log-every',
    '1',
    '--no-progress',
    ...(o.after ?? []),
    '--out',
    o.out,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c))); // listened to from the start
  const limitMs = o.limitMs ?? 90_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const metrics = path.join(o.out, 'metrics.jsonl');
  const logged = () => fs.existsSync(metrics) && fs.readFileSync(metrics, 'utf8').split('\n').length > 3;
  for (let waited = 0; waited < limitMs && child.exitCode === null && !logged(); waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; i < (o.times ?? 1); i++) child.kill(o.signal);
  const code = await exited;
  clearTimeout(timer);
  return { code, stderr };
}
