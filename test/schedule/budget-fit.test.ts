// Stages given in steps or tokens that run past an explicit --budget are refused, naming both
// figures (the plan used to run 8x the budget silently); without --budget their steps stand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bertConfig } from '../../src/model/index.js';
import { parseBudget, resolveSchedule } from '../../src/schedule/plan.js';
import { parseSchedule, type Schedule } from '../../src/schedule/schedule.js';

const target = bertConfig({
  vocabSize: 100,
  hiddenSize: 16,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  intermediateSize: 32,
  maxPositionEmbeddings: 64,
});
const sched = (stages: object[]): Schedule => parseSchedule({ name: 'custom', stages }, 'schedule custom');
const run = (budget: ReturnType<typeof parseBudget>) => ({
  target,
  seqLength: 16,
  batchSize: 4,
  maskProb: 0.15,
  gradAccumulation: 1,
  budget,
});

test('fixed stages beyond an explicit budget are an error naming both figures', () => {
  const s = sched([{ steps: 600, model: { numHiddenLayers: 1 } }, { steps: 200 }]);
  assert.throws(
    () => resolveSchedule(s, run(parseBudget('100'))),
    (e: Error) => e.name === 'GrowbertError' && /its stages take 800 steps but the budget is 100 steps/.test(e.message),
  );
  assert.throws(
    () => resolveSchedule(sched([{ tokens: 10000 }]), run(parseBudget('1ktok'))),
    /take 10048 tokens but the budget is 1000 tokens/,
  );
  assert.deepEqual(
    resolveSchedule(s, run(parseBudget('800'))).map((x) => x.steps),
    [600, 200],
  );
  // no --budget: the default budget (max steps) does not bind fixed stages
  assert.deepEqual(
    resolveSchedule(s, run({ unit: 'steps', amount: 100, label: '100 steps' })).map((x) => x.steps),
    [600, 200],
  );
});
