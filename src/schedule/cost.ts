// The cost model: FLOPs of one training step for any stage shape. Counts the matmuls (2 FLOPs
// per multiply-add), which dominate BERT: projections, attention scores and mixing, the FFN, the
// MLM head at the masked positions only, and, with length pooling, the shorter sequences.
// Backward costs twice the forward, so a step is 3x the forward. Elementwise work, LayerNorm,
// softmax and the optimizer are left out (a few percent at these sizes; see docs/schedules.md).
import type { BertConfig } from '../model/index.js';

export interface StepShape {
  config: Pick<
    BertConfig,
    'vocabSize' | 'hiddenSize' | 'numHiddenLayers' | 'intermediateSize' | 'poolingSize' | 'ffnRank'
  >;
  batchSize: number;
  seqLength: number;
  /** masked predictions per sequence */
  maxPredictions: number;
}

/** Pooled length for pooling factor k: [CLS] plus ceil((S-1)/k) windows. */
export function pooledLen(seqLength: number, k: number): number {
  return k <= 1 ? seqLength : 1 + Math.ceil((seqLength - 1) / k);
}

/** Forward FLOPs of one encoder layer with Lq query rows and Lk key/value rows. */
export function layerFlops(H: number, F: number, r: number, Lq: number, Lk: number): number {
  const q = 2 * Lq * H * H;
  const kv = 2 * 2 * Lk * H * H;
  const scores = 2 * Lq * Lk * H;
  const mix = 2 * Lq * Lk * H;
  const out = 2 * Lq * H * H;
  const ffn = r > 0 ? 2 * 2 * Lq * (H * r + r * F) : 2 * 2 * Lq * H * F;
  return q + kv + scores + mix + out + ffn;
}

/** Forward FLOPs for one sequence. */
export function forwardFlopsPerSequence(s: StepShape): number {
  const { hiddenSize: H, intermediateSize: F, numHiddenLayers: N, vocabSize: V, poolingSize: k, ffnRank: r } = s.config;
  const S = s.seqLength,
    P = s.maxPredictions;
  let enc: number;
  if (k > 1) {
    // Only the unmasked stream (S - P tokens) is pooled. Layer 1: the pooled stream + P masked
    // slots attend to the full-resolution stream + the masked slots (S keys in all); the rest run
    // at the pooled length + P (method.md, "Length"; src/model/pooling.ts).
    const U = Math.max(1, S - P);
    const Lp = pooledLen(U, k) + P;
    const pool = U * H; // the window means: one add per token and unit
    enc = pool + layerFlops(H, F, r, Lp, U + P) + (N - 1) * layerFlops(H, F, r, Lp, Lp);
  } else {
    enc = N * layerFlops(H, F, r, S, S);
  }
  const head = 2 * P * H * H + 2 * P * H * V;
  return enc + head;
}

/** FLOPs of one optimizer step (forward + backward over the batch, times accumulation). */
export function stepFlops(s: StepShape, gradAccumulation = 1): number {
  return 3 * s.batchSize * forwardFlopsPerSequence(s) * gradAccumulation;
}
