// The CPU peer comparison: the same BERT training step timed by plain PyTorch laid out as
// Hugging Face's BertForMaskedLM (../shared/bench/torch_ref_bert.py, logits at every position)
// and by `growbert bench`, both ways (logits everywhere, and masked positions only), in fp32 and
// in bf16 (the peer under torch.autocast, PEER_BF16=1), one after the other in this one command,
// alternating rounds to spread the machine's noise and keeping each one's best. growbert's masked
// run is profiled too, for the achieved GFLOP/s against the matmul peak measured in that run.
// Needs Debian's python3-torch (`apt-get install python3-torch`). Last line: one JSON object.
// --cpu-time (implies --threads 1) times both by the CPU time of their main thread instead of
// wall time (the peer's time.time() is swapped for time.thread_time()): on a machine shared with
// other work, what each step itself cost.
//   node dist/bench/peer-cpu.js [L H A F B S steps vocab] [--rounds N] [--threads N] [--precisions fp32,bf16]
// [--cpu-time]
// The peer is also timed with glibc's malloc told to keep freed memory (GLIBC_TUNABLES, no mmap, no
// trim), which is what growbert's trainers do while they train (native/src/perf.cc): stock PyTorch
// re-faults its freed buffers every step. Both ratios are reported; the goals were set against stock.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchShapeFlags } from '../src/cli/bench-shape.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const flag = (name: string, d: string) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return d;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const cpuTime = args.includes('--cpu-time');
if (cpuTime) args.splice(args.indexOf('--cpu-time'), 1);
const rounds = Number(flag('rounds', '3'));
const threads = cpuTime ? 1 : Number(flag('threads', '0'));
const precisions = flag('precisions', 'fp32,bf16').split(',') as ('fp32' | 'bf16')[];
const [L, H, A, F, B, S, steps, V] = (args.length ? args : ['4', '256', '4', '1024', '16', '128', '5', '30522']).map(
  Number,
);
const peer = ['../shared/bench/torch_ref_bert.py', 'shared/bench/torch_ref_bert.py']
  .map((p) => path.resolve(root, p))
  .find((p) => fs.existsSync(p));
if (!peer) throw new Error('torch_ref_bert.py not found beside the repository (../shared/bench)');
const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
// One thread for both: OMP_NUM_THREADS sizes PyTorch's pool and OpenBLAS's (growbert sizes both from --threads).
const baseEnv = threads ? { ...process.env, OMP_NUM_THREADS: String(threads) } : process.env;

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  return r.stdout.trim();
}
const peerArgs = [L, H, A, F, B, S, steps, V].map(String);
const cpuWrapper =
  'import runpy, sys, time; time.time = time.thread_time; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__")';
const RETAIN_HEAP = 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184';
const peerTps = (p: string, retainHeap = false) =>
  Number(
    run(python, cpuTime ? ['-c', cpuWrapper, peer, ...peerArgs] : [peer, ...peerArgs], {
      ...baseEnv,
      PEER_BF16: p === 'bf16' ? '1' : '0',
      ...(retainHeap ? { GLIBC_TUNABLES: RETAIN_HEAP } : {}),
    }).match(/tok\/s ([\d.]+)/)![1],
  );
interface Ours {
  tokensPerSecond: number;
  gflops: number;
  matmulPeakGflops?: number;
  peakFraction?: number;
}
const ours = (p: string, full: boolean, profile: boolean): Ours => {
  const out = run(
    process.execPath,
    [
      path.join(root, 'bin/growbert.js'),
      'bench',
      ...benchShapeFlags({ layers: L, hidden: H, heads: A, ffn: F, batch: B, seq: S, vocab: V }),
      '--steps',
      `${steps}`,
      '--precision',
      p,
      ...(threads ? ['--threads', `${threads}`] : []),
      ...(full ? ['--full-logits'] : []),
      ...(profile ? ['--profile'] : []),
      ...(cpuTime ? ['--cpu-time'] : []),
      '--json',
    ],
    baseEnv,
  );
  return JSON.parse(out.split('\n').pop()!) as Ours;
};

type Best = { peer: number; peerRetained: number; full: number; masked: number; gflops: number; peak: number };
const best: Record<string, Best> = Object.fromEntries(
  precisions.map((p) => [p, { peer: 0, peerRetained: 0, full: 0, masked: 0, gflops: 0, peak: 0 }]),
);
for (let r = 0; r < rounds; r++) {
  for (const p of precisions) {
    const b = best[p];
    const pe = peerTps(p),
      pr = peerTps(p, true),
      f = ours(p, true, false),
      m = ours(p, false, true);
    console.log(
      `round ${r + 1} ${p}: PyTorch ${pe.toFixed(0)} tok/s (${pr.toFixed(0)} keeping freed memory), growbert (all logits) ${f.tokensPerSecond.toFixed(0)}, growbert (masked-only head) ${m.tokensPerSecond.toFixed(0)}` +
        ` = ${m.gflops.toFixed(1)} GFLOP/s, ${(100 * (m.peakFraction ?? 0)).toFixed(1)}% of the matmul peak ${m.matmulPeakGflops?.toFixed(1)} measured in that run`,
    );
    b.peer = Math.max(b.peer, pe);
    b.peerRetained = Math.max(b.peerRetained, pr);
    b.full = Math.max(b.full, f.tokensPerSecond);
    if (m.tokensPerSecond > b.masked) Object.assign(b, { masked: m.tokensPerSecond, gflops: m.gflops });
    b.peak = Math.max(b.peak, m.matmulPeakGflops ?? 0);
  }
}
const ratio = (x: number, y: number) => Number((x / y).toFixed(3));
console.log(
  JSON.stringify({
    shape: { L, H, A, F, B, S, V },
    threads: threads || 'default',
    rounds,
    timing: cpuTime ? 'CPU time of the main thread' : 'wall',
    ...Object.fromEntries(
      precisions.map((p) => {
        const b = best[p];
        return [
          p,
          {
            peerTokensPerSecond: b.peer,
            tokensPerSecondFullLogits: b.full,
            tokensPerSecondMasked: b.masked,
            ratioFullLogits: ratio(b.full, b.peer),
            ratioMasked: ratio(b.masked, b.peer),
            peerKeepingFreedMemoryTokensPerSecond: b.peerRetained,
            ratioFullLogitsVsPeerKeepingFreedMemory: ratio(b.full, b.peerRetained),
            ratioMaskedVsPeerKeepingFreedMemory: ratio(b.masked, b.peerRetained),
            gflops: b.gflops,
            matmulPeakGflops: b.peak,
            peakFraction: ratio(b.gflops, b.peak),
          },
        ];
      }),
    ),
  }),
);
