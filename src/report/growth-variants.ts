// The growth-step experiment's variants: the ways of growing (or not) that it compares. One list
// per form of the experiment: growing compound's first stage (VARIANTS, issue 10) and growing the
// hidden size (HIDDEN_VARIANTS, issue 30). src/report/growth-step.ts runs them.
import type { HiddenOp, OptimizerPolicy } from '../grow/index.js';
import type { LrHorizon } from '../schedule/schedule.js';

/** One way of growing (or not: the control). Fields left out are the base variant's. */
export interface Variant {
  name: string;
  what: string;
  noise?: number;
  horizon?: LrHorizon;
  optimizer?: OptimizerPolicy;
  /** the hidden-size operator (when the small model is narrower) */
  hidden?: HiddenOp;
  /** grow depth first (keeping FFN/4 and pooling) for half the steps, then the rest */
  staged?: boolean;
  /** no growth: the small model continues for the grown model's wall-clock (or FLOPs) */
  control?: boolean;
}

export const BASE: Required<Omit<Variant, 'name' | 'what' | 'control'>> = {
  noise: 0.01,
  horizon: 'run',
  optimizer: 'map',
  staged: false,
  hidden: 'fpi',
};

export const VARIANTS: Variant[] = [
  { name: 'base', what: `one jump, noise ${BASE.noise}, horizon ${BASE.horizon}, optimizer ${BASE.optimizer}` },
  { name: 'noise-0', what: 'no symmetry breaking', noise: 0 },
  { name: 'noise-0.1', what: 'noise 0.1', noise: 0.1 },
  { name: 'noise-1', what: 'noise 1 (as large as the weights)', noise: 1 },
  { name: 'horizon-stage', what: 'decay to 0 at the stage end', horizon: 'stage' },
  { name: 'horizon-none', what: 'constant after warmup', horizon: 'none' },
  { name: 'opt-reset', what: 'fresh optimizer (authors)', optimizer: 'reset' },
  { name: 'opt-grad', what: 'moments by the gradient map', optimizer: 'grad' },
  { name: 'staged', what: 'depth first (half the steps), then FFN and length', staged: true },
  { name: 'small-continued', what: 'no growth: the small model, same wall-clock', control: true },
];

/**
 * The hidden-size experiment (issue 30; docs/results/cpu-hidden-growth/): the small model is the
 * target but narrower (an uneven width, e.g. 96 -> 128), grown by LEMON's average expansion or by
 * fpi, with the LR horizons beside; the control is equalised by FLOPs.
 */
const H = { noise: 0.1, optimizer: 'map' as const, staged: false };
export const HIDDEN_VARIANTS: Variant[] = [
  { name: 'lemon', what: "hidden=lemon, horizon stage (the presets' LR)", hidden: 'lemon', horizon: 'stage', ...H },
  { name: 'fpi', what: 'hidden=fpi (uneven duplication), horizon stage', hidden: 'fpi', horizon: 'stage', ...H },
  {
    name: 'lemon-lr',
    what: 'hidden=lemon, horizon lemon (peak at once, to 0 at the end)',
    hidden: 'lemon',
    horizon: 'lemon',
    ...H,
  },
  { name: 'lemon-run', what: 'hidden=lemon, horizon run', hidden: 'lemon', horizon: 'run', ...H },
  { name: 'lemon-none', what: 'hidden=lemon, horizon none (constant)', hidden: 'lemon', horizon: 'none', ...H },
  {
    name: 'lemon-noise-0',
    what: 'hidden=lemon without symmetry breaking',
    hidden: 'lemon',
    horizon: 'stage',
    ...H,
    noise: 0,
  },
  { name: 'small-continued', what: 'no growth: the small model, same FLOPs', control: true, horizon: 'stage' },
];
