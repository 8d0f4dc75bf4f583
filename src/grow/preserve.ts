// Does a grown model compute the same function as its source? Both run in eval mode (dropout
// off) on the same batch; their train/eval modes are restored afterwards.
import type { BertForMaskedLM, MaskedLMBatch } from '../model/index.js';
import { noGrad, tidy } from '../tensor/index.js';

export interface PreservationReport {
  /** max |logits_after - logits_before| */
  maxAbsLogitDiff: number;
  /** maxAbsLogitDiff / max |logits_before|: relative to the logits' scale, not per element
   * (an element-wise ratio explodes at logits near 0) */
  maxRelLogitDiff: number;
  /** mean MLM loss (NaN when the batch has no maskedLabels) */
  lossBefore: number;
  lossAfter: number;
  paramsBefore: number;
  paramsAfter: number;
}

/** With `bf16`, both forwards run their matmuls in bfloat16 (as a bf16 training run evaluates). */
export function checkPreservation(
  before: BertForMaskedLM,
  after: BertForMaskedLM,
  batch: MaskedLMBatch,
  o: { bf16?: boolean } = {},
): PreservationReport {
  const modes = [before.training, after.training];
  before.eval();
  after.eval();
  try {
    return tidy(() =>
      noGrad(() => {
        const a = before.forward(batch, { bf16: o.bf16 });
        const b = after.forward(batch, { bf16: o.bf16 });
        if (a.logits.shape.join() !== b.logits.shape.join()) {
          throw new Error(`checkPreservation: logits shapes differ ([${a.logits.shape}] vs [${b.logits.shape}])`);
        }
        const maxAbs = b.logits.sub(a.logits).abs().max().item();
        const scale = a.logits.abs().max().item();
        return {
          maxAbsLogitDiff: maxAbs,
          maxRelLogitDiff: scale > 0 ? maxAbs / scale : maxAbs,
          lossBefore: a.loss ? a.loss.item() : NaN,
          lossAfter: b.loss ? b.loss.item() : NaN,
          paramsBefore: before.numParameters(),
          paramsAfter: after.numParameters(),
        };
      }),
    );
  } finally {
    before.train(modes[0]);
    after.train(modes[1]);
  }
}
