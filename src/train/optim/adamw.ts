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
import { adamwFused_, foreach, fusedApplies, type Tensor } from '../../tensor/index.js';
import { Optimizer, type OptimizerOptions, type ParamGroup } from './optimizer.js';

export type AdamWOptions = OptimizerOptions;

export class AdamW extends Optimizer {
  readonly type = 'adamw';
  readonly slotNames = ['exp_avg', 'exp_avg_sq'] as const;

  constructor(params: ReadonlyMap<string, Tensor>, o: AdamWOptions = {}) {
    super(params, o, { eps: 1e-6 });
    this.initSlots();
  }

  protected update(g: ParamGroup, lr: number): void {
    const [b1, b2] = this.betas;
    const [m, v] = g.slots;
    // CPU float32 (the usual case): the same update in one pass per parameter instead of eight.
    if (fusedApplies([...g.params, ...g.grads, ...m, ...v])) {
      const [bc1, bc2] = this.biasCorrections(g.step);
      adamwFused_(g.params, g.grads, m, v, {
        lr,
        beta1: b1,
        beta2: b2,
        eps: this.eps,
        weightDecay: g.decay ? this.weightDecay : 0,
        bc1,
        bc2,
      });
      return;
    }
    if (g.decay && this.weightDecay > 0) foreach.mul_(g.params, 1 - lr * this.weightDecay);
    foreach.mul_(m, b1);
    foreach.add_(m, g.grads, 1 - b1);
    foreach.mul_(v, b2);
    foreach.addcmul_(v, g.grads, g.grads, 1 - b2);
    const [bc1, bc2] = this.biasCorrections(g.step);
    const denom = foreach.sqrt(v); // freed by the tidy() around update()
    foreach.div_(denom, Math.sqrt(bc2));
    foreach.add_(denom, this.eps);
    foreach.addcdiv_(g.params, m, denom, -lr / bc1);
  }
}
