import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracy,
  averageRanks,
  computeGlueMetric,
  f1Binary,
  matthewsCorrelation,
  meanStd,
  pearson,
  spearman,
} from '../../src/eval/metrics.js';

function close(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} != ${expected}`);
}

test('accuracy', () => {
  assert.equal(accuracy([1, 0, 1, 1], [1, 1, 1, 0]), 0.5);
  assert.equal(accuracy([2, 1, 0], [2, 1, 0]), 1);
  assert.throws(() => accuracy([1], [1, 0]), /differ in length/);
  assert.throws(() => accuracy([], []), /empty/);
});

test('f1 of the positive class', () => {
  // tp=2 fp=1 fn=1 -> 2*2 / (4+1+1)
  close(f1Binary([1, 1, 0, 0, 1], [1, 0, 0, 1, 1]), 2 / 3);
  assert.equal(f1Binary([1, 1], [1, 1]), 1);
  assert.equal(f1Binary([0, 0], [0, 0]), 0, 'no positives anywhere: 0, not NaN');
  assert.equal(f1Binary([0, 0], [1, 1]), 0);
});

test('Matthews correlation', () => {
  // tp=2 fp=1 tn=2 fn=1 -> (4-1)/sqrt(3^4)
  close(matthewsCorrelation([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0]), 1 / 3);
  assert.equal(matthewsCorrelation([1, 0, 1, 0], [1, 0, 1, 0]), 1);
  assert.equal(matthewsCorrelation([0, 1, 0, 1], [1, 0, 1, 0]), -1);
  // A constant predictor (CoLA's classic failure) makes a denominator factor 0.
  assert.equal(matthewsCorrelation([1, 1, 1, 1], [1, 0, 1, 0]), 0);
  assert.equal(matthewsCorrelation([0, 1, 0, 1], [1, 1, 1, 1]), 0);
  // Three classes: c=2 s=4, sum(p_k t_k)=5, sum p^2 = sum t^2 = 6 -> (8-5)/10.
  close(matthewsCorrelation([0, 1, 2, 0], [0, 1, 1, 2]), 0.3);
});

test('Pearson and Spearman (ties get average ranks)', () => {
  const x = [1, 2, 3, 4, 5];
  const y = [2, 4, 5, 4, 5];
  close(pearson(x, y), 6 / Math.sqrt(60)); // scipy: 0.7745966692414835
  assert.deepEqual(averageRanks(y), [1, 2.5, 4.5, 2.5, 4.5]);
  close(spearman(x, y), 7 / Math.sqrt(90)); // scipy: 0.7378647873726218
  close(pearson([1e9 + 1, 1e9 + 2, 1e9 + 3], [3, 2, 1]), -1);
  assert.equal(spearman([3, 1, 2], [30, 10, 20]), 1);
  assert.equal(pearson([1, 1, 1], [1, 2, 3]), 0, 'constant series: 0, not NaN');
  assert.equal(spearman([1, 2, 3], [5, 5, 5]), 0);
});

test('computeGlueMetric returns the named keys', () => {
  assert.deepEqual(computeGlueMetric('accuracy', [1, 0], [1, 1]), { accuracy: 0.5 });
  const fa = computeGlueMetric('f1_accuracy', [1, 1, 0, 0, 1], [1, 0, 0, 1, 1]);
  assert.deepEqual(Object.keys(fa), ['f1', 'accuracy']);
  close(fa.f1!, 2 / 3);
  close(fa.accuracy!, 0.6);
  assert.deepEqual(computeGlueMetric('matthews', [1, 0, 1, 0], [1, 0, 1, 0]), { matthews: 1 });
  const ps = computeGlueMetric('pearson_spearman', [1, 2, 3, 4, 5], [2, 4, 5, 4, 5]);
  assert.deepEqual(Object.keys(ps), ['pearson', 'spearman']);
  close(ps.spearman!, 7 / Math.sqrt(90));
});

test('meanStd uses the sample standard deviation', () => {
  const r = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(r.mean, 5);
  close(r.std, Math.sqrt(32 / 7));
  assert.deepEqual(meanStd([0.8]), { mean: 0.8, std: 0 });
  assert.throws(() => meanStd([]), /no values/);
});
