// The JSON-able half of an optimizer's checkpointed state. It lives here, below growth, because
// growth carries it from the source model to the grown one (src/grow/stage.ts) and must not import
// train/, where the optimizers that write it are.
/** JSON-able scalars of an optimizer, stored beside `state()` in a checkpoint. */
export interface OptimizerMeta {
  type: string;
  /** Number of `step()` calls made (the global step, independent of the per-parameter counts). */
  step: number;
  lr: number;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  biasCorrection: boolean;
  [extra: string]: unknown;
}
