// Growth operators: a small BERT (and its optimizer state) -> a bigger one. docs/operators.md.
export {
  DEFAULT_NOISE,
  grow,
  parseOps,
  growDepth,
  growFfn,
  growHidden,
  growLength,
  type GrowTarget,
  type GrowOps,
  type OpOptions,
} from './grow.js';
export { checkPreservation, type PreservationReport } from './preserve.js';
export { DEPTH_OPS, depthMap, type DepthOp, type DepthOptions } from './depth.js';
export { FFN_OPS, type FfnOp } from './ffn.js';
export { HIDDEN_OPS, type HiddenOp } from './hidden.js';
export {
  OPTIMIZER_POLICIES,
  type GrowSource,
  type GrowResult,
  type OptimizerPolicy,
  type ParamState,
} from './stage.js';
