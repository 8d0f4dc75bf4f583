// Measured step times, for time budgets and `growbert plan`: a stage's model trained for a few
// steps on a synthetic batch of its shape (same head, pooling and precision as the real run).
import { BertForMaskedLM, type BertConfig } from '../model/index.js';
import { cuda, randint, retainFreedMemory, tidy, zeros, type Device } from '../tensor/index.js';
import { readClocks, type Clock } from './budget-clock.js';
import type { ModelBatch } from './data.js';
import { createOptimizer } from './optim/index.js';
import { trainStep } from './step.js';

export interface CalibrationShape {
  config: BertConfig;
  batchSize: number;
  seqLength: number;
  maxPredictions: number;
}

/**
 * Seconds per optimizer step: the median of `steps` (5) timed steps after `warmup` (3) untimed ones, which absorb
 * allocator and thread-pool start-up. Measured as training runs: with freed memory retained (the trainer
 * holds it while it trains; without it a tiny CPU step measured 35% slower), and on the clock the budget
 * charges: on a shared machine (another run starting beside this one) wall-clock time measures the
 * neighbour, this process's CPU time does not.
 */
export function measureStepSeconds(
  s: CalibrationShape,
  o: { device: Device; bf16: boolean; gradAccumulation?: number; steps?: number; warmup?: number; clock?: Clock },
): number {
  const release = retainFreedMemory();
  const model = new BertForMaskedLM(s.config, { device: o.device, seed: 0 });
  const optimizer = createOptimizer('adamw', model.namedParameters(), { lr: 1e-5 });
  const { batchSize: B, seqLength: S, maxPredictions: P } = s;
  const V = s.config.vocabSize;
  const batch: ModelBatch = tidy(() => ({
    inputIds: randint(5, V, [B, S], { device: o.device }),
    tokenTypeIds: zeros([B, S], { dtype: 'int64', device: o.device }),
    attentionMask: zeros([B, S], { dtype: 'int64', device: o.device }).add(1),
    maskedPositions: randint(1, S, [B, P], { device: o.device }).sort(-1).values,
    maskedLabels: randint(5, V, [B, P], { device: o.device }),
    tokens: B * S,
  }));
  const micro = Array.from({ length: o.gradAccumulation ?? 1 }, () => batch);
  const times: number[] = [];
  try {
    for (let i = 0; i < (o.warmup ?? 3) + (o.steps ?? 5); i++) {
      const t0 = readClocks();
      trainStep(model, optimizer, micro, { lr: 1e-5, clipNorm: 1, bf16: o.bf16 });
      if (o.device !== 'cpu') cuda.synchronize(o.device);
      const t1 = readClocks();
      if (i >= (o.warmup ?? 3)) times.push(o.clock === 'cpu' ? t1.cpu - t0.cpu : t1.wall - t0.wall);
    }
  } finally {
    tidy(() =>
      [batch.inputIds, batch.tokenTypeIds, batch.attentionMask, batch.maskedPositions, batch.maskedLabels].forEach(
        (t) => t?.dispose(),
      ),
    );
    optimizer.dispose();
    model.dispose();
    release();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
