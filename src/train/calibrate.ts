// Measured step times, for time budgets and `growbert plan`: a stage's model trained for a few
// steps on a synthetic batch of its shape (same head, pooling and precision as the real run).
import { BertForMaskedLM, type BertConfig } from '../model/index.js';
import { cuda, randint, tidy, zeros, type Device } from '../tensor/index.js';
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
 * allocator and thread-pool start-up.
 */
export function measureStepSeconds(
  s: CalibrationShape,
  o: { device: Device; bf16: boolean; gradAccumulation?: number; steps?: number; warmup?: number },
): number {
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
      const t0 = performance.now();
      trainStep(model, optimizer, micro, { lr: 1e-5, clipNorm: 1, bf16: o.bf16 });
      if (o.device !== 'cpu') cuda.synchronize(o.device);
      if (i >= (o.warmup ?? 3)) times.push((performance.now() - t0) / 1000);
    }
  } finally {
    tidy(() =>
      [batch.inputIds, batch.tokenTypeIds, batch.attentionMask, batch.maskedPositions, batch.maskedLabels].forEach(
        (t) => t?.dispose(),
      ),
    );
    optimizer.dispose();
    model.dispose();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
