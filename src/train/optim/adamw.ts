/**
 * AdamW (Loshchilov & Hutter), numerically as PyTorch's multi-tensor `torch.optim.AdamW`:
 *   p <- p * (1 - lr * wd)                      (decoupled decay, only where decays(name))
 *   m <- beta1 m + (1 - beta1) g
 *   v <- beta2 v + (1 - beta2) g^2
 *   p <- p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),  bc_i = 1 - beta_i^t (t per parameter)
 * Hugging Face's old AdamW decays after the update instead of before; the difference is of order
 * lr^2 * wd and we follow PyTorch.
 *
 * eps defaults to 1e-6, BERT's value (google-research/bert optimization.py, which the growth
 * paper's code builds on); PyTorch and Hugging Face default to 1e-8. Pass `eps: 1e-8` to match those.
 */
import { adamwStep_, type AdamwImpl, type Tensor } from '../../tensor/index.js';
import { Optimizer, type OptimizerOptions, type ParamGroup } from './optimizer.js';

export interface AdamWOptions extends OptimizerOptions {
  /**
   * The kernel (src/tensor/grads.ts): 'auto' (default) is growbert's one-pass kernel on contiguous
   * CPU float32, libtorch's _fused_adamw_ elsewhere where it has one, else the multi-tensor ops.
   */
  impl?: AdamwImpl;
}

export class AdamW extends Optimizer {
  readonly type = 'adamw';
  readonly slotNames = ['exp_avg', 'exp_avg_sq'] as const;
  readonly impl: AdamwImpl;

  constructor(params: ReadonlyMap<string, Tensor>, o: AdamWOptions = {}) {
    super(params, o, { eps: 1e-6 });
    this.impl = o.impl ?? 'auto';
    this.initSlots();
  }

  /** One native call for the whole group (the update written out above). */
  protected update(g: ParamGroup, lr: number): number[] {
    const [bc1, bc2] = this.biasCorrections(g.step);
    return adamwStep_(g.params, g.slots[0], g.slots[1], {
      lr,
      beta1: this.betas[0],
      beta2: this.betas[1],
      eps: this.eps,
      weightDecay: g.decay ? this.weightDecay : 0,
      bc1,
      bc2,
      step: this.biasCorrection ? g.step : 0,
      impl: this.impl,
    });
  }
}
