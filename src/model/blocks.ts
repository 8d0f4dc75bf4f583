// The pieces both encoder variants share (post-LN BERT in bert.ts, pre-LN in prenorm.ts): the
// activation, the attention mask, multi-head self-attention. One copy, so the variants differ
// only in where their LayerNorms sit.
import { Linear, cast } from '../nn/index.js';
import {
  attentionMath,
  dropout,
  hasFusedAttention,
  scaledDotProductAttention,
  type DType,
  type Tensor,
} from '../tensor/index.js';
import { headSize, type BertConfig } from './config.js';

const FUSED_ATTENTION = hasFusedAttention();

export function activation(x: Tensor, act: BertConfig['hiddenAct']): Tensor {
  return act === 'gelu_new' ? x.gelu('tanh') : x.gelu();
}

/** Rows of x [B, S, H] at positions [B, P] (int64): [B, P, H]. */
export function gatherPositions(x: Tensor, positions: Tensor): Tensor {
  const [B, P] = positions.shape;
  return x.gather(1, positions.unsqueeze(-1).expand(B, P, x.size(2)));
}

/** A key mask [B, L] (nonzero = attend) as the bool [B, 1, 1, L] that attention broadcasts. */
export function attentionMask(keep: Tensor): Tensor {
  const [B, L] = keep.shape;
  return keep.ne(0).view(B, 1, 1, L);
}

/**
 * softmax(q k^T / sqrt(d) + mask) v on q [B, h, Lq, d], k/v [B, h, Lk, d]. libtorch's fused kernel where
 * it has one (2.1+), except when training on the CPU: its dropout there draws with bernoulli_, which
 * made attention 4x slower (mini bf16: 123 against 28 ms a step on 2.13), so the math is spelled out
 * with the addon's counter-based dropout mask. In bfloat16 the spelled-out softmax runs in float32.
 */
function attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor, p: number): Tensor {
  const fused = FUSED_ATTENTION && !(p > 0 && q.device === 'cpu');
  if (fused) return scaledDotProductAttention(q, k, v, { mask, dropout: p });
  if (q.dtype === 'float32') return attentionMath(q, k, v, { mask, dropout: p });
  const scores = q
    .matmul(k.transpose(-2, -1))
    .mul(1 / Math.sqrt(q.size(-1)))
    .maskedFill(mask.logicalNot(), -Infinity);
  const probs = dropout(scores.softmax(-1, 'float32'), p, p > 0);
  return cast(probs, q.dtype).matmul(v);
}

/** The query, key and value projections of one layer. */
export interface QKV {
  query: Linear;
  key: Linear;
  value: Linear;
}

/**
 * Multi-head self-attention before the output projection: x [B, Lq, H] asks, kv [B, Lk, H]
 * answers (both already in the matmul dtype); mask is bool [B, 1, 1, Lk]. Returns [B, Lq, H].
 */
export function selfAttention(p: QKV, x: Tensor, kv: Tensor, mask: Tensor, c: BertConfig, training: boolean): Tensor {
  const [B, Lq, H] = x.shape;
  const Lk = kv === x ? Lq : kv.size(1);
  const nh = c.numAttentionHeads,
    hd = headSize(c);
  const heads = (t: Tensor, L: number) => t.view(B, L, nh, hd).transpose(1, 2); // [B, nh, L, hd]
  const q = heads(p.query.forward(x), Lq);
  const k = heads(p.key.forward(kv), Lk);
  const v = heads(p.value.forward(kv), Lk);
  return attention(q, k, v, mask, training ? c.attentionProbsDropoutProb : 0)
    .transpose(1, 2)
    .reshape(B, Lq, H);
}

/** Dropout at the hidden rate, on in training only. */
export function hiddenDropout(x: Tensor, c: BertConfig, training: boolean): Tensor {
  const p = training ? c.hiddenDropoutProb : 0;
  return dropout(x, p, p > 0);
}

export type { DType };
