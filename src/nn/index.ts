// Building blocks: modules with named parameters, layers, initialisation.
export { Module, type LoadResult } from './module.js';
export {
  Linear,
  LowRankLinear,
  LayerNorm,
  Embedding,
  cast,
  type LinearOptions,
  type LayerNormOptions,
  type EmbeddingOptions,
} from './layers.js';
export { initTensor, normal, zeros, ones, type Init, type InitOptions } from './init.js';
export type { OptimizerMeta } from './optim-state.js';
