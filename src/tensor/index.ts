// The tensor engine's public surface.
export { Tensor, type Scalar, type TensorOrScalar } from './tensor.js';
export * from './creation.js';
export * from './functional.js';
export * from './runtime.js';
export { tidy, keep, dispose, memory, type Disposable } from './memory.js';
export * from './dtype.js';
export { saveSafetensors, loadSafetensors } from './serialize.js';
export {
  nativeCalls,
  profileOps,
  recordPhases,
  stepPhase,
  threadCpuMs,
  STEP_PHASES,
  type OpProfile,
  type OpTime,
  type PhaseStat,
  type StepPhase,
} from './profile.js';
export {
  PRECISION_SETTINGS,
  choosePrecision,
  cpuBf16Flags,
  cudaCapability,
  type Precision,
  type PrecisionChoice,
  type PrecisionSetting,
} from './precision.js';
export {
  adamwStep_,
  clearGrads,
  clipGradNorm_,
  gradsOf,
  handleList,
  type AdamwHyper,
  type AdamwImpl,
} from './grads.js';
export { adamwFused_, fastCast, fastDropout, fusedApplies, fusedCrossEntropy } from './fused.js';
