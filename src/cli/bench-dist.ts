// `growbert bench-dist`: data-parallel throughput. Runs the real pre-training loop (data, masking,
// forward, backward, gradient all-reduce, AdamW) for a few steps with 1 worker and with N workers
// on the same global batch, and reports training tokens/s from each run's metrics (the first
// steps, warm-up, left out) and the scaling efficiency. Each configuration is a fresh
// `growbert pretrain` process tree in a temporary folder.
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GrowbertError } from '../io/errors.js';
import { RunDir } from '../train/run-dir.js';
import { requiredNumber } from './args.js';

interface BenchDistOpts {
  preset: string;
  nproc: string;
  steps: string;
  warmup: string;
  device: string;
  data: string[];
  cacheDir: string;
  batchSize?: string;
  seqLength?: string;
  json?: boolean;
}

interface Row {
  workers: number;
  threadsPerWorker: number;
  tokensPerSecond: number;
  stepMs: number;
}

const cores = () => Math.max(1, os.availableParallelism?.() ?? os.cpus().length);

function runPretrain(args: string[]): Promise<void> {
  const bin = fileURLToPath(new URL('../../../bin/growbert.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'pretrain', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new GrowbertError(`bench-dist: growbert pretrain ${args.join(' ')} failed (${code}):\n${err.trim()}`)),
    );
  });
}

/** Tokens/s and ms/step over the steps after `warmup`, from a run's metrics (training time only). */
export function throughput(runDir: string, warmup: number): { tokensPerSecond: number; stepMs: number } {
  const lines = new RunDir(runDir).readMetrics().filter((l) => l.loss !== undefined);
  const a = lines.find((l) => l.step === warmup);
  const b = lines[lines.length - 1];
  if (!a || !b || b.step <= a.step)
    throw new GrowbertError(`bench-dist: ${runDir} has too few steps after the warm-up`);
  const secs = Number(b.seconds) - Number(a.seconds);
  return { tokensPerSecond: (Number(b.tokens) - Number(a.tokens)) / secs, stepMs: (1000 * secs) / (b.step - a.step) };
}

export function registerBenchDist(program: Command): void {
  program
    .command('bench-dist')
    .description(
      'data-parallel training throughput: tokens/s with 1 and N workers on the same global batch, and the scaling efficiency',
    )
    .option('--preset <p>', 'model and batch preset', 'tiny')
    .option('--nproc <n>', 'workers to compare with 1', '2')
    .option('--steps <n>', 'training steps per run', '40')
    .option('--warmup <n>', 'steps left out of the timing', '5')
    .option('--device <d>', 'cpu or cuda (one GPU per worker)', 'cpu')
    .option('--batch-size <n>', "global batch (default: the preset's)")
    .option('--seq-length <n>', "sequence length (default: the preset's)")
    .option('--data <spec...>', 'corpus', ['stdlib:moby-dick'])
    .option('--cache-dir <dir>', 'tokenizer and token caches', '.cache/growbert')
    .option('--json', 'print the result as one JSON line last')
    .action((o: BenchDistOpts) => benchDist(o));
}

async function benchDist(o: BenchDistOpts): Promise<void> {
  const n = requiredNumber(o.nproc, 'nproc'),
    steps = requiredNumber(o.steps, 'steps'),
    warmup = requiredNumber(o.warmup, 'warmup');
  if (!Number.isInteger(n) || n < 2) throw new GrowbertError(`--nproc ${o.nproc}: expected an integer >= 2`);
  if (!Number.isInteger(steps) || !Number.isInteger(warmup) || warmup < 1 || steps <= warmup + 1)
    throw new GrowbertError('--steps must exceed --warmup + 1 (and --warmup be at least 1)');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-bench-dist-'));
  const gpu = o.device.startsWith('cuda');
  // 1 worker with every core; 1 worker with one worker's share (the baseline of the efficiency);
  // n workers sharing the cores. On GPUs: 1 and n workers, one GPU each.
  const share = Math.max(1, Math.floor(cores() / n));
  const configs = gpu
    ? [
        { workers: 1, threads: share },
        { workers: n, threads: share },
      ]
    : [
        { workers: 1, threads: cores() },
        ...(share !== cores() ? [{ workers: 1, threads: share }] : []),
        { workers: n, threads: share },
      ];
  const rows: Row[] = [];
  try {
    for (const [i, c] of configs.entries()) {
      const out = path.join(tmp, `run-${i}`);
      await runPretrain([
        '--preset',
        o.preset,
        '--data',
        ...o.data,
        '--cache-dir',
        o.cacheDir,
        '--device',
        o.device,
        '--max-steps',
        String(steps),
        '--eval-every',
        String(steps),
        '--eval-batches',
        '1',
        '--checkpoint-every',
        String(steps),
        '--log-every',
        '1',
        '--threads',
        String(c.threads),
        '--nproc',
        String(c.workers),
        '--out',
        out,
        '--no-progress',
        ...(o.batchSize ? ['--batch-size', o.batchSize] : []),
        ...(o.seqLength ? ['--seq-length', o.seqLength] : []),
      ]);
      rows.push({ workers: c.workers, threadsPerWorker: c.threads, ...throughput(out, warmup) });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const r = (x: number) => Math.round(x * 10) / 10;
  for (const row of rows)
    console.log(
      `${row.workers} worker(s) x ${row.threadsPerWorker} thread(s) on ${o.device}: ${r(row.tokensPerSecond)} tokens/s, ${r(row.stepMs)} ms/step`,
    );
  const single = rows[0],
    base = rows[rows.length - 2],
    multi = rows[rows.length - 1];
  const speedup = multi.tokensPerSecond / single.tokensPerSecond;
  const efficiency = multi.tokensPerSecond / (n * base.tokensPerSecond);
  console.log(
    `${n} workers vs 1 worker with all the ${gpu ? 'GPU' : 'cores'}: x${speedup.toFixed(2)}; scaling efficiency ${(100 * efficiency).toFixed(0)}% (tokens/s of ${n} workers / (${n} x tokens/s of 1 worker with ${gpu ? 'one GPU' : `${base.threadsPerWorker} thread(s)`}))`,
  );
  if (o.json)
    console.log(
      JSON.stringify({
        preset: o.preset,
        device: o.device,
        cores: cores(),
        rows: rows.map((x) => ({ ...x, tokensPerSecond: r(x.tokensPerSecond), stepMs: r(x.stepMs) })),
        speedup: Number(speedup.toFixed(3)),
        efficiency: Number(efficiency.toFixed(3)),
      }),
    );
}
