// Length pooling for the low-cost stages: the authors' "mean embedding pooling" (method.md,
// "Length"). The sequence is split into the unmasked stream (the tokens that are not prediction
// targets, in order, keeping their original position embeddings) and the masked tokens; only the
// unmasked stream is shortened by averaging windows of k tokens, and the masked tokens are
// appended once, at full resolution, as extra slots (that part lives in bert.ts). So a masked
// token is never also averaged into a window, and never appears twice among layer 1's keys.
import { arange, cat, tensor, zeros, type Tensor } from '../tensor/index.js';

/**
 * The unmasked stream of x [B, S, H]: per row, the positions that are not real prediction targets
 * (maskedKeep [B, P] true), in order, as [B, S - P, H] with their keep mask [B, S - P]. The
 * stream has one fixed length, S - P, so a row with fewer than P real targets (the masking pads
 * its positions) keeps only its first S - P unmasked tokens: it drops its last ones, which in a
 * packed batch are the final [SEP] or padding. P >= S keeps [CLS] alone.
 */
export function unmaskedStream(
  x: Tensor,
  keep: Tensor,
  maskedPositions: Tensor,
  maskedKeep: Tensor,
): { x: Tensor; keep: Tensor } {
  const [B, S] = keep.shape;
  const U = Math.max(1, S - maskedPositions.size(1));
  // 1 at a real target (scatterAdd: the padded entries all point at position 0 and add 0)
  const target = zeros([B, S], { dtype: 'int64', device: keep.device })
    .scatterAdd(1, maskedPositions, maskedKeep.to('int64'))
    .gt(0);
  // sort key: unmasked positions first, each group in position order (exact in float32 for S < 2^24)
  const key = target
    .to('float32')
    .mul(S)
    .add(arange(0, S, 1, { device: keep.device }).to('float32').unsqueeze(0));
  const order = key.argsort(1).narrow(1, 0, U);
  return { x: x.gather(1, order.unsqueeze(-1).expand(B, U, x.size(2))), keep: keep.gather(1, order) };
}

/** Number of slots a length-S sequence pools to: [CLS] plus ceil((S - 1) / k) windows. */
export function pooledLength(seqLen: number, k: number): number {
  return 1 + Math.ceil((seqLen - 1) / k);
}

/**
 * Mean-pools x [B, S, H] into [B, 1 + n, H], n = ceil((S-1)/k): slot 0 ([CLS]) is kept, then
 * each window of k following tokens is averaged (a short last window averages the tokens it
 * has; padding tokens are averaged in like any other). The mask [B, S] (1 keep / 0 pad, any
 * dtype) pools to the window's maximum, returned as float32 [B, 1 + n].
 */
export function meanPool(x: Tensor, mask: Tensor, k: number): { x: Tensor; mask: Tensor } {
  const [B, S, H] = x.shape;
  const m = mask.to('float32');
  if (S === 1 || k === 1) return { x, mask: m };
  const n = Math.ceil((S - 1) / k);
  const pad = n * k - (S - 1);
  const windows = (t: Tensor, shape: number[]) => {
    const rest = t.narrow(1, 1, S - 1);
    const padded = pad === 0 ? rest : cat([rest, zeros([B, pad, ...shape], { dtype: t.dtype, device: t.device })], 1);
    return padded.reshape(B, n, k, ...shape);
  };
  // every window holds k tokens except possibly the last, which holds k - pad
  const counts = tensor(
    Array.from({ length: n }, (_, i) => (i === n - 1 ? k - pad : k)),
    { dtype: x.dtype, device: x.device },
  );
  const means = windows(x, [H])
    .sum(2)
    .div(counts.view(1, n, 1));
  const maskMax = windows(m, []).maxDim(2).values;
  return { x: cat([x.narrow(1, 0, 1), means], 1), mask: cat([m.narrow(1, 0, 1), maskMax], 1) };
}
