// The comparison's arithmetic: interpolated cost to reach the baseline loss, speedups, and the
// small-only control that decides whether a speedup means anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyse, costToReach, curveFromMetrics, type Curve } from '../../src/report/analysis.js';

const curve = (name: string, pts: [number, number, number][]): Curve => ({
  name, grows: [], evals: pts.map(([seconds, flops, valLoss], i) => ({ step: i + 1, seconds, flops, valLoss })),
});

test('costToReach interpolates between evaluations', () => {
  const c = curve('a', [[10, 100, 5], [20, 200, 3], [30, 300, 2]]);
  assert.equal(costToReach(c, 4, 'seconds'), 15);
  assert.equal(costToReach(c, 3, 'flops'), 200);
  assert.equal(costToReach(c, 6, 'seconds'), 10);
  assert.equal(costToReach(c, 1, 'seconds'), null);
});

test('speedup = baseline cost / method cost - 1, flagged when full loses to small-only', () => {
  const full = curve('full', [[10, 100, 4], [40, 400, 2]]);
  const grow = curve('compound', [[10, 50, 3], [20, 100, 2], [30, 150, 1.8]]);
  const small = curve('small-only', [[10, 50, 3], [30, 150, 2.5]]);
  const r = analyse('5m', [full, grow, small]);
  assert.equal(r.baselineFinalLoss, 2);
  assert.equal(r.fullBeatsSmallOnly, true);
  const g = r.schedules.find((s) => s.name === 'compound')!;
  assert.equal(g.secondsToBaselineLoss, 20);
  assert.equal(g.speedupTime, 40 / 20 - 1);
  assert.equal(g.speedupFlops, 400 / 100 - 1);
  assert.equal(g.finalValLoss, 1.8);
  assert.equal(g.meaningful, true);
  assert.equal(r.schedules.find((s) => s.name === 'small-only')!.speedupTime, null);
  const better = curve('small-only', [[10, 50, 2.5], [30, 150, 1.9]]);
  const r2 = analyse('5m', [full, grow, better]);
  assert.equal(r2.fullBeatsSmallOnly, false);
  assert.ok(r2.schedules.every((s) => !s.meaningful));
});

test('curves come from metrics lines: evaluations and growth events', () => {
  const c = curveFromMetrics('x', [
    { step: 1, seconds: 1, flops: 10, loss: 9 },
    { step: 2, seconds: 2, flops: 20, valLoss: 8 },
    { step: 2, seconds: 2, flops: 20, event: 'grow', stage: 1 },
    { step: 2, seconds: 2, flops: 20, valLoss: 8.1 },
  ]);
  assert.equal(c.evals.length, 2);
  assert.deepEqual(c.grows, [{ step: 2, seconds: 2, flops: 20 }]);
});
