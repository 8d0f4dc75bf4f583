// The model family: config schema and presets (config.ts), the builder (bert.ts, with the
// pre-LN variant's layer in prenorm.ts), the parameter layout growth reads (family.ts), the
// Hugging Face name adapter (hf-names.ts), and the low-cost-stage helpers.
export * from './config.js';
export {
  BertForMaskedLM,
  gatherPositions,
  type EncoderLayer,
  type MaskedLMBatch,
  type ForwardOptions,
  type MaskedLMOutput,
  type ModelOptions,
} from './bert.js';
export { meanPool, pooledLength, unmaskedStream } from './pooling.js';
export type { MaskedLM } from './masked-lm.js';
export { factorizedToDense, toFullRankFFN } from './factorized.js';
export * from './family.js';
export * from './hf-names.js';
