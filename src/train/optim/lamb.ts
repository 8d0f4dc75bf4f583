/**
 * LAMB (You et al., "Large Batch Optimization for Deep Learning", 2019): Adam's direction plus
 * decoupled decay, rescaled per tensor by the trust ratio ||w|| / ||update||:
 *   m, v as in Adam;  r = m_hat / (sqrt(v_hat) + eps) + wd * w
 *   ratio = clamp(||w|| / ||r||, 0, maxTrustRatio), or 1 when either norm is 0
 *   w <- w - lr * ratio * r
 * As in the paper's BERT setup (and NVIDIA's / TF-Addons' implementations), biases and LayerNorm
 * parameters (those `decayFilter` rejects) get neither weight decay nor the trust ratio: they take
 * the plain Adam step. Note eps sits outside the bias-corrected sqrt(v) here (the paper's form),
 * unlike AdamW above where it is added to sqrt(v)/sqrt(bc2) — the same thing written differently.
 *
 * maxTrustRatio (default 10) bounds the step of tensors whose update is tiny compared to their
 * weights (e.g. right after growth, when new rows have near-zero moments); Infinity disables it.
 */
import { GrowbertError } from '../../io/errors.js';
import { foreach, gradsOf, noGrad, stack, tidy, where, type Tensor } from '../../tensor/index.js';
import { Optimizer, type OptimizerOptions, type ParamGroup } from './optimizer.js';

export interface LambOptions extends OptimizerOptions {
  maxTrustRatio?: number;
}

export class Lamb extends Optimizer {
  readonly type = 'lamb';
  readonly slotNames = ['exp_avg', 'exp_avg_sq'] as const;
  readonly maxTrustRatio: number;

  constructor(params: ReadonlyMap<string, Tensor>, o: LambOptions = {}) {
    super(params, o, { eps: 1e-6 });
    this.maxTrustRatio = o.maxTrustRatio ?? 10;
    if (!(this.maxTrustRatio > 0))
      throw new GrowbertError(`Lamb: maxTrustRatio must be positive, got ${this.maxTrustRatio}`);
    this.initSlots();
  }

  protected override extraMeta(): Record<string, unknown> {
    return { maxTrustRatio: this.maxTrustRatio };
  }

  protected update(group: ParamGroup, lr: number): number[] {
    return tidy(() => noGrad(() => this.updateGroup(group, lr)));
  }

  private updateGroup(group: ParamGroup, lr: number): number[] {
    const g = withGrads(group);
    if (g.skipped.length === group.params.length) return g.skipped;
    const [b1, b2] = this.betas;
    const [m, v] = g.slots;
    foreach.mul_(m, b1);
    foreach.add_(m, g.grads, 1 - b1);
    foreach.mul_(v, b2);
    foreach.addcmul_(v, g.grads, g.grads, 1 - b2);
    const [bc1, bc2] = this.biasCorrections(g.step);
    // Everything below allocates temporaries only; the tidy() around update() frees them.
    const denom = foreach.sqrt(v);
    foreach.div_(denom, Math.sqrt(bc2));
    foreach.add_(denom, this.eps);
    const upd = foreach.clone(m);
    foreach.div_(upd, denom);
    foreach.mul_(upd, 1 / bc1);
    if (g.decay) {
      if (this.weightDecay > 0) foreach.add_(upd, g.params, this.weightDecay);
      // Per-tensor norms in two native calls, the ratios in a few vector ops, then one broadcast
      // multiply per tensor through a single foreach call.
      const w = stack(foreach.norm(g.params));
      const u = stack(foreach.norm(upd));
      const ok = w.gt(0).logicalAnd(u.gt(0));
      const ratio = where(ok, w.div(u), 1).clamp(0, this.maxTrustRatio);
      foreach.mul_(upd, ratio.split(1));
    }
    foreach.add_(g.params, upd, -lr);
    return g.skipped;
  }
}

/** The group's parameters that have a gradient, with their gradients (one native call), and the indices of the rest. */
function withGrads(g: ParamGroup): {
  params: Tensor[];
  grads: Tensor[];
  slots: Tensor[][];
  decay: boolean;
  step: number;
  skipped: number[];
} {
  const all = gradsOf(g.params);
  const keep = all.flatMap((x, i) => (x ? [i] : []));
  return {
    params: keep.map((i) => g.params[i]),
    grads: keep.map((i) => all[i]!),
    slots: g.slots.map((s) => keep.map((i) => s[i])),
    decay: g.decay,
    step: g.step,
    skipped: all.flatMap((x, i) => (x ? [] : [i])),
  };
}
