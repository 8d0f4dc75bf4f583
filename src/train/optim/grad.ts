/**
 * Gradient utilities: global-norm clipping and clearing. Accumulation over micro-batches is the
 * training step's (src/train/step.ts: each loss weighted by its share of the prediction targets).
 */
import { clearGrads, clipGradNorm_, type Tensor } from '../../tensor/index.js';

export type ParamSource = ReadonlyMap<string, Tensor> | Iterable<Tensor>;
// An array is passed as it is: a frozen one (Optimizer.paramList) keeps its native handles.
const list = (ps: ParamSource): readonly Tensor[] =>
  Array.isArray(ps) ? ps : [...(ps instanceof Map ? ps.values() : (ps as Iterable<Tensor>))];

/**
 * Clears gradients by setting them to null (not zero_()): backward then writes fresh gradients
 * instead of adding into zeros, no memory is held between steps, and the optimizer can tell a
 * parameter that got no gradient (skipped, step not advanced) from one whose gradient is zero.
 */
export function zeroGrad(params: ParamSource): void {
  clearGrads(list(params));
}

/**
 * Scales all gradients in place so their global L2 norm is at most maxNorm (as PyTorch's
 * clip_grad_norm_: factor maxNorm / (norm + 1e-6), applied only when below 1) and returns the
 * norm before clipping, in one native call (a _foreach_norm, and a _foreach_mul_ when it scales).
 * A non-finite norm (inf/NaN gradient) is returned WITHOUT scaling, so the caller can skip the
 * step (e.g. on fp16 overflow) instead of spreading NaN into every gradient.
 */
export function clipGradNorm(params: ParamSource, maxNorm: number): number {
  return clipGradNorm_(list(params), maxNorm);
}

/** The global L2 norm of the gradients without changing them. */
export function gradNorm(params: ParamSource): number {
  return clipGradNorm(params, Infinity);
}
