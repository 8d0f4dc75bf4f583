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
 * Seconds per optimizer step: the median of at least `steps` (5) timed steps (up to 10 within 2 s) after
 * untimed warm-up steps, which absorb allocator, thread-pool and kernel-cache start-up. The first steps are
 * slow for longer than one might think: a tiny bf16 CPU step measured 80 ms after 3 warm-up steps and
 * 45-52 ms after 20-60, the run itself 53 ms (so a 15 s budget was planned at 123 steps and ran 283). So
 * warm-up is 10 steps, or 5 s of them for slow steps; `warmup` fixes the count instead. Measured as training
 * runs: with freed memory retained (the trainer holds it while it trains; without it a tiny CPU step measured
 * 35% slower), and on the clock the budget charges: on a shared machine (another run starting beside this
 * one) wall-clock time measures the neighbour, this process's CPU time does not.
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
  const step = (): number => {
    const t0 = readClocks();
    trainStep(model, optimizer, micro, { lr: 1e-5, clipNorm: 1, bf16: o.bf16 });
    if (o.device !== 'cpu') cuda.synchronize(o.device);
    const t1 = readClocks();
    return o.clock === 'cpu' ? t1.cpu - t0.cpu : t1.wall - t0.wall;
  };
  const times: number[] = [];
  try {
    warmUp(step, o.warmup);
    // at least `steps`, and up to 10 while they fit in 2 s: single steps vary by +-30% on a CPU
    const started = Date.now();
    while (times.length < (o.steps ?? 5) || (times.length < 10 && Date.now() - started < 2_000)) times.push(step());
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

/** Untimed steps: `count` of them, else 10, or as many as fit in 5 s (at least 3) for slow steps. */
function warmUp(step: () => number, count?: number): void {
  const started = Date.now();
  for (let i = 0; i < (count ?? 10); i++) {
    step();
    if (count === undefined && i >= 2 && Date.now() - started > 5_000) return;
  }
}
