// Process-wide engine settings: gradient mode, seeds, threads, devices, versions.
import { native } from './native.js';
import { Tensor } from './tensor.js';
import type { Generator } from './creation.js';
import type { Device } from './dtype.js';

/** Runs fn with gradient recording off (restored afterwards, also on throw). */
export function noGrad<T>(fn: () => T): T {
  const prev: boolean = native.isGradEnabled();
  native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}
export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/** Seeds the global CPU (and CUDA) generators: same seed, same bits on the CPU. */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}
/** A copy of a generator's state (the global one of `device` unless a Generator is given). */
export function getRngState(source: Device | Generator = 'cpu'): Tensor {
  return new Tensor(typeof source === 'string' ? native.getRngState(source) : native.getRngState(source.handle));
}
export function setRngState(state: Tensor, target: Device | Generator = 'cpu'): void {
  if (typeof target === 'string') native.setRngState(state.handle, target);
  else native.setRngState(state.handle, target.handle);
}

/**
 * libtorch's intra-op threads, and the BLAS library's own pool (OpenBLAS sizes it apart from
 * libtorch, to every core): kept equal, so one thread means one thread; a BLAS pool larger than
 * libtorch's spins idle workers against it (measured: a step at one thread cost 25% more CPU).
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setNumThreads: need a positive integer, got ${n}`);
  native.setNumThreads(n);
  native.blasThreads(n);
}
/** Threads of the BLAS library's own pool (OpenBLAS), or -1 where the BLAS has none to report. */
export function getBlasThreads(): number {
  return native.blasThreads();
}
export function getNumThreads(): number {
  return native.getNumThreads();
}

export const cuda = {
  isAvailable(): boolean {
    return native.cudaIsAvailable();
  },
  /** Whether the addon was built against a CUDA libtorch (a GPU may still be missing). */
  isBuilt(): boolean {
    return native.cudaBuilt();
  },
  deviceCount(): number {
    return native.cudaDeviceCount();
  },
  /** Blocks until queued work on the device is done (for timing). */
  synchronize(device: Device = 'cuda'): void {
    native.synchronize(device);
  },
};

/** libtorch's version (e.g. "1.13.0"), and whether it has a fused attention kernel. */
export function torchVersion(): string {
  return native.torchVersion();
}
export function hasFusedAttention(): boolean {
  return native.hasNativeSdpa();
}

let retained = 0;
/**
 * Keeps freed tensor memory in malloc's heap for the next step to reuse instead of handing it back
 * to the system and faulting it in again (native/src/perf.cc: 15% of a CPU step on mini). It is
 * process-wide, so trainers hold it only while they train: the returned function releases this
 * hold, and the last release restores glibc's defaults and trims the heap. A no-op off glibc.
 */
export function retainFreedMemory(): () => void {
  if (retained++ === 0) native.retainFreedMemory(true);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--retained === 0) native.retainFreedMemory(false);
  };
}
