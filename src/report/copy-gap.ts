// Symmetry breaking, measured: how far the units that growth made equal have drifted apart after
// training (0: they are still copies, and the grown model still acts at the small one's width).
import { ffnUnitsWeight, paramLayout, type BertForMaskedLM } from '../model/index.js';
import { tidy } from '../tensor/index.js';

/** The stream's producer every hidden unit has a column in: the word embeddings (found by its layout). */
function embeddingTable(m: BertForMaskedLM) {
  for (const [name, t] of m.namedParameters()) {
    const l = paramLayout(m.config, name);
    if (
      l.layer < 0 &&
      t.ndim === 2 &&
      l.dims[0] === null &&
      l.dims[1]?.[0] === 'hidden' &&
      t.size(0) === m.config.vocabSize
    )
      return t;
  }
  throw new Error('copy gap: the model has no word-embedding table');
}

/**
 * Pairs (a, b), b >= oldHidden, of word-embedding columns that are equal right after growth: a
 * new unit and the unit it copies (fpi), or two of LEMON's mean units.
 */
export function equalColumnPairs(m: BertForMaskedLM, oldHidden: number): [number, number][] {
  return tidy(() => {
    const e = embeddingTable(m);
    const d2 = e.size(1);
    const pairs: [number, number][] = [];
    const cols = e.transpose(0, 1).contiguous(); // [d2, V]
    for (let b = oldHidden; b < d2; b++) {
      const diff = cols.sub(cols.select(0, b).unsqueeze(0)).abs().sum(1); // [d2]
      const idx = diff.narrow(0, 0, b).eq(0).nonzero().toArray();
      if (idx.length) pairs.push([idx[0], b]);
    }
    return pairs;
  });
}

/** Mean over the pairs of |col_a - col_b| / |col_a| in the word embeddings now. */
export function embeddingCopyGap(m: BertForMaskedLM, pairs: [number, number][]): number {
  return tidy(() => {
    const cols = embeddingTable(m).transpose(0, 1);
    let sum = 0;
    for (const [a, b] of pairs) {
      const x = cols.select(0, a),
        y = cols.select(0, b);
      sum += x.sub(y).norm().item() / x.norm().item();
    }
    return sum / pairs.length;
  });
}

/** Layer 0's FFN input: the relative gap between its first two tiles of q units (FFN sharing). */
export function ffnCopyGap(m: BertForMaskedLM, q: number): number {
  return tidy(() => {
    const w1 = m.namedParameters().get(ffnUnitsWeight(m.config, 0))!;
    const a = w1.narrow(0, 0, q),
      b = w1.narrow(0, q, q);
    return a.sub(b).norm().item() / a.norm().item();
  });
}
