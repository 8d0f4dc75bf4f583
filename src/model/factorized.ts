// Factorized (low-rank) FFN -> dense FFN, for growth out of a low-rank stage: each factorized
// matrix W = B·A is multiplied out (paper: "growth multiplies out"). Function-preserving exactly
// up to float rounding.
import { noGrad, type Tensor } from '../tensor/index.js';
import { BertForMaskedLM } from './bert.js';
import { LOWRANK_A as A, LOWRANK_B as B } from './family.js';

/**
 * A state dict with every `X.lowrank_a.weight` / `X.lowrank_b.weight` pair replaced by
 * `X.weight` = B·A (new tensors, placed where the A factor was). Every other entry is passed
 * through as the same Tensor object.
 */
export function factorizedToDense(stateDict: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of stateDict) {
    if (name.endsWith(B)) {
      if (!stateDict.has(name.slice(0, -B.length) + A))
        throw new Error(`factorizedToDense: '${name}' has no matching '${A.slice(1)}'`);
      continue;
    }
    if (!name.endsWith(A)) {
      out.set(name, t);
      continue;
    }
    const base = name.slice(0, -A.length);
    const b = stateDict.get(base + B);
    if (!b) throw new Error(`factorizedToDense: '${name}' has no matching '${B.slice(1)}'`);
    out.set(
      `${base}.weight`,
      noGrad(() => b.matmul(t)),
    );
  }
  return out;
}

/** A new model with full-rank FFNs computing the same function (same device, mode unchanged). */
export function toFullRankFFN(model: BertForMaskedLM): BertForMaskedLM {
  // a fixed seed so the throwaway init does not advance the global generator
  const dense = new BertForMaskedLM({ ...model.config, ffnRank: 0 }, { device: model.device, seed: 0 });
  const sd = model.stateDict();
  const full = factorizedToDense(sd);
  dense.loadStateDict(full);
  for (const t of new Set([...sd.values(), ...full.values()])) t.dispose();
  return dense.train(model.training);
}
