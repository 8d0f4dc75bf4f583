// Fused CPU kernels (native/src/fused*.cc): AdamW in one pass per parameter, dropout's mask from a
// counter-based hash instead of bernoulli_ (libtorch 1.13 draws one Mersenne-twister number per
// element there), the masked-LM loss, and float32 <-> bfloat16 casts. `growbert bench --profile`
// showed each among a step's costs.
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { crossEntropy } from './functional.js';
import { DTYPE_CODE, type DType } from './dtype.js';

const hs = (ts: Tensor[]) => ts.map((t) => t.handle);

/** Whether every tensor is a contiguous CPU float32 one (what the fused kernels take). */
export function fusedApplies(ts: Tensor[]): boolean {
  return native.fusedApplies(hs(ts));
}

/**
 * One AdamW step in place on each parameter, as the multi-tensor form in src/train/optim/adamw.ts
 * computes it (decoupled decay first), in one pass. `bc1`, `bc2`: the bias corrections 1 - beta^t.
 */
export function adamwFused_(
  params: Tensor[],
  grads: Tensor[],
  expAvg: Tensor[],
  expAvgSq: Tensor[],
  o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; bc1: number; bc2: number },
): void {
  native.adamwFused_(hs(params), hs(grads), hs(expAvg), hs(expAvgSq), o);
}

/**
 * Inverted dropout on the CPU with the hashed mask: zeroes with probability p (resolved to
 * 1/65536) and scales the rest by 1/(1-p); differentiable through the multiplication. The mask
 * is float32, so a bfloat16 input gives a float32 result.
 */
export function fastDropout(x: Tensor, p: number): Tensor {
  const mask = Tensor.known(native.dropoutMask(x.handle, p), 'float32', 'cpu');
  try {
    return x.mul(mask);
  } finally {
    mask.dispose();
  }
}

/**
 * x in dtype, as x.to(dtype), differentiable. A CPU float32 <-> bfloat16 cast is one vectorized pass
 * (native/src/fused-cast.cc), bit-identical to libtorch's and ~10x faster on one thread; other casts
 * are libtorch's.
 */
export function fastCast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const pair = (x.dtype === 'float32' && dtype === 'bfloat16') || (x.dtype === 'bfloat16' && dtype === 'float32');
  if (pair && x.device === 'cpu') return new Tensor(native.fusedCast(x.handle, DTYPE_CODE[dtype]));
  return x.to(dtype);
}

/**
 * Mean cross entropy of logits [N, V] against labels [N] (int64; `ignoreIndex` rows skipped), as
 * crossEntropy computes it. On the CPU, for float32 and bfloat16 logits, one fused kernel
 * (native/src/fused-loss.cc) computes the loss and its gradient in one pass per row; elsewhere
 * libtorch's log_softmax and nll_loss. The loss is float32.
 */
export function fusedCrossEntropy(logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor {
  if (logits.device === 'cpu' && (logits.dtype === 'float32' || logits.dtype === 'bfloat16') && logits.ndim === 2)
    return new Tensor(native.fusedCrossEntropy(logits.handle, labels.handle, ignoreIndex));
  return crossEntropy(logits.dtype === 'bfloat16' ? logits.float() : logits, labels, { ignoreIndex });
}
