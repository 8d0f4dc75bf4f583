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
export * from './split.js';
export * from './corpus-build.js';
export * from './tokenizer-sample.js';
export * from './encoder-pool.js';
export * from './fast-encoder.js';
export * from './doc-stream.js';
export * from './byte-stream.js';
