// Length pooling for the low-cost stages: the authors' "mean embedding pooling" (method.md,
// "Length"). The unmasked stream is shortened by averaging windows of k tokens; the masked
// tokens are kept at full resolution as extra slots (that part lives in bert.ts). The pooled
// stream is the embedded inputIds as given: at masked positions that is the [MASK] / random /
// kept token the data pipeline put there (our simplification: nothing is removed or zeroed).
import { cat, tensor, zeros, type Tensor } from '../tensor/index.js';

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
  const counts = tensor(Array.from({ length: n }, (_, i) => (i === n - 1 ? k - pad : k)), { dtype: x.dtype, device: x.device });
  const means = windows(x, [H]).sum(2).div(counts.view(1, n, 1));
  const maskMax = windows(m, []).maxDim(2).values;
  return { x: cat([x.narrow(1, 0, 1), means], 1), mask: cat([m.narrow(1, 0, 1), maskMax], 1) };
}
