// The comparison's arithmetic: interpolated cost to reach the baseline loss, speedups, and the
// small-only control that decides whether a speedup means anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateSeeds, analyse, costToReach, curveFromMetrics, type Curve } from '../../src/report/analysis.js';

const curve = (name: string, pts: [number, number, number][]): Curve => ({
  name,
  grows: [],
  evals: pts.map(([seconds, flops, valLoss], i) => ({ step: i + 1, seconds, flops, valLoss })),
});

test('costToReach interpolates between evaluations', () => {
  const c = curve('a', [
    [10, 100, 5],
    [20, 200, 3],
    [30, 300, 2],
  ]);
  assert.equal(costToReach(c, 4, 'seconds'), 15);
  assert.equal(costToReach(c, 3, 'flops'), 200);
  assert.equal(costToReach(c, 6, 'seconds'), 10);
  assert.equal(costToReach(c, 1, 'seconds'), null);
});

test('speedup = baseline cost / method cost - 1, flagged when full loses to small-only', () => {
  const full = curve('full', [
    [10, 100, 4],
    [40, 400, 2],
  ]);
  const grow = curve('compound', [
    [10, 50, 3],
    [20, 100, 2],
    [30, 150, 1.8],
  ]);
  const small = curve('small-only', [
    [10, 50, 3],
    [30, 150, 2.5],
  ]);
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
  const better = curve('small-only', [
    [10, 50, 2.5],
    [30, 150, 1.9],
  ]);
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

test("several seeds: mean and range per schedule; a difference inside the seeds' spread is noise", () => {
  // seed 0 and seed 1: full ends at 2.0 / 2.2, compound at 1.9 / 2.25 (within noise of full),
  // small-only at 2.6 / 2.7 (beyond noise: full beats it)
  const seed = (f: number, c: number, s: number, reach: boolean) =>
    analyse('b', [
      curve('full', [
        [10, 100, 4],
        [40, 400, f],
      ]),
      curve('compound', [
        [10, 100, 3],
        [20, 200, reach ? f : 3],
        [40, 400, c],
      ]),
      curve('small-only', [
        [10, 100, 3],
        [40, 400, s],
      ]),
    ]);
  const r = aggregateSeeds([0, 1], [seed(2.0, 1.9, 2.6, true), seed(2.2, 2.25, 2.7, false)]);
  const get = (n: string) => r.schedules.find((s) => s.name === n)!;
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  near(get('full').finalValLoss.mean, 2.1);
  assert.deepEqual(
    [get('compound').finalValLoss.min, get('compound').finalValLoss.max, get('compound').finalValLoss.n],
    [1.9, 2.25, 2],
  );
  near(get('compound').vsFull.delta, -0.025);
  near(get('compound').vsFull.noise, 0.1 + 0.175);
  assert.equal(get('compound').vsFull.beyondNoise, false);
  assert.equal(get('small-only').vsFull.beyondNoise, true);
  assert.equal(r.fullBeatsSmallOnly, 'yes');
  // seed 0's compound reached full's loss at 20 s (full took 40 s: +100%); seed 1's never did
  // (2.25 > 2.2): the speedup is over the one seed that reached it, and says so
  assert.equal(get('compound').reached, 1);
  assert.equal(get('compound').speedupTime!.n, 1);
  near(get('compound').speedupTime!.mean, 1);
  // a control within the spread is reported as such, not as a win for either side
  const close = aggregateSeeds([0, 1], [seed(2.0, 1.9, 2.05, true), seed(2.2, 2.25, 2.15, true)]);
  assert.equal(close.fullBeatsSmallOnly, 'within noise');
});
