// Loads the compiled addon (build/growbert.node). The addon is mechanical: every op takes native
// handles and plain values and returns handles; src/tensor/ gives it types and ergonomics.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** An opaque native handle owning one libtorch tensor. */
export interface NativeHandle {
  dispose(): void;
  isDisposed(): boolean;
}
/** An opaque seeded random generator. */
export type NativeGenerator = { readonly __generator: unique symbol };

// The addon's functions are typed at the call sites in src/tensor/; here they are just functions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeAddon = Record<string, (...args: any[]) => any> & { NativeTensor: new () => NativeHandle };

function findAddon(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/src/tensor -> repo root, or src/tensor when run from sources.
  for (const up of ['../../..', '../..']) {
    const p = path.resolve(here, up, 'build', 'growbert.node');
    if (fs.existsSync(p)) return p;
  }
  throw new Error('growbert native addon not built (build/growbert.node missing): run `npm run setup`');
}

const require = createRequire(import.meta.url);
export const native: NativeAddon = require(findAddon());
