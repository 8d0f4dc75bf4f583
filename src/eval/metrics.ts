/**
 * GLUE metrics on plain number arrays (predictions, labels). Degenerate cases where a metric is
 * undefined (a zero denominator, a constant series) give 0 rather than NaN, as scikit-learn does
 * for MCC: one NaN would otherwise poison the mean over seeds in the results table.
 */

export type GlueMetric = 'accuracy' | 'f1_accuracy' | 'matthews' | 'pearson_spearman';

function checkPair(preds: number[], labels: number[]): void {
  if (preds.length !== labels.length) {
    throw new Error(`metric inputs differ in length: ${preds.length} predictions, ${labels.length} labels`);
  }
  if (preds.length === 0) throw new Error('metric inputs are empty');
}

export function accuracy(preds: number[], labels: number[]): number {
  checkPair(preds, labels);
  let hit = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) hit++;
  return hit / preds.length;
}

/** F1 of the positive class 1 (MRPC's "paraphrase"). */
export function f1Binary(preds: number[], labels: number[]): number {
  checkPair(preds, labels);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i] === 1;
    const l = labels[i] === 1;
    if (p && l) tp++;
    else if (p) fp++;
    else if (l) fn++;
  }
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? 0 : (2 * tp) / denom;
}

/**
 * Matthews correlation in its multiclass form (Gorodkin's R_K, as scikit-learn computes it);
 * for two classes it equals (tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)).
 */
export function matthewsCorrelation(preds: number[], labels: number[]): number {
  checkPair(preds, labels);
  const predCount = new Map<number, number>();
  const trueCount = new Map<number, number>();
  let correct = 0;
  for (let i = 0; i < preds.length; i++) {
    predCount.set(preds[i]!, (predCount.get(preds[i]!) ?? 0) + 1);
    trueCount.set(labels[i]!, (trueCount.get(labels[i]!) ?? 0) + 1);
    if (preds[i] === labels[i]) correct++;
  }
  const s = preds.length;
  let pt = 0;
  for (const [k, p] of predCount) pt += p * (trueCount.get(k) ?? 0);
  let pp = 0;
  for (const p of predCount.values()) pp += p * p;
  let tt = 0;
  for (const t of trueCount.values()) tt += t * t;
  const denom = Math.sqrt((s * s - pp) * (s * s - tt));
  return denom === 0 ? 0 : (correct * s - pt) / denom;
}

export function pearson(x: number[], y: number[]): number {
  checkPair(x, y);
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  // Two-pass (centred) sums: stable when the values sit far from zero.
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const denom = Math.sqrt(sxx * syy);
  if (denom === 0) return 0;
  // Rounding can push |r| a hair past 1.
  return Math.max(-1, Math.min(1, sxy / denom));
}

/** 1-based ranks, ties sharing the average of the ranks they span. */
export function averageRanks(values: number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = avg;
    i = j + 1;
  }
  return ranks;
}

export function spearman(x: number[], y: number[]): number {
  checkPair(x, y);
  return pearson(averageRanks(x), averageRanks(y));
}

export function computeGlueMetric(metric: GlueMetric, preds: number[], labels: number[]): Record<string, number> {
  switch (metric) {
    case 'accuracy':
      return { accuracy: accuracy(preds, labels) };
    case 'f1_accuracy':
      return { f1: f1Binary(preds, labels), accuracy: accuracy(preds, labels) };
    case 'matthews':
      return { matthews: matthewsCorrelation(preds, labels) };
    case 'pearson_spearman':
      return { pearson: pearson(preds, labels), spearman: spearman(preds, labels) };
    default:
      throw new Error(`unknown GLUE metric ${String(metric)}`);
  }
}

/** Mean and sample standard deviation (n-1); std is 0 for a single value. */
export function meanStd(values: number[]): { mean: number; std: number } {
  if (values.length === 0) throw new Error('meanStd of no values');
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0 };
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(ss / (n - 1)) };
}
