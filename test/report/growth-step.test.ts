// The growth-step experiment's set-up and arithmetic, without training: each variant's stages and
// learning rates are what a preset run would use, and the summary calls a difference noise
// unless it beats the seeds' spread. (The experiment itself is never part of the test suite.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presetConfig } from '../../src/model/index.js';
import { resolveConfig, parseConfig } from '../../src/train/config.js';
import { stageLr } from '../../src/schedule/plan.js';
import { VARIANTS, variantStages } from '../../src/report/growth-step.js';
import { summarise } from '../../src/report/growth-step-report.js';

const target = presetConfig('tiny', 1000);
const c = resolveConfig(parseConfig({ preset: 'tiny' }, 'test'));
const o = { growSteps: 200, grownShare: 0.3 };
const v = (n: string) => VARIANTS.find((x) => x.name === n)!;
const lrOf = (name: string, steps = 200) => {
  const st = variantStages(v(name), target, c, o, steps);
  return {
    st,
    lr: stageLr(st, {
      peak: 1,
      warmupSteps: Math.round(0.05 * st.reduce((a, s) => a + s.steps, 0)),
      decay: 'linear',
      power: 1,
    }),
  };
};

test("growth-step variants: a virtual small stage, then the grown stage(s) with the variant's LR horizon", () => {
  const base = lrOf('base');
  assert.deepEqual(
    base.st.map((s) => [s.steps, s.config.numHiddenLayers, s.config.intermediateSize, s.config.poolingSize]),
    [
      [467, 1, 128, 2],
      [200, 2, 512, 1],
    ],
  );
  const g = 467;
  // horizon run: the warmup restarts (5% of 200 = 10 steps) up to the run-long decay, which is
  // at (1 - (467 - 33) / (667 - 33)) of the peak there, 0 at the end
  assert.equal(base.lr.lrAt(g), 0);
  const atGrowth = 1 - (g + 10 - 33) / (667 - 33);
  assert.ok(Math.abs(base.lr.lrAt(g + 10) - atGrowth) < 1e-12);
  assert.ok(base.lr.lrAt(666) < 0.01);
  // horizon stage: up to the peak, then to 0 at the stage's end; none: the peak to the end
  assert.equal(lrOf('horizon-stage').lr.lrAt(g + 10), 1);
  assert.equal(lrOf('horizon-none').lr.lrAt(666), 1);
  // staged: depth first for half the steps (FFN/4 and pooling kept), then the target
  const staged = lrOf('staged').st;
  assert.deepEqual(
    staged.map((s) => [s.steps, s.config.numHiddenLayers, s.config.intermediateSize, s.config.poolingSize]),
    [
      [467, 1, 128, 2],
      [100, 2, 128, 2],
      [100, 2, 512, 1],
    ],
  );
  // the control continues the small model without a warmup restart
  const ctl = lrOf('small-continued', 500);
  assert.deepEqual(
    ctl.st.map((s) => [s.steps, s.config.numHiddenLayers]),
    [
      [467, 1],
      [500, 1],
    ],
  );
  assert.ok(ctl.lr.lrAt(g) > 0.5);
});

test("growth-step summary: mean, range, and differences from base within or beyond the seeds' spread", () => {
  const run = (variant: string, seed: number, losses: number[]) => ({
    variant,
    seed,
    steps: losses.map((_, i) => 25 * i),
    seconds: losses.map((_, i) => 10 * i),
    valLoss: losses,
    lossBeforeGrowth: 6,
    copyGap: 0.1,
  });
  const vs = [v('base'), v('noise-0'), v('noise-0.1')];
  const sums = summarise(
    [
      run('base', 0, [6.1, 5.9]),
      run('base', 1, [6.1, 5.7]),
      run('noise-0', 0, [6.1, 5.85]),
      run('noise-0', 1, [6.1, 5.75]),
      run('noise-0.1', 0, [6.2, 5.3]),
      run('noise-0.1', 1, [6.2, 5.31]),
    ],
    vs,
  );
  assert.equal(sums[0].vsBase, null);
  assert.ok(Math.abs(sums[0].final.mean - 5.8) < 1e-12);
  assert.equal(sums[1].vsBase!.beyondNoise, false, 'a 0.0 mean difference inside a 0.1 spread is noise');
  assert.equal(sums[2].vsBase!.beyondNoise, true);
  assert.ok(sums[2].vsBase!.delta < -0.4);
  assert.deepEqual(
    sums[2].curve.map((p) => p.step),
    [0, 25],
  );
});

test('copy gap after hidden growth: the units growth made equal are found, and start 0 apart', async () => {
  const { BertForMaskedLM } = await import('../../src/model/index.js');
  const { growHidden } = await import('../../src/grow/index.js');
  const { equalColumnPairs, embeddingCopyGap } = await import('../../src/report/copy-gap.js');
  const m = new BertForMaskedLM(
    { vocabSize: 40, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32 },
    { seed: 1 },
  );
  for (const [op, n] of [
    ['lemon', 7], // the 8 mean units: each of the last 7 equals the first
    ['fpi', 8], // each of the 8 extra units equals the unit it copies
  ] as const) {
    const r = growHidden({ model: m }, { hiddenSize: 24 }, { op, seed: 3 });
    const pairs = equalColumnPairs(r.model, 16);
    assert.equal(pairs.length, n, op);
    assert.ok(pairs.every(([a, b]) => a < b && b >= 16));
    assert.equal(embeddingCopyGap(r.model, pairs), 0);
    r.model.dispose();
  }
  m.dispose();
});
