/**
 * Gradient utilities: global-norm clipping, clearing, and accumulation over micro-batches.
 *
 * Accumulation pattern (what `accumulateGradients` does): for N micro-batches, run forward,
 * scale the loss by 1/N and call backward() each time — libtorch adds into .grad — then clip and
 * take ONE optimizer step, then zeroGrad(). With the loss a per-token mean, this equals the
 * full-batch gradient only when every micro-batch has the same number of masked tokens; pass
 * per-micro-batch weights (e.g. masked-token counts) to get the exact token mean otherwise.
 */
import { foreach, noGrad, stack, tidy, type Tensor } from '../../tensor/index.js';

export type ParamSource = ReadonlyMap<string, Tensor> | Iterable<Tensor>;
const list = (ps: ParamSource): Tensor[] => [...(ps instanceof Map ? ps.values() : (ps as Iterable<Tensor>))];

/**
 * Clears gradients by setting them to null (not zero_()): backward then writes fresh gradients
 * instead of adding into zeros, no memory is held between steps, and the optimizer can tell a
 * parameter that got no gradient (skipped, step not advanced) from one whose gradient is zero.
 */
export function zeroGrad(params: ParamSource): void {
  for (const p of list(params)) p.grad = null;
}

/**
 * Scales all gradients in place so their global L2 norm is at most maxNorm (as PyTorch's
 * clip_grad_norm_: factor maxNorm / (norm + 1e-6), applied only when below 1) and returns the
 * norm before clipping. One foreach.norm over the gradients, then a stack and a norm.
 * A non-finite norm (inf/NaN gradient) is returned WITHOUT scaling, so the caller can skip the
 * step (e.g. on fp16 overflow) instead of spreading NaN into every gradient.
 */
export function clipGradNorm(params: ParamSource, maxNorm: number): number {
  return tidy(() => noGrad(() => {
    const grads = list(params).map((p) => p.grad).filter((g): g is Tensor => g !== null);
    if (grads.length === 0) return 0;
    const norms = foreach.norm(grads);
    const total = (norms.length === 1 ? norms[0] : stack(norms).norm()).item();
    if (Number.isFinite(total) && total > maxNorm) foreach.mul_(grads, maxNorm / (total + 1e-6));
    return total;
  }));
}

/** The global L2 norm of the gradients without changing them. */
export function gradNorm(params: ParamSource): number {
  return clipGradNorm(params, Infinity);
}

/**
 * Runs `forward(i)` for i = 0..n-1; each returns a scalar loss, which is scaled and
 * back-propagated so the accumulated gradient is that of the weighted mean loss
 * sum_i w_i loss_i / sum_i w_i (weights default to 1: the plain mean). Each micro-batch runs in
 * its own tidy() scope so activations are freed before the next. Returns the weighted mean loss.
 * Gradients ADD to what is already in .grad: call zeroGrad() after the optimizer step.
 */
export function accumulateGradients(n: number, forward: (i: number) => Tensor, weights?: readonly number[]): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`accumulateGradients: need n >= 1 micro-batches, got ${n}`);
  if (weights && weights.length !== n) throw new Error(`accumulateGradients: ${weights.length} weights for ${n} micro-batches`);
  const w = weights ?? Array<number>(n).fill(1);
  const total = w.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error('accumulateGradients: weights must sum to a positive number');
  let mean = 0;
  for (let i = 0; i < n; i++) {
    mean += tidy(() => {
      const loss = forward(i);
      loss.mul(w[i] / total).backward();
      return loss.item() * (w[i] / total);
    });
  }
  return mean;
}
