// BERT with Hugging Face parameter names, its config, and the low-cost-stage helpers.
export * from './config.js';
export { BertForMaskedLM, gatherPositions, type MaskedLMBatch, type ForwardOptions, type MaskedLMOutput, type ModelOptions } from './bert.js';
export { meanPool, pooledLength } from './pooling.js';
export type { MaskedLM } from './masked-lm.js';
export { factorizedToDense, toFullRankFFN } from './factorized.js';
