// Ops over several tensors, and the neural-network functions, as free functions.
import { native } from './native.js';
import { fastDropout } from './fused.js';
import { Tensor, type TensorOrScalar } from './tensor.js';

const hs = (ts: Tensor[]) => ts.map((t) => t.handle);
const wrapAll = (xs: unknown[]) => xs.map((x) => new Tensor(x as Tensor['handle']));

export function cat(ts: Tensor[], dim = 0): Tensor {
  return new Tensor(native.cat(hs(ts), dim));
}
export function stack(ts: Tensor[], dim = 0): Tensor {
  return new Tensor(native.stack(hs(ts), dim));
}
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return new Tensor(native.where(cond.handle, a instanceof Tensor ? a.handle : a, b instanceof Tensor ? b.handle : b));
}
/** x W^T + b, as torch.nn.functional.linear (W is [out, in]). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return x.alike(native.linear(x.handle, weight.handle, bias?.handle));
}
/** beta * input + alpha * (a @ b) */
export function addmm(input: Tensor, a: Tensor, b: Tensor, beta = 1, alpha = 1): Tensor {
  return new Tensor(native.addmm(input.handle, a.handle, b.handle, beta, alpha));
}
export function outer(a: Tensor, b: Tensor): Tensor {
  return new Tensor(native.outer(a.handle, b.handle));
}
export function layerNorm(
  x: Tensor,
  normalizedShape: number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  return x.alike(native.layerNorm(x.handle, normalizedShape, weight?.handle, bias?.handle, eps));
}
/**
 * Inverted dropout: zeroes with probability p and scales the rest by 1/(1-p) when training. On
 * the CPU the mask comes from fastDropout (fused.ts; float32, so bfloat16 in gives float32 out).
 */
export function dropout(x: Tensor, p: number, training = true): Tensor {
  if (training && p > 0 && p < 1 && x.device === 'cpu' && x.dtype !== 'float64') return fastDropout(x, p);
  return x.alike(native.dropout(x.handle, p, training));
}
/** Rows of weight at indices; paddingIdx's row gets no gradient. Out-of-range ids are an error. */
export function embedding(weight: Tensor, indices: Tensor, paddingIdx = -1): Tensor {
  return weight.alike(native.embedding(weight.handle, indices.handle, paddingIdx));
}

export type Reduction = 'none' | 'mean' | 'sum';
/** at::Reduction codes, from the addon */
const REDUCTION = native.reductionCodes;
export interface CrossEntropyOptions {
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
  weight?: Tensor;
}
/** Cross entropy of logits [N, C] against class indices [N] (int64). */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  return new Tensor(
    native.crossEntropy(
      logits.handle,
      target.handle,
      REDUCTION[o.reduction ?? 'mean'],
      o.ignoreIndex ?? -100,
      o.labelSmoothing ?? 0,
      o.weight?.handle,
    ),
  );
}
export function nllLoss(logProbs: Tensor, target: Tensor, o: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  return new Tensor(
    native.nllLoss(
      logProbs.handle,
      target.handle,
      REDUCTION[o.reduction ?? 'mean'],
      o.ignoreIndex ?? -100,
      o.weight?.handle,
    ),
  );
}
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return new Tensor(native.mseLoss(input.handle, target.handle, REDUCTION[reduction]));
}

export interface AttentionOptions {
  /** bool (true = attend) or additive float, broadcastable to [..., Lq, Lk] */
  mask?: Tensor | null;
  dropout?: number;
  causal?: boolean;
  scale?: number;
}
/**
 * softmax(q k^T * scale + mask) v, q [..., Lq, D], k/v [..., Lk, D]. libtorch's fused kernel on
 * 2.1+, explicit math on older versions (same result up to rounding).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor {
  return q.alike(
    native.scaledDotProductAttention(
      q.handle,
      k.handle,
      v.handle,
      o.mask?.handle,
      o.dropout ?? 0,
      o.causal ?? false,
      o.scale,
    ),
  );
}
/** The explicit-math attention, always (for testing the fused path against it). */
export function attentionMath(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor {
  return q.alike(
    native.sdpaMath(q.handle, k.handle, v.handle, o.mask?.handle, o.dropout ?? 0, o.causal ?? false, o.scale),
  );
}
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return new Tensor(native.oneHot(indices.handle, numClasses));
}
export function bincount(indices: Tensor, minLength = 0): Tensor {
  return new Tensor(native.bincount(indices.handle, minLength));
}

// ---- Multi-tensor (_foreach_) in-place ops: one native call per parameter list ----------------
export const foreach = {
  add_(xs: Tensor[], other: Tensor[] | number, alpha?: number): void {
    native.foreachAdd_(hs(xs), typeof other === 'number' ? other : hs(other), alpha);
  },
  mul_(xs: Tensor[], other: Tensor[] | number): void {
    native.foreachMul_(hs(xs), typeof other === 'number' ? other : hs(other));
  },
  div_(xs: Tensor[], other: Tensor[] | number): void {
    native.foreachDiv_(hs(xs), typeof other === 'number' ? other : hs(other));
  },
  addcmul_(xs: Tensor[], t1: Tensor[], t2: Tensor[], value = 1): void {
    native.foreachAddcmul_(hs(xs), hs(t1), hs(t2), value);
  },
  addcdiv_(xs: Tensor[], t1: Tensor[], t2: Tensor[], value = 1): void {
    native.foreachAddcdiv_(hs(xs), hs(t1), hs(t2), value);
  },
  lerp_(xs: Tensor[], ends: Tensor[], weight: number): void {
    native.foreachLerp_(hs(xs), hs(ends), weight);
  },
  zero_(xs: Tensor[]): void {
    native.foreachZero_(hs(xs));
  },
  copy_(xs: Tensor[], src: Tensor[]): void {
    native.foreachCopy_(hs(xs), hs(src));
  },
  sqrt(xs: Tensor[]): Tensor[] {
    return wrapAll(native.foreachSqrt(hs(xs)));
  },
  norm(xs: Tensor[], p = 2): Tensor[] {
    return wrapAll(native.foreachNorm(hs(xs), p));
  },
  clone(xs: Tensor[]): Tensor[] {
    return wrapAll(native.foreachClone(hs(xs)));
  },
};
