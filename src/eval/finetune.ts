// GLUE fine-tuning of a pre-trained encoder, the way BERT's paper and HF's run_glue do it:
// [CLS] a [SEP] b [SEP] truncated to --seq (longer text first), padded per batch to its
// longest row, AdamW with 10% linear warmup then linear decay, gradient clipping at 1, dev
// evaluation after every epoch. A seed fixes the new head's weights, dropout and batch order;
// --max-train subsamples the same examples for every seed, so seeds differ only by those.
// The reported result is the LAST epoch's dev metric (no picking the best epoch on dev).
import { GLUE_TASKS, loadGlue, type GlueExample, type GlueTask, type GlueTaskSpec } from './glue-data.js';
import { computeGlueMetric, meanStd, type GlueMetric } from './metrics.js';
import { buildClassifier, type PretrainedEncoder } from './encoder.js';
import type { BertForSequenceClassification, ClassifierBatch } from './classifier.js';
import type { BertTokenizer } from '../data/tokenizer.js';
import { Rng } from '../data/rng.js';
import { GrowbertError } from '../io/errors.js';
import { ProgressBar } from '../io/progress.js';
import {
  PRECISION_SETTINGS,
  choosePrecision,
  manualSeed,
  noGrad,
  tensor,
  tidy,
  type Device,
  type PrecisionSetting,
  retainFreedMemory,
} from '../tensor/index.js';
import { AdamW, clipGradNorm } from '../train/optim/index.js';
import { schedule } from '../schedule/lr.js';

export interface FinetuneSettings {
  epochs: number;
  lr: number;
  batchSize: number;
  /** max tokens per example; default 128, capped at the model's maxPositionEmbeddings */
  seqLength?: number;
  /** first seed; seeds seed .. seed + seeds - 1 are run */
  seed: number;
  seeds: number;
  /** train on this many examples (a fixed random subset) instead of all */
  maxTrain?: number;
  device: Device;
  /** auto: bf16 mixed precision where the device has fast bfloat16; resolved once per task */
  precision: PrecisionSetting;
  weightDecay: number;
  warmupFraction: number;
}

export const DEFAULT_FINETUNE: FinetuneSettings = {
  epochs: 3,
  lr: 2e-5,
  batchSize: 32,
  seed: 0,
  seeds: 1,
  device: 'cpu',
  precision: 'auto',
  weightDecay: 0.01,
  warmupFraction: 0.1,
};

export interface FinetuneOptions extends Partial<FinetuneSettings> {
  task: GlueTask;
  /** the GLUE root holding SST-2/, MRPC/, ... */
  dataDir: string;
  /** draw a progress bar per epoch (default: when stderr is a terminal) */
  progress?: boolean;
  /** receives one line per epoch and per seed (default: nothing) */
  log?: (line: string) => void;
}

export interface EpochResult {
  epoch: number;
  trainLoss: number;
  metrics: Record<string, number>;
  score: number;
}

export interface SeedResult {
  seed: number;
  epochs: EpochResult[];
  /** the last epoch's dev metrics */
  metrics: Record<string, number>;
  score: number;
  seconds: number;
}

export interface TaskResult {
  task: GlueTask;
  metric: GlueMetric;
  trainExamples: number;
  devExamples: number;
  settings: Omit<FinetuneSettings, 'seqLength'> & { seqLength: number };
  seeds: SeedResult[];
  /** per metric over seeds (sample std; 0 for one seed) */
  mean: Record<string, number>;
  std: Record<string, number>;
  /** GLUE's task score: the mean of the task's metrics (F1 and accuracy for MRPC, Pearson and Spearman for STS-B) */
  score: { mean: number; std: number };
}

/** GLUE's per-task score: the mean of the task's metric values. */
export function taskScore(metrics: Record<string, number>): number {
  const v = Object.values(metrics);
  return v.reduce((a, b) => a + b, 0) / v.length;
}

