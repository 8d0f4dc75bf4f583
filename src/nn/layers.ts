// The building blocks BERT needs: Linear, LowRankLinear, LayerNorm, Embedding.
//
// Precision: a Linear computes in the dtype of its input. Give it bfloat16 activations and it
// casts its float32 (master) weights to bfloat16 for the matmul; the cast is differentiable, so
// gradients land on the float32 parameters. LayerNorm always computes in (and returns) float32.
import { embedding, fastCast, layerNorm, linear, type DType, type Tensor } from '../tensor/index.js';
import { initTensor, normal, ones, zeros, type InitOptions } from './init.js';
import { Module } from './module.js';

/** x in dtype (no-op when it already is); float32 <-> bfloat16 on the CPU by the fused pass. */
export function cast(x: Tensor, dtype: DType): Tensor {
  return fastCast(x, dtype);
}

export interface LinearOptions extends InitOptions {
  bias?: boolean;
  /** std of the normal init of the weight (default 0.02, BERT's initializer_range) */
  std?: number;
}

/** y = x W^T + b with W [out, in], as torch.nn.Linear. Parameters: weight, bias. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: LinearOptions = {},
  ) {
    super();
    this.weight = this.param('weight', initTensor([outFeatures, inFeatures], normal(o.std ?? 0.02), o));
    this.bias = o.bias === false ? null : this.param('bias', initTensor([outFeatures], zeros, o));
  }
  forward(x: Tensor): Tensor {
    return linear(x, cast(this.weight, x.dtype), this.bias && cast(this.bias, x.dtype));
  }
}

/**
 * A rank-r factorized linear map, W = B·A (A [r, in], B [out, r]), plus a bias. Parameters:
 * lowrank_a.weight, lowrank_b.weight, bias. Each factor is drawn with variance std/sqrt(r) so that
 * the entries of B·A have standard deviation `std`, as a dense layer's would.
 */
export class LowRankLinear extends Module {
  readonly lowrank_a: Linear;
  readonly lowrank_b: Linear;
  readonly bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly rank: number,
    o: LinearOptions = {},
  ) {
    super();
    const std = Math.sqrt((o.std ?? 0.02) / Math.sqrt(rank));
    this.lowrank_a = this.child('lowrank_a', new Linear(inFeatures, rank, { ...o, bias: false, std }));
    this.lowrank_b = this.child('lowrank_b', new Linear(rank, outFeatures, { ...o, bias: false, std }));
    this.bias = o.bias === false ? null : this.param('bias', initTensor([outFeatures], zeros, o));
  }
  forward(x: Tensor): Tensor {
    const y = this.lowrank_b.forward(this.lowrank_a.forward(x));
    return this.bias ? y.add(cast(this.bias, y.dtype)) : y;
  }
  /** The dense weight B·A [out, in] (a new tensor, on the autograd graph). */
  denseWeight(): Tensor {
    return this.lowrank_b.weight.matmul(this.lowrank_a.weight);
  }
}

export interface LayerNormOptions extends InitOptions {
  eps?: number;
}

/** LayerNorm over the last dim; weight 1, bias 0 at init. Computes in float32. */
export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly eps: number;
  constructor(
    readonly dim: number,
    o: LayerNormOptions = {},
  ) {
    super();
    this.eps = o.eps ?? 1e-5;
    this.weight = this.param('weight', initTensor([dim], ones, o));
    this.bias = this.param('bias', initTensor([dim], zeros, o));
  }
  forward(x: Tensor): Tensor {
    return layerNorm(cast(x, 'float32'), [this.dim], this.weight, this.bias, this.eps);
  }
}

export interface EmbeddingOptions extends InitOptions {
  std?: number;
}

/** A lookup table [num, dim], normal(0, std) at init (no special padding row). Parameter: weight. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(
    readonly num: number,
    readonly dim: number,
    o: EmbeddingOptions = {},
  ) {
    super();
    this.weight = this.param('weight', initTensor([num, dim], normal(o.std ?? 0.02), o));
  }
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}
