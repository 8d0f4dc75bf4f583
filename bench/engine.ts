// Engine overhead benchmark: float32 1024x1024 matmul GFLOP/s through the JS API against the
// same libtorch call timed inside C++ (native.benchMatmulCpp), and the per-op cost of a tiny add
// called from JS. The last line printed is one JSON object with the figures.
//   node dist/bench/engine.js [--device cpu|cuda] [--threads N]
import { performance } from 'node:perf_hooks';
import { native } from '../src/tensor/native.js';
import {
  cuda,
  getNumThreads,
  randn,
  setNumThreads,
  tensor,
  torchVersion,
  type Device,
  type Tensor,
} from '../src/tensor/index.js';

function parseArgs(argv: string[]): { device: Device; threads?: number } {
  let device: Device = 'cpu';
  let threads: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--device') device = value() as Device;
    else if (flag === '--threads') threads = Number(value());
    else throw new Error(`bench/engine: unknown argument '${argv[i]}' (use --device cpu|cuda, --threads N)`);
  }
  if (device !== 'cpu' && !device.startsWith('cuda'))
    throw new Error(`bench/engine: --device must be cpu or cuda, got '${device}'`);
  if (device.startsWith('cuda') && !cuda.isAvailable())
    throw new Error('bench/engine: --device cuda, but libtorch sees no CUDA device');
  return { device, threads };
}

const N = 1024;
const FLOPS = 2 * N ** 3;

function sync(device: Device): void {
  if (device !== 'cpu') cuda.synchronize(device);
}

/** GFLOP/s of `iters` matmuls through the JS API, each result disposed. */
function matmulJs(x: Tensor, y: Tensor, iters: number, device: Device): number {
  sync(device);
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) x.matmul(y).dispose();
  sync(device);
  return (FLOPS * iters) / ((performance.now() - t0) / 1e3) / 1e9;
}

/** Microseconds per a.add(b) + dispose on 4-element tensors. */
function addMicros(device: Device, iters: number): number {
  const a = tensor([1, 2, 3, 4], { device }),
    b = tensor([4, 3, 2, 1], { device });
  for (let i = 0; i < 1000; i++) a.add(b).dispose();
  sync(device);
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) a.add(b).dispose();
  sync(device);
  const us = ((performance.now() - t0) * 1e3) / iters;
  a.dispose();
  b.dispose();
  return us;
}

function main(): void {
  const { device, threads } = parseArgs(process.argv.slice(2));
  if (threads !== undefined) setNumThreads(threads);
  console.log(`growbert engine bench: libtorch ${torchVersion()}, device ${device}, ${getNumThreads()} CPU threads`);

  const x = randn([N, N], { device }),
    y = randn([N, N], { device });
  // warm up, then size the timed runs to about 0.3 s each
  for (let i = 0; i < 3; i++) x.matmul(y).dispose();
  sync(device);
  const probe = matmulJs(x, y, 2, device);
  const iters = Math.max(3, Math.min(2000, Math.ceil((0.3 * probe * 1e9) / FLOPS)));
  native.benchMatmulCpp(N, 2, device); // warm the C++ path too

  const js: number[] = [],
    cpp: number[] = [];
  for (let round = 0; round < 5; round++) {
    js.push(matmulJs(x, y, iters, device));
    cpp.push(native.benchMatmulCpp(N, iters, device) as number);
  }
  x.dispose();
  y.dispose();
  const matmulGflopsJs = Math.max(...js),
    matmulGflopsCpp = Math.max(...cpp);
  const matmulRatio = matmulGflopsJs / matmulGflopsCpp;
  const fmt = (v: number[]) => v.map((g) => g.toFixed(1)).join(' ');
  console.log(`matmul ${N}x${N} float32, ${iters} iterations x 5 rounds`);
  console.log(`  through JS : best ${matmulGflopsJs.toFixed(1)} GFLOP/s  (rounds: ${fmt(js)})`);
  console.log(`  inside C++ : best ${matmulGflopsCpp.toFixed(1)} GFLOP/s  (rounds: ${fmt(cpp)})`);
  console.log(`  JS / C++   : ${(matmulRatio * 100).toFixed(1)}%`);

  const addRuns = [0, 1, 2].map(() => addMicros(device, 20_000));
  const addOpMicros = Math.min(...addRuns);
  console.log(
    `add of 4 elements from JS (incl. dispose): best ${addOpMicros.toFixed(2)} us/op (runs: ${addRuns.map((v) => v.toFixed(2)).join(' ')})`,
  );

  const round = (v: number, d: number) => Number(v.toFixed(d));
  console.log(
    JSON.stringify({
      matmulGflopsJs: round(matmulGflopsJs, 2),
      matmulGflopsCpp: round(matmulGflopsCpp, 2),
      matmulRatio: round(matmulRatio, 4),
      addOpMicros: round(addOpMicros, 3),
    }),
  );
}

try {
  main();
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
}