export function formatMetrics(m: Record<string, number>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${v.toFixed(4)}`)
    .join(', ');
}

function checkSettings(s: FinetuneSettings): void {
  const posInt = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v > 0))
      throw new GrowbertError(`${name} must be a positive integer, got ${v}`);
  };
  posInt('epochs', s.epochs);
  posInt('batch size', s.batchSize);
  posInt('seq length', s.seqLength);
  posInt('seeds', s.seeds);
  posInt('max-train', s.maxTrain);
  if (!(Number.isInteger(s.seed) && s.seed >= 0))
    throw new GrowbertError(`seed must be a non-negative integer, got ${s.seed}`);
  if (!(s.lr > 0 && Number.isFinite(s.lr))) throw new GrowbertError(`lr must be a positive number, got ${s.lr}`);
  if (!(PRECISION_SETTINGS as readonly string[]).includes(s.precision))
    throw new GrowbertError(`precision must be auto, fp32 or bf16, got '${s.precision}'`);
  if (!(s.warmupFraction >= 0 && s.warmupFraction <= 1))
    throw new GrowbertError(`warmup fraction must be in [0, 1], got ${s.warmupFraction}`);
}

/** Token ids per example, tokenized once and shared by every seed. */
interface Encoded {
  ids: Int32Array[];
  types: Int32Array[];
  labels: number[];
}

function encodeExamples(tok: BertTokenizer, xs: GlueExample[], seq: number): Encoded {
  const out: Encoded = { ids: [], types: [], labels: [] };
  for (const x of xs) {
    const { ids, typeIds } = tok.encodePair(x.textA, x.textB, seq);
    out.ids.push(ids);
    out.types.push(typeIds);
    out.labels.push(x.label);
  }
  return out;
}

/** The examples at `idx` as one batch padded to its longest row (labels unless `withLabels` is false). */
function makeBatch(
  data: Encoded,
  idx: ArrayLike<number>,
  pad: number,
  regression: boolean,
  device: Device,
  withLabels = true,
): ClassifierBatch {
  const B = idx.length;
  let L = 1;
  for (let i = 0; i < B; i++) L = Math.max(L, data.ids[idx[i]!]!.length);
  const ids = new BigInt64Array(B * L).fill(BigInt(pad));
  const types = new BigInt64Array(B * L);
  const mask = new BigInt64Array(B * L);
  for (let i = 0; i < B; i++) {
    const a = data.ids[idx[i]!]!,
      t = data.types[idx[i]!]!;
    for (let j = 0; j < a.length; j++) {
      ids[i * L + j] = BigInt(a[j]!);
      types[i * L + j] = BigInt(t[j]!);
      mask[i * L + j] = 1n;
    }
  }
  const shape = [B, L];
  const batch: ClassifierBatch = {
    inputIds: tensor(ids, { shape, device }),
    tokenTypeIds: tensor(types, { shape, device }),
    attentionMask: tensor(mask, { shape, device }),
  };
  if (withLabels) {
    const lab = Array.from(idx, (k) => data.labels[k]!);
    batch.labels = regression
      ? tensor(Float32Array.from(lab), { device })
      : tensor(
          BigInt64Array.from(lab, (v) => BigInt(v)),
          { device },
        );
  }
  return batch;
}

/** Dev predictions (class index, or the score for regression) and the task's metrics. */
export function evaluateClassifier(
  clf: BertForSequenceClassification,
  dev: Encoded,
  spec: GlueTaskSpec,
  batchSize: number,
  pad: number,
  device: Device,
  bf16 = false,
): Record<string, number> {
  clf.eval();
  const n = dev.ids.length;
  // batches of similar lengths pad little; predictions go back to their example's index
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => dev.ids[a]!.length - dev.ids[b]!.length);
  const preds = new Array<number>(n);
  noGrad(() => {
    for (let s = 0; s < n; s += batchSize) {
      const idx = order.slice(s, s + batchSize);
      const out = tidy(() => {
        const { logits } = clf.forward(makeBatch(dev, idx, pad, clf.isRegression, device, false), { bf16 });
        return (clf.isRegression ? logits.squeeze(-1) : logits.argmax(-1)).toArray();
      });
      idx.forEach((k, i) => {
        preds[k] = out[i]!;
      });
    }
  });
  return computeGlueMetric(spec.metric, preds, dev.labels);
}

interface TaskData {
  spec: GlueTaskSpec;
  train: Encoded;
  dev: Encoded;
  settings: TaskResult['settings'];
}

function trainOneSeed(enc: PretrainedEncoder, d: TaskData, seed: number, o: FinetuneOptions): SeedResult {
  const s = d.settings;
  const log = o.log ?? (() => {});
  const start = Date.now();
  const numLabels = d.spec.labels?.length ?? 1;
  const pad = enc.tokenizer.specialIds.pad;
  manualSeed(seed); // dropout draws from the global generator
  const clf = buildClassifier(enc, { numLabels, seed, device: s.device });
  const params = clf.namedParameters();
  const opt = new AdamW(params, { lr: s.lr, weightDecay: s.weightDecay });
  const releaseMemory = retainFreedMemory(); // each step reuses the last one's freed memory
  const n = d.train.ids.length;
  const perEpoch = Math.ceil(n / s.batchSize);
  const total = perEpoch * s.epochs;
  const lr = schedule({
    peak: s.lr,
    warmupSteps: Math.round(s.warmupFraction * total),
    totalSteps: total,
    decay: 'linear',
  });
  const epochs: EpochResult[] = [];
  try {
    let step = 0;
    for (let epoch = 1; epoch <= s.epochs; epoch++) {
      clf.train();
      const order = Rng.fromSeed(seed, 'finetune', d.spec.task, epoch).permutation(n);
      const bar = new ProgressBar({
        total: perEpoch,
        label: `${d.spec.task} seed ${seed} epoch ${epoch}/${s.epochs}`,
        unit: 'steps',
        enabled: o.progress,
      });
      let lossSum = 0;
      for (let b = 0; b < perEpoch; b++) {
        const idx = order.subarray(b * s.batchSize, Math.min(n, (b + 1) * s.batchSize));
        const loss = tidy(() => {
          const out = clf.forward(makeBatch(d.train, idx, pad, clf.isRegression, s.device), {
            bf16: s.precision === 'bf16',
          });
          out.loss!.backward();
          return out.loss!.item();
        });
        if (!Number.isFinite(loss)) {
          bar.finish();
          throw new GrowbertError(
            `${d.spec.task}: training loss became ${loss} at step ${step} (seed ${seed}); lower --lr`,
          );
        }
        clipGradNorm(params, 1.0);
        opt.step(lr.lrAt(step++));
        opt.zeroGrad();
        lossSum += loss;
        bar.tick();
      }
      bar.finish();
      const metrics = evaluateClassifier(clf, d.dev, d.spec, s.batchSize * 2, pad, s.device, s.precision === 'bf16');
      const r: EpochResult = { epoch, trainLoss: lossSum / perEpoch, metrics, score: taskScore(metrics) };
      epochs.push(r);
      log(
        `${d.spec.task} seed ${seed} epoch ${epoch}/${s.epochs}: train loss ${r.trainLoss.toFixed(4)}, dev ${formatMetrics(metrics)}`,
      );
    }
  } finally {
    opt.dispose();
    clf.dispose();
    releaseMemory();
  }
  const last = epochs[epochs.length - 1]!;
  return { seed, epochs, metrics: last.metrics, score: last.score, seconds: (Date.now() - start) / 1000 };
}

/** A fixed subset (the same for every seed and run) of at most `max` examples. */
function subsample(xs: GlueExample[], max: number | undefined, task: GlueTask): GlueExample[] {
  if (max === undefined || max >= xs.length) return xs;
  const keep = Rng.fromSeed('max-train', task).permutation(xs.length).subarray(0, max);
  return Array.from(keep)
    .sort((a, b) => a - b)
    .map((i) => xs[i]!);
}

/** Fine-tunes `enc` on one GLUE task for every seed; dev metrics per epoch, mean and std over seeds. */
export function finetuneGlue(enc: PretrainedEncoder, o: FinetuneOptions): TaskResult {
  const spec = GLUE_TASKS[o.task];
  if (!spec) throw new GrowbertError(`unknown GLUE task '${o.task}'; use one of ${Object.keys(GLUE_TASKS).join(', ')}`);
  const keys = [...Object.keys(DEFAULT_FINETUNE), 'seqLength', 'maxTrain'] as (keyof FinetuneSettings)[];
  const defined = Object.fromEntries(
    keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]),
  ) as Partial<FinetuneSettings>;
  const base: FinetuneSettings = { ...DEFAULT_FINETUNE, ...defined };
  checkSettings(base);
  const maxPos = enc.config.maxPositionEmbeddings;
  if (base.seqLength !== undefined && base.seqLength > maxPos) {
    throw new GrowbertError(
      `--seq ${base.seqLength} exceeds the model's ${maxPos} positions; pass --seq ${maxPos} or less`,
    );
  }
  // The CLI prints the reason (src/cli/finetune.ts); here the choice only.
  const chosen = choosePrecision(base.precision, base.device);
  const settings = { ...base, seqLength: base.seqLength ?? Math.min(128, maxPos), precision: chosen.precision };
  const trainAll = loadGlue(o.task, o.dataDir, 'train');
  const devAll = loadGlue(o.task, o.dataDir, 'dev');
  const trainEx = subsample(trainAll, settings.maxTrain, o.task);
  const d: TaskData = {
    spec,
    train: encodeExamples(enc.tokenizer, trainEx, settings.seqLength),
    dev: encodeExamples(enc.tokenizer, devAll, settings.seqLength),
    settings,
  };
  const seeds: SeedResult[] = [];
  for (let k = 0; k < settings.seeds; k++) {
    const r = trainOneSeed(enc, d, settings.seed + k, o);
    seeds.push(r);
    o.log?.(`${o.task} seed ${r.seed}: ${formatMetrics(r.metrics)} (${r.seconds.toFixed(1)} s)`);
  }
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  for (const key of Object.keys(seeds[0]!.metrics)) {
    const ms = meanStd(seeds.map((r) => r.metrics[key]!));
    mean[key] = ms.mean;
    std[key] = ms.std;
  }
  return {
    task: o.task,
    metric: spec.metric,
    trainExamples: trainEx.length,
    devExamples: devAll.length,
    settings,
    seeds,
    mean,
    std,
    score: meanStd(seeds.map((r) => r.score)),
  };
}
