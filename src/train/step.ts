// One optimisation step and one evaluation pass: the two computations the trainer repeats.
import type { BertForMaskedLM } from '../model/index.js';
import { noGrad, tidy } from '../tensor/index.js';
import type { ModelBatch } from './data.js';
import { clipGradNorm, type Optimizer } from './optim/index.js';

export interface StepResult {
  loss: number;
  gradNorm: number;
}

/**
 * Forward and backward over the micro-batches (gradients accumulate; each loss is weighted by its
 * share of the prediction targets so the result is the mean over all of them), global-norm
 * clipping, then the optimizer update. A non-finite loss or gradient norm skips the update and is
 * returned for the caller to stop on.
 */
export function trainStep(model: BertForMaskedLM, optimizer: Optimizer, micro: ModelBatch[], o: { lr: number; clipNorm: number; bf16: boolean }): StepResult {
  const params = optimizer.params;
  const counts = micro.map((b) => tidy(() => b.maskedLabels!.ne(-100).sum().item()));
  const total = counts.reduce((a, b) => a + b, 0) || 1;
  let loss = 0;
  for (let i = 0; i < micro.length; i++) {
    loss += tidy(() => {
      const out = model.forward(micro[i], { bf16: o.bf16 });
      const l = out.loss!;
      l.mul(counts[i] / total).backward();
      return l.item() * (counts[i] / total);
    });
  }
  const gradNorm = clipGradNorm(params, o.clipNorm);
  if (Number.isFinite(loss) && Number.isFinite(gradNorm)) optimizer.step(o.lr);
  optimizer.zeroGrad();
  return { loss, gradNorm };
}

export interface EvalResult {
  valLoss: number;
  valPerplexity: number;
  valAccuracy: number;
}

/** Masked-LM loss (mean over all targets), perplexity and accuracy on fixed batches, in eval mode. */
export function evaluate(model: BertForMaskedLM, batches: ModelBatch[], o: { bf16: boolean }): EvalResult {
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  try {
    noGrad(() => {
      for (const b of batches) {
        tidy(() => {
          const out = model.forward(b, { bf16: o.bf16 });
          const valid = b.maskedLabels!.ne(-100);
          const n = valid.sum().item();
          lossSum += out.loss!.item() * n;
          correct += out.logits.argmax(-1).eq(b.maskedLabels!).logicalAnd(valid).sum().item();
          count += n;
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const valLoss = count ? lossSum / count : NaN;
  return { valLoss, valPerplexity: Math.exp(valLoss), valAccuracy: count ? correct / count : NaN };
}
