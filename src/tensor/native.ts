// Loads the compiled addon (build/growbert.node). The addon is mechanical: every op takes native
// handles and plain values and returns handles; src/tensor/ gives it ergonomics. Its functions
// are declared once, in native-api.ts, which types them here and checks their arguments in C++.
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
function findAddon(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = process.env.GROWBERT_BUILD_DIR || 'build';
  // dist/src/tensor -> repo root, or src/tensor when run from sources.
  for (const up of ['../../..', '../..']) {
    const p = path.resolve(here, up, dir, 'growbert.node');
    if (fs.existsSync(p)) return p;
  }
  throw new GrowbertError(`growbert native addon not built (${dir}/growbert.node missing): run \`npm run setup\``);
}

// libtorch's OpenMP threads spin for a while after each parallel region; OpenBLAS, which Debian's
// libtorch uses for float32 matmuls, runs its own pool beside them, and the two spin against each
// other. On 2 threads a mini fp32 step took 1174 ms spinning and 588 ms with OpenMP's threads
// sleeping instead (1 thread: 825 ms); bf16, whose matmuls use OpenMP's pool, lost 3%. libgomp reads
// this when the addon loads it, so it is set before; a user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined)
  process.env.OMP_WAIT_POLICY = 'PASSIVE';

const require = createRequire(import.meta.url);

// A failed load (libtorch's libraries gone from a damaged .venv, an addon built for another Node)
// is one line naming the cause and the fix, for the CLI (bin/growbert.js prints it) and for a
// library user alike, not the loader's stack.
function loadAddon(): NativeAddon {
  const file = findAddon();
  try {
    return require(file) as NativeAddon;
  } catch (e) {
    const why = String((e as Error).message)
      .split('\n')[0]!
      .replace(`${file}: `, '');
    throw new GrowbertError(
      `cannot load the native addon ${file}: ${why}; run \`npm run setup\` in the growbert folder (it checks libtorch and repairs a damaged .venv)`,
    );
  }
}
export const native: NativeAddon = loadAddon();
