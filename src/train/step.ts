// One optimisation step and one evaluation pass: the two computations the trainer repeats.
import type { BertForMaskedLM } from '../model/index.js';
import { noGrad, tidy, type Tensor } from '../tensor/index.js';
import type { ModelBatch } from './data.js';
import { clipGradNorm, type Optimizer } from './optim/index.js';

export interface StepResult {
  loss: number;
  gradNorm: number;
  /** with `sync`: its `extra` numbers summed over the ranks */
  extra?: number[];
}

/**
 * Data parallelism for one step (src/dist/data-parallel.ts provides it): every rank runs its
 * rows of the same global batch; gradients are averaged over the ranks during the last
 * backward; the loss is summed over them.
 */
export interface StepSync {
  worldSize: number;
  /** prediction targets in the whole global step (every rank's rows, every micro-batch) */
  totalTargets: number;
  /** called before the last micro-batch's backward, which then averages the gradients */
  beforeBackward(loss: Tensor): void;
  /** element-wise sums over the ranks */
  sum(values: number[]): number[];
  /** numbers to sum over the ranks along with the loss (returned in StepResult.extra) */
  extra?: number[];
}

/**
 * Forward and backward over the micro-batches (gradients accumulate; each loss is weighted by its
 * share of the prediction targets so the result is the mean over all of them), global-norm
 * clipping, then the optimizer update. A non-finite loss or gradient norm skips the update and is
 * returned for the caller to stop on.
 */
export function trainStep(model: BertForMaskedLM, optimizer: Optimizer, micro: ModelBatch[], o: { lr: number; clipNorm: number; bf16: boolean; sync?: StepSync }): StepResult {
  if (o.sync) return trainStepSynced(model, optimizer, micro, { ...o, sync: o.sync });
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

/**
 * trainStep on one rank of a data-parallel run. Each rank's loss is weighted by its share of the
 * GLOBAL targets (times the world size, since the reducer averages over ranks), so the averaged
 * gradient and the summed loss are those of the whole global batch, as one process would get.
 */
function trainStepSynced(model: BertForMaskedLM, optimizer: Optimizer, micro: ModelBatch[], o: { lr: number; clipNorm: number; bf16: boolean; sync: StepSync }): StepResult {
  const { sync } = o;
  const counts = micro.map((b) => tidy(() => b.maskedLabels!.ne(-100).sum().item()));
  const total = sync.totalTargets || 1;
  let local = 0;
  for (let i = 0; i < micro.length; i++) {
    local += tidy(() => {
      const out = model.forward(micro[i], { bf16: o.bf16 });
      const l = out.loss!;
      const w = counts[i] / total;
      if (i === micro.length - 1) sync.beforeBackward(l);
      // A shard with no targets has a NaN mean loss; it contributes nothing, but must still run a
      // backward through every parameter (the reducer waits for all of them): a zero from the logits.
      (counts[i] > 0 ? l.mul(w * sync.worldSize) : out.logits.sum().mul(0)).backward();
      return counts[i] > 0 ? l.item() * w : 0;
    });
  }
  const [loss, ...extra] = sync.sum([local, ...(sync.extra ?? [])]);
  const gradNorm = clipGradNorm(optimizer.params, o.clipNorm);
  if (Number.isFinite(loss) && Number.isFinite(gradNorm)) optimizer.step(o.lr);
  optimizer.zeroGrad();
  return { loss, gradNorm, extra };
}

export interface EvalResult {
  valLoss: number;
  valPerplexity: number;
  valAccuracy: number;
}

/** Masked-LM loss (mean over all targets), perplexity and accuracy on fixed batches, in eval mode. */
export function evaluate(model: BertForMaskedLM, batches: ModelBatch[], o: { bf16: boolean }): EvalResult {
  return evalResult(evaluateSums(model, batches, o));
}

/** The sums evaluate() averages (data-parallel ranks evaluate a share of the batches each and add them). */
export interface EvalSums { lossSum: number; correct: number; count: number }

export function evalResult({ lossSum, correct, count }: EvalSums): EvalResult {
  const valLoss = count ? lossSum / count : NaN;
  return { valLoss, valPerplexity: Math.exp(valLoss), valAccuracy: count ? correct / count : NaN };
}

export function evaluateSums(model: BertForMaskedLM, batches: ModelBatch[], o: { bf16: boolean }): EvalSums {
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
  return { lossSum, correct, count };
}
