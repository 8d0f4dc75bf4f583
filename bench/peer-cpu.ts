// The CPU peer comparison: the same BERT training step timed by plain PyTorch laid out as
// Hugging Face's BertForMaskedLM (../shared/bench/torch_ref_bert.py, logits at every position)
// and by `growbert bench`, both ways (logits everywhere, and masked positions only), in fp32 and
// in bf16 (the peer under torch.autocast, PEER_BF16=1), one after the other in this one command,
// alternating rounds to spread the machine's noise and keeping each one's best. growbert's masked
// run is profiled too, for the achieved GFLOP/s against the matmul peak measured in that run.
// Needs Debian's python3-torch (`apt-get install python3-torch`) or --plain-python. Last line: one JSON object.
// The second peer is the one transformers users run: transformers' own BertForMaskedLM (SDPA, fused
// AdamW; bench/hf_bert_peer.py) on PyTorch 2.x, in $GROWBERT_PYTHON or the project's .venv
// (scripts/python-deps.txt), timed the same ways; --peers plain,hf picks which peers run.
// --cpu-time (implies --threads 1) times both by the CPU time of their main thread instead of
// wall time (the peer's time.time() is swapped for time.thread_time()): on a machine shared with
// other work, what each step itself cost.
//   node dist/bench/peer-cpu.js [L H A F B S steps vocab] [--rounds N] [--threads N] [--precisions fp32,bf16]
// [--cpu-time] [--peers plain,hf] [--plain-python PATH] [--hf-python PATH]
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
const peers = flag('peers', 'plain,hf').split(',');
const hfPython = flag('hf-python', process.env.GROWBERT_PYTHON ?? path.join(root, '.venv', 'bin', 'python'));
// Both peers on the same PyTorch where possible: the project's Python (the PyTorch growbert builds
// against), else the system's (Debian's python3-torch).
const plainPython = flag(
  'plain-python',
  fs.existsSync(hfPython) ? hfPython : fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3',
);
const [L, H, A, F, B, S, steps, V] = (args.length ? args : ['4', '256', '4', '1024', '16', '128', '5', '30522']).map(
  Number,
);
const fail = (why: string): never => {
  console.error(`bench:peer: ${why}`);
  process.exit(2);
};
const plainPeer = ['../shared/bench/torch_ref_bert.py', 'shared/bench/torch_ref_bert.py']
  .map((p) => path.resolve(root, p))
  .find((p) => fs.existsSync(p));
if (peers.includes('plain') && !plainPeer)
  fail('torch_ref_bert.py not found beside the repository (../shared/bench); run with --peers hf');
if (peers.includes('hf') && !fs.existsSync(hfPython))
  fail(
    `no Python at ${hfPython} for the transformers peer: pip install -r scripts/python-deps.txt into .venv, set GROWBERT_PYTHON or --hf-python, or run with --peers plain`,
  );
/** Each peer: its script and interpreter. */
const PEERS: Record<string, { script: string; python: string }> = {
  plain: { script: plainPeer ?? '', python: plainPython },
  hf: { script: path.join(root, 'bench', 'hf_bert_peer.py'), python: hfPython },
};
// One thread for both: OMP_NUM_THREADS sizes PyTorch's pool and OpenBLAS's (growbert sizes both from --threads).
const baseEnv = threads ? { ...process.env, OMP_NUM_THREADS: String(threads) } : process.env;

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', env });
  if (r.status !== 0) {
    const last = (r.stderr ?? String(r.error ?? '')).trim().split('\n').pop();
    fail(`${cmd} ${argv.slice(0, 2).join(' ')} ... failed (${last}); check that it has torch (and transformers)`);
  }
  return r.stdout.trim();
}
const peerArgs = [L, H, A, F, B, S, steps, V].map(String);
const cpuWrapper =
  'import runpy, sys, time; time.time = time.thread_time; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__")';
