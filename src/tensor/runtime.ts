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
export function isGradEnabled(): boolean { return native.isGradEnabled(); }

/** Seeds the global CPU (and CUDA) generators: same seed, same bits on the CPU. */
export function manualSeed(seed: number): void { native.manualSeed(seed); }
/** A copy of a generator's state (the global one of `device` unless a Generator is given). */
export function getRngState(source: Device | Generator = 'cpu'): Tensor {
  return new Tensor(typeof source === 'string' ? native.getRngState(source) : native.getRngState(source.handle));
}
export function setRngState(state: Tensor, target: Device | Generator = 'cpu'): void {
  if (typeof target === 'string') native.setRngState(state.handle, target);
  else native.setRngState(state.handle, target.handle);
}

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setNumThreads: need a positive integer, got ${n}`);
  native.setNumThreads(n);
}
export function getNumThreads(): number { return native.getNumThreads(); }

export const cuda = {
  isAvailable(): boolean { return native.cudaIsAvailable(); },
  deviceCount(): number { return native.cudaDeviceCount(); },
  /** Blocks until queued work on the device is done (for timing). */
  synchronize(device: Device = 'cuda'): void { native.synchronize(device); },
};

/** libtorch's version (e.g. "1.13.0"), and whether it has a fused attention kernel. */
export function torchVersion(): string { return native.torchVersion(); }
export function hasFusedAttention(): boolean { return native.hasNativeSdpa(); }
