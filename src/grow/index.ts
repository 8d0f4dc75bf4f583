// Growth operators: a small BERT (and its optimizer state) -> a bigger one. docs/operators.md.
export { DEFAULT_NOISE, grow, parseOps, growDepth, growFfn, growHidden, growLength, type GrowTarget, type GrowOps, type OpOptions } from './grow.js';
export { checkPreservation, type PreservationReport } from './preserve.js';
export { depthMap, type DepthOp, type DepthOptions } from './depth.js';
export type { FfnOp } from './ffn.js';
export type { HiddenOp } from './hidden.js';
export type { GrowSource, GrowResult, OptimizerPolicy, ParamState } from './stage.js';
