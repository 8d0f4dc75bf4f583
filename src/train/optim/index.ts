// Optimizers over named parameters, and gradient utilities.
export {
  Optimizer,
  defaultDecayFilter,
  type OptimizerOptions,
  type OptimizerMeta,
  type LoadStateOptions,
  type ParamGroup,
} from './optimizer.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { Lamb, type LambOptions } from './lamb.js';
export { clipGradNorm, gradNorm, zeroGrad, type ParamSource } from './grad.js';

import type { Tensor } from '../../tensor/index.js';
import { GrowbertError } from '../../io/errors.js';
import { AdamW, type AdamWOptions } from './adamw.js';
import { Lamb, type LambOptions } from './lamb.js';
import type { Optimizer } from './optimizer.js';

/** The optimizers by name: the one list the config schema, the CLI help and createOptimizer read. */
export const OPTIMIZERS = ['adamw', 'lamb'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/**
 * Builds an optimizer by its meta() type (one of OPTIMIZERS): used to rebuild one for a new
 * (e.g. grown) parameter map before loadState() with the mapped state.
 */
export function createOptimizer(
  type: string,
  params: ReadonlyMap<string, Tensor>,
  o: AdamWOptions & LambOptions = {},
): Optimizer {
  if (type === 'adamw') return new AdamW(params, o);
  if (type === 'lamb') return new Lamb(params, o);
  throw new GrowbertError(`unknown optimizer '${type}'; use ${OPTIMIZERS.map((n) => `'${n}'`).join(' or ')}`);
}

/** The optimizer a run's train config names, with its settings, over `params` (a model's or a grown model's). */
export function optimizerFor(
  t: { optimizer: string; lr: number; weightDecay: number; beta1: number; beta2: number; eps: number },
  params: ReadonlyMap<string, Tensor>,
): Optimizer {
  return createOptimizer(t.optimizer, params, {
    lr: t.lr,
    weightDecay: t.weightDecay,
    betas: [t.beta1, t.beta2],
    eps: t.eps,
  });
}
