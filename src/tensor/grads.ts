// Whole parameter lists in one native call each (native/src/optim.cc): reading, clearing and
// clipping gradients and the AdamW update. A training step used to make four native calls per
// parameter for these; now it makes four in all. Frozen lists (an optimizer's groups) keep their
// handle arrays, so a step does no JavaScript work per parameter either.
import { native, type NativeHandle } from './native.js';
import { Tensor } from './tensor.js';

const cache = new WeakMap<readonly Tensor[], NativeHandle[]>();

/** The native handles of ts; remembered for a frozen array (Object.freeze), which cannot change. */
export function handleList(ts: readonly Tensor[]): NativeHandle[] {
  const hit = cache.get(ts);
  if (hit) return hit;
  const hs = ts.map((t) => t.handle);
  if (Object.isFrozen(ts)) cache.set(ts, hs);
  return hs;
}

/** Each parameter's gradient (a new handle on the same memory), or null: one native call. */
export function gradsOf(params: readonly Tensor[]): (Tensor | null)[] {
  return native.gradsOf(handleList(params)).map((g) => (g ? new Tensor(g) : null));
}

/** Drops every parameter's gradient, as `p.grad = null` on each. */
export function clearGrads(params: readonly Tensor[]): void {
  native.clearGrads(handleList(params));
}

/**
 * The global L2 norm of the parameters' gradients (0 without any); when it is finite and above
 * maxNorm, scales them in place by maxNorm / (norm + 1e-6), as PyTorch's clip_grad_norm_.
 */
export function clipGradNorm_(params: readonly Tensor[], maxNorm: number): number {
  return native.clipGradNorm_(handleList(params), maxNorm);
}

/**
 * Which kernel an AdamW step uses: 'auto' picks growbert's on contiguous CPU float32, else
 * libtorch's fused one, else _foreach_ ops.
 */
export type AdamwImpl = 'auto' | 'growbert' | 'torch' | 'foreach';

export type AdamwHyper = {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** the bias corrections 1 - beta^t (1 without bias correction) */
  bc1: number;
  bc2: number;
  /** t, the step count after this update, when bias correction is on (libtorch's fused kernel needs it); else 0 */
  step: number;
  impl?: AdamwImpl;
};

/**
 * One AdamW update in place of every parameter that has a gradient (decoupled decay first, as
 * src/train/optim/adamw.ts describes); returns the indices of those without one, left as they were.
 */
export function adamwStep_(
  params: readonly Tensor[],
  expAvg: readonly Tensor[],
  expAvgSq: readonly Tensor[],
  h: AdamwHyper,
): number[] {
  return native.adamwStep_(handleList(params), handleList(expAvg), handleList(expAvgSq), h);
}