const RETAIN_HEAP = 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184';
/** The libraries each peer ran on, for the record: the transformers peer prints them itself. */
const versions: Record<string, string> = {};
const peerTps = (name: string, p: string, retainHeap = false) => {
  const { script, python } = PEERS[name]!;
  const out = run(python, cpuTime ? ['-c', cpuWrapper, script, ...peerArgs] : [script, ...peerArgs], {
    ...baseEnv,
    PEER_BF16: p === 'bf16' ? '1' : '0',
    ...(threads ? { PEER_THREADS: String(threads) } : {}),
    ...(retainHeap ? { GLIBC_TUNABLES: RETAIN_HEAP } : {}),
  });
  versions[name] ??=
    out.match(/^torch \S+ transformers \S+/m)?.[0] ??
    run(python, ['-c', 'import torch; print("torch " + torch.__version__)'], baseEnv);
  return Number(out.match(/tok\/s ([\d.]+)/)![1]);
};
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

/** Per precision: each peer's best stock and keeping-freed-memory rates, and growbert's best. */
type Best = {
  peer: Record<string, { stock: number; retained: number }>;
  full: number;
  masked: number;
  gflops: number;
  peak: number;
};
const best: Record<string, Best> = Object.fromEntries(
  precisions.map((p) => [
    p,
    {
      peer: Object.fromEntries(peers.map((n) => [n, { stock: 0, retained: 0 }])),
      full: 0,
      masked: 0,
      gflops: 0,
      peak: 0,
    },
  ]),
);
const PEER_LABEL: Record<string, string> = { plain: 'PyTorch', hf: 'transformers BertForMaskedLM' };
for (let r = 0; r < rounds; r++) {
  for (const p of precisions) {
    const b = best[p];
    const said: string[] = [];
    for (const n of peers) {
      const stock = peerTps(n, p),
        retained = peerTps(n, p, true);
      said.push(`${PEER_LABEL[n]} ${stock.toFixed(0)} tok/s (${retained.toFixed(0)} keeping freed memory)`);
      b.peer[n].stock = Math.max(b.peer[n].stock, stock);
      b.peer[n].retained = Math.max(b.peer[n].retained, retained);
    }
    const f = ours(p, true, false),
      m = ours(p, false, true);
    console.log(
      `round ${r + 1} ${p}: ${said.join(', ')}, growbert (all logits) ${f.tokensPerSecond.toFixed(0)}, growbert (masked-only head) ${m.tokensPerSecond.toFixed(0)}` +
        ` = ${m.gflops.toFixed(1)} GFLOP/s, ${(100 * (m.peakFraction ?? 0)).toFixed(1)}% of the matmul peak ${m.matmulPeakGflops?.toFixed(1)} measured in that run`,
    );
    b.full = Math.max(b.full, f.tokensPerSecond);
    if (m.tokensPerSecond > b.masked) Object.assign(b, { masked: m.tokensPerSecond, gflops: m.gflops });
    b.peak = Math.max(b.peak, m.matmulPeakGflops ?? 0);
  }
}
const ratio = (x: number, y: number) => Number((x / y).toFixed(3));
/** One peer's figures and growbert's ratios against it; the plain peer keeps its original key names. */
function peerFigures(b: Best, n: string): Record<string, number> {
  const { stock, retained } = b.peer[n];
  const k = n === 'plain' ? '' : 'Hf';
  const peer = n === 'plain' ? 'peer' : 'hfPeer';
  return {
    [`${peer}TokensPerSecond`]: stock,
    [`ratioFullLogits${k ? 'Vs' + k : ''}`]: ratio(b.full, stock),
    [`ratioMasked${k ? 'Vs' + k : ''}`]: ratio(b.masked, stock),
    [`${peer}KeepingFreedMemoryTokensPerSecond`]: retained,
    [`ratioFullLogitsVs${k ? k : 'Peer'}KeepingFreedMemory`]: ratio(b.full, retained),
    [`ratioMaskedVs${k ? k : 'Peer'}KeepingFreedMemory`]: ratio(b.masked, retained),
  };
}
console.log(
  JSON.stringify({
    shape: { L, H, A, F, B, S, V },
    threads: threads || 'default',
    rounds,
    timing: cpuTime ? 'CPU time of the main thread' : 'wall',
    peers: versions,
    ...Object.fromEntries(
      precisions.map((p) => {
        const b = best[p];
        return [
          p,
          {
            tokensPerSecondFullLogits: b.full,
            tokensPerSecondMasked: b.masked,
            ...Object.assign({}, ...peers.map((n) => peerFigures(b, n))),
            gflops: b.gflops,
            matmulPeakGflops: b.peak,
            peakFraction: ratio(b.gflops, b.peak),
          },
        ];
      }),
    ),
  }),
);
