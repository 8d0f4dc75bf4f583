// Loads the compiled addon (build/growbert.node). The addon is mechanical: every op takes native
// handles and plain values and returns handles; src/tensor/ gives it ergonomics. Its functions
// are declared once, in native-api.ts, which types them here and checks their arguments in C++.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GrowbertError } from '../io/errors.js';
import type { NativeOps } from './native-api.js';

/** An opaque native handle owning one libtorch tensor. */
export interface NativeHandle {
  dispose(): void;
  isDisposed(): boolean;
}
export type { NativeGenerator, NativeGroup, NativeReducer, NativeWork } from './native-api.js';

/** The addon: the declared ops, the handle class, and the codes it takes for dtypes and reductions. */
export type NativeAddon = NativeOps & {
  NativeTensor: new () => NativeHandle;
  /** c10::ScalarType codes of the dtypes the addon accepts, by growbert's dtype name */
  dtypeCodes: Readonly<Record<string, number>>;
  /** at::Reduction codes of the losses' `reduction` argument */
  reductionCodes: Readonly<{ none: number; mean: number; sum: number }>;
};

// GROWBERT_BUILD_DIR (relative to the repository) selects another build, as scripts/build-native.mjs
// writes it: CI tests the addon built against each supported libtorch this way.
const here = path.dirname(fileURLToPath(import.meta.url));
const buildDir = process.env.GROWBERT_BUILD_DIR || 'build';
// dist/src/tensor -> the package root, or src/tensor when run from sources.
const roots = ['../../..', '../..'].map((up) => path.resolve(here, up));
const packageRoot = roots.find((r) => fs.existsSync(path.join(r, 'package.json'))) ?? roots[0];
// A checkout has tsconfig.json (the npm package ships none): it is set up by `npm run setup`; an
// installed package by scripts/install.mjs (npm's install hook where npm runs it, else on first use here).
const inCheckout = fs.existsSync(path.join(packageRoot, 'tsconfig.json'));
const setUp = inCheckout ? '`npm run setup`' : '`npx growbert setup`';

function findAddon(): string {
  const find = () => roots.map((r) => path.resolve(r, buildDir, 'growbert.node')).find((p) => fs.existsSync(p));
  let found = find();
  if (!found && !inCheckout && process.env.GROWBERT_NO_AUTO_SETUP !== '1') {
    firstUseSetup();
    found = find();
  }
  if (found) return found;
  throw new GrowbertError(`growbert's native addon is not built (${buildDir}/growbert.node missing): run ${setUp}`);
}

/**
 * An installed package whose install hook did not run (npm 11 blocks dependencies' install scripts unless
 * allowed; --ignore-scripts): libtorch and the addon are set up now, once, in a child process (minutes).
 * Its output is kept back; a failure becomes one line, set-up's own, which says what to do.
 */
function firstUseSetup(): void {
  process.stderr.write(
    'growbert: first use: setting up libtorch and building the native addon, once (a few minutes)\n',
  );
  const r = spawnSync(process.execPath, [path.join(packageRoot, 'scripts/install.mjs'), '--quiet'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  if (r.status === 0) return;
  const lines = `${r.stderr ?? ''}\n${r.error?.message ?? ''}`.split('\n').filter((l) => l.trim());
  const why = [...lines].reverse().find((l) => l.startsWith('growbert')) ?? lines.pop() ?? `exit code ${r.status}`;
  throw new GrowbertError(why.replace(/^growbert[\w ]*: /, ''));
}

/** The addon, or one line saying why it does not load (most often: the libtorch it was built against is gone). */
function loadAddon(file: string): NativeAddon {
  try {
    return createRequire(import.meta.url)(file) as NativeAddon;
  } catch (e) {
    let libDir = '';
    try {
      libDir = JSON.parse(fs.readFileSync(path.join(path.dirname(file), 'stamp.json'), 'utf8')).libtorch.libDir;
    } catch {}
    const gone = libDir && !fs.existsSync(libDir) ? `; the libtorch it was built against (${libDir}) is gone` : '';
    const first = String((e as Error).message).split('\n')[0];
    throw new GrowbertError(`growbert's native addon ${file} does not load (${first})${gone}: run ${setUp}`);
  }
}

// libtorch's OpenMP threads spin for a while after each parallel region; OpenBLAS, which Debian's
// libtorch uses for float32 matmuls, runs its own pool beside them, and the two spin against each
// other. On 2 threads a mini fp32 step took 1174 ms spinning and 588 ms with OpenMP's threads
// sleeping instead (1 thread: 825 ms); bf16, whose matmuls use OpenMP's pool, lost 3%. libgomp reads
// this when the addon loads it, so it is set before; a user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined)
  process.env.OMP_WAIT_POLICY = 'PASSIVE';

export const native: NativeAddon = loadAddon(findAddon());
