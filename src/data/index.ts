/** The data layer: corpus -> tokenizer -> token cache -> packed batches (masking comes later). */
export * from './corpus.js';
export * from './rng.js';
export * from './tokenizer.js';
export * from './wordpiece.js';
export * from './token-cache.js';
export * from './packing.js';
export * from './sequence-source.js';
export * from './tokenizer-train.js';
export * from './tokenizer-store.js';
export * from './masking.js';
