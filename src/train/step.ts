// One optimisation step and one evaluation pass: the two computations the trainer repeats. There
// is one step for a single process and for a rank of a data-parallel run: data parallelism is an
// optional hook (GradSync) the step calls at the two points where ranks must meet.
import type { MaskedLM } from '../model/index.js';
import { noGrad, stepPhase, tidy, type Tensor } from '../tensor/index.js';
import type { ModelBatch } from './data.js';
import { clipGradNorm, type Optimizer } from './optim/index.js';

export interface StepResult {
  loss: number;
  gradNorm: number;
  /** StepOptions.extra, summed over the ranks when there is a GradSync */
  extra?: number[];
}

/**
 * The gradient-sync hook: what a step needs from data parallelism (src/parallel/data-parallel.ts's
 * DataParallel provides it). Every rank runs its rows of the same global batch; gradients are
 * averaged over the ranks during the last backward; the loss is summed over them.
 */
export interface GradSync {
  readonly worldSize: number;
  /** called before the last micro-batch's backward, which then averages the gradients over the ranks */
  beforeBackward(loss: Tensor): void;
  /** element-wise sums over the ranks */
  sum(values: number[]): number[];
}

export interface StepOptions {
  lr: number;
  clipNorm: number;
  bf16: boolean;
  /** data parallelism; absent: one process */
  sync?: GradSync;
  /** prediction targets in the whole global step (every rank's rows, every micro-batch); default: those in `micro` */
  totalTargets?: number;
  /** numbers to sum over the ranks along with the loss (returned in StepResult.extra) */
  extra?: number[];
}

/**
 * Forward and backward over the micro-batches (gradients accumulate), global-norm clipping, then
 * the optimizer update. Each loss is weighted by its share of the global prediction targets (times
 * the world size, since the reducer averages over ranks), so the accumulated gradient and the
 * summed loss are the mean over every target of the global batch, as one process would get. A
 * non-finite loss or gradient norm skips the update and is returned for the caller to stop on.
 */
export function trainStep(model: MaskedLM, optimizer: Optimizer, micro: ModelBatch[], o: StepOptions): StepResult {
  const { sync } = o;
  stepPhase('bookkeeping');
  const counts = micro.map((b) => tidy(() => b.maskedLabels!.ne(-100).sum().item()));
  const total = (o.totalTargets ?? counts.reduce((a, b) => a + b, 0)) || 1;
  const scale = sync?.worldSize ?? 1;
  let local = 0;
  for (let i = 0; i < micro.length; i++) {
    local += tidy(() => {
      stepPhase('forward');
      const out = model.forward(micro[i], { bf16: o.bf16 });
      const l = out.loss!;
      const w = counts[i] / total;
      if (sync && i === micro.length - 1) sync.beforeBackward(l);
      // A micro-batch with no targets has a NaN mean loss; it contributes nothing, but must still
      // run a backward through every parameter (a data-parallel reducer waits for all of them): a
      // zero from the logits.
      const root = counts[i] > 0 ? l.mul(w * scale) : out.logits.sum().mul(0);
      stepPhase('backward');
      root.backward();
      stepPhase('bookkeeping');
      return counts[i] > 0 ? l.item() * w : 0;
    });
  }
  const mine = [local, ...(o.extra ?? [])];
  const [loss, ...extra] = sync ? sync.sum(mine) : mine;
  stepPhase('optimizer');
  const gradNorm = clipGradNorm(optimizer.paramList, o.clipNorm);
  if (Number.isFinite(loss) && Number.isFinite(gradNorm)) optimizer.step(o.lr);
  optimizer.zeroGrad();
  stepPhase('bookkeeping');
  return { loss, gradNorm, ...(o.extra ? { extra } : {}) };
}

export interface EvalResult {
  valLoss: number;
  valPerplexity: number;
  valAccuracy: number;
}

/** Masked-LM loss (mean over all targets), perplexity and accuracy on fixed batches, in eval mode. */
export function evaluate(model: MaskedLM, batches: ModelBatch[], o: { bf16: boolean }): EvalResult {
  return evalResult(evaluateSums(model, batches, o));
}

/** The sums evaluate() averages (data-parallel ranks evaluate a share of the batches each and add them). */
export interface EvalSums {
  lossSum: number;
  correct: number;
  count: number;
}

export function evalResult({ lossSum, correct, count }: EvalSums): EvalResult {
  const valLoss = count ? lossSum / count : NaN;
  return { valLoss, valPerplexity: Math.exp(valLoss), valAccuracy: count ? correct / count : NaN };
}

export function evaluateSums(model: MaskedLM, batches: ModelBatch[], o: { bf16: boolean }): EvalSums {
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
