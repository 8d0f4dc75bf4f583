// resolveConfig owns the run-length defaults (pretrain no longer re-derives them): warmup 5% and
// about 20 evaluations of the run's steps (which a budget may set), checkpoints at evaluations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, resolveConfig } from '../../src/train/config.js';

test('run-length defaults follow the planned steps; explicit values win', () => {
  const c = parseConfig({ preset: 'tiny', train: { maxSteps: 200 } });
  const byMax = resolveConfig(c).train;
  assert.deepEqual([byMax.warmupSteps, byMax.evalEvery, byMax.checkpointEvery], [10, 10, 10]);
  // a budget planned 1000 steps: the defaults scale with those, not with maxSteps
  const byPlan = resolveConfig(c, 1000).train;
  assert.deepEqual([byPlan.warmupSteps, byPlan.evalEvery, byPlan.checkpointEvery], [50, 50, 50]);
  assert.equal(resolveConfig(c, 7).train.evalEvery, 1); // never 0
  const set = resolveConfig(parseConfig({ train: { warmupSteps: 3, evalEvery: 40 } }), 1000).train;
  assert.deepEqual([set.warmupSteps, set.evalEvery, set.checkpointEvery], [3, 40, 40]);
  assert.equal(
    resolveConfig(parseConfig({ train: { evalEvery: 40, checkpointEvery: 100 } })).train.checkpointEvery,
    100,
  );
});
