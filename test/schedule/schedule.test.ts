// Growth schedules: bad schedules are one-line errors naming the problem, budgets parse, the
// presets resolve to the documented stage shapes for every model size, and the per-stage LR
// policies give the documented curves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GrowbertError } from '../../src/io/errors.js';
import { DEPTH_OPS, FFN_OPS, HIDDEN_OPS, OPTIMIZER_POLICIES } from '../../src/grow/index.js';
import { PRESETS, presetConfig, type BertConfig, type PresetName } from '../../src/model/config.js';
import {
  COMPOUND_FRACTIONS,
  PRESET_LR_HORIZON,
  PRESET_OPTIMIZER,
  SCHEDULE_PRESETS,
  loadSchedule,
  parseSchedule,
  presetSchedule,
  type ScheduleInput,
} from '../../src/schedule/schedule.js';
import { parseBudget, resolveSchedule, stageLr, type Budget, type RunShape } from '../../src/schedule/plan.js';
import { stepFlops } from '../../src/schedule/cost.js';
import { lrAt, parseLrConfig } from '../../src/schedule/lr.js';
import { TRAIN_PRESETS } from '../../src/train/config.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-schedule-'));

/** A one-line GrowbertError whose message matches every pattern. */
function oneLine(...patterns: RegExp[]) {
  return (e: unknown) => {
    assert.ok(e instanceof GrowbertError, `expected a GrowbertError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `one line, got:\n${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  };
}

const target: BertConfig = presetConfig('tiny', 100, {
  hiddenSize: 32,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  intermediateSize: 64,
  maxPositionEmbeddings: 64,
});
const steps = (n: number): Budget => ({ unit: 'steps', amount: n, label: `${n}` });
function run(over: Partial<RunShape> = {}): RunShape {
  return { target, seqLength: 32, batchSize: 8, maskProb: 0.15, gradAccumulation: 1, budget: steps(100), ...over };
}
const resolve = (stages: ScheduleInput['stages'], over: Partial<RunShape> = {}, name = 'custom') =>
  resolveSchedule(parseSchedule({ name, stages }), run(over));

// ---- Validation --------------------------------------------------------------------------------

test('a stage needs exactly one budget', () => {
  assert.throws(
    () => parseSchedule({ stages: [{ steps: 5, fraction: 0.5 }] }),
    oneLine(/^schedule: stages\.0: /, /exactly one budget: steps, tokens or fraction \(it has 2\)/),
  );
  assert.throws(
    () => parseSchedule({ stages: [{ steps: 5 }, { steps: 3, tokens: 100, fraction: 0.1 }] }),
    oneLine(/stages\.1/, /it has 3/),
  );
  assert.throws(
    () => parseSchedule({ stages: [{ model: { numHiddenLayers: 1 } }] }),
    oneLine(/stages\.0/, /exactly one budget.*it has 0/),
  );
  assert.throws(() => parseSchedule({ stages: [] }), oneLine(/stages/));
  // one of each kind is fine
  for (const b of [{ steps: 5 }, { tokens: 100 }, { fraction: 1 }])
    assert.equal(parseSchedule({ stages: [b] }).stages.length, 1);
});

test('stage fractions may not exceed the whole budget', () => {
  assert.throws(
    () => parseSchedule({ stages: [{ fraction: 0.7 }, { fraction: 0.5 }] }),
    oneLine(/fractions add up to 1\.200/, /at most 1/),
  );
  assert.throws(() => parseSchedule({ stages: [{ fraction: 1.5 }] }), oneLine(/stages\.0\.fraction/));
  assert.throws(() => parseSchedule({ stages: [{ fraction: 0 }] }), oneLine(/stages\.0\.fraction/));
  // up to 1 is fine (rounding included), and fractions mix with fixed budgets
  parseSchedule({ stages: [{ fraction: 0.7 }, { fraction: 0.2 }, { fraction: 0.1 }] });
  parseSchedule({ stages: [{ steps: 10 }, { fraction: 1 }] });
});

test('stage operators: every operator the growth code knows, and lnTransfer, are accepted', () => {
  for (const depth of DEPTH_OPS)
    for (const ffn of FFN_OPS)
      for (const optimizer of OPTIMIZER_POLICIES) {
        const st = parseSchedule({
          stages: [{ steps: 5 }, { steps: 5, ops: { depth, ffn, hidden: HIDDEN_OPS[0] }, optimizer }],
        }).stages[1];
        assert.deepEqual([st.ops.depth, st.ops.ffn, st.optimizer], [depth, ffn, optimizer]);
      }
  const st = parseSchedule({ stages: [{ steps: 5 }, { steps: 5, ops: { depth: 'identity', lnTransfer: false } }] })
    .stages[1];
  assert.equal(st.ops.lnTransfer, false);
  assert.throws(
    () => parseSchedule({ stages: [{ steps: 5, ops: { lnTransfer: 'no' } }] }),
    oneLine(/stages\.0\.ops\.lnTransfer/),
  );
});

test('unknown keys are named with where they are', () => {
  assert.throws(
    () => parseSchedule({ stages: [{ steps: 5, modle: {} }] }),
    oneLine(/unknown field\(s\) 'modle' in stages\.0/),
  );
  assert.throws(
    () => parseSchedule({ stages: [{ steps: 5, model: { layers: 2 } }] }),
    oneLine(/unknown field\(s\) 'layers' in stages\.0\.model/),
  );
  assert.throws(
    () => parseSchedule({ stages: [{ steps: 5, ops: { depth: 'stack', width: 'share' } }] }),
    oneLine(/'width' in stages\.0\.ops/),
  );
  assert.throws(
    () => parseSchedule({ stages: [{ steps: 5, lr: { policy: 'restart', peek: 1 } }] }),
    oneLine(/'peek' in stages\.0\.lr/),
  );
  assert.throws(() => parseSchedule({ stages: [{ steps: 5 }], stagse: [] }), oneLine(/'stagse' in \(top level\)/));
  assert.throws(
    () => parseSchedule({ stages: [{ steps: 5, ops: { depth: 'copy' } }] }),
    oneLine(/stages\.0\.ops\.depth/),
  );
  assert.throws(
    () => parseSchedule({ stages: [{ steps: 5, lr: { policy: 'warm' } }] }),
    oneLine(/stages\.0\.lr\.policy/),
  );
  assert.throws(() => parseSchedule({ stages: [{ steps: 5, optimizer: 'keep' }] }), oneLine(/stages\.0\.optimizer/));
  assert.throws(
    () => parseSchedule({ stages: [{ steps: 2.5 }] }, 'schedule x.json'),
    oneLine(/^schedule x\.json: stages\.0\.steps/),
  );
});

test('unknown preset names list the presets; files are read and checked', () => {
  const list = new RegExp(SCHEDULE_PRESETS.join(', '));
  assert.throws(() => presetSchedule('grow-fast', target, 32), oneLine(/unknown schedule 'grow-fast'/, list));
  assert.throws(() => loadSchedule('grow-fast', target, 32), oneLine(/unknown schedule 'grow-fast'/, list));
  assert.throws(
    () => loadSchedule(path.join(tmp, 'missing.json'), target, 32),
    oneLine(/missing\.json does not exist/, list),
  );
  const bad = path.join(tmp, 'bad.json');
  fs.writeFileSync(bad, '{"stages": [');
  assert.throws(() => loadSchedule(bad, target, 32), oneLine(/bad\.json is not valid JSON/));
  const two = path.join(tmp, 'two.json');
  fs.writeFileSync(two, JSON.stringify({ stages: [{ steps: 3, tokens: 5 }] }));
  assert.throws(
    () => loadSchedule(two, target, 32),
    oneLine(/^schedule .*two\.json: stages\.0: give a stage exactly one budget/),
  );
  const good = path.join(tmp, 'good.json');
  fs.writeFileSync(
    good,
    JSON.stringify({ name: 'mine', stages: [{ steps: 3, model: { numHiddenLayers: 1 } }, { steps: 4 }] }),
  );
  const s = loadSchedule(good, target, 32);
  assert.equal(s.name, 'mine');
  assert.deepEqual(
    s.stages.map((x) => [x.steps, x.lr.policy, x.optimizer]),
    [
      [3, 'restart', 'map'],
      [4, 'restart', 'map'],
    ],
  );
  assert.equal(loadSchedule('compound', target, 32).name, 'compound');
});

test('the last stage must be the target model', () => {
  assert.throws(
    () => resolve([{ steps: 5 }, { steps: 5, model: { numHiddenLayers: 1 } }]),
    oneLine(/last stage has numHiddenLayers 1 but the target has 2/, /end with the target model/),
  );
  assert.throws(
    () => resolve([{ steps: 5, model: { intermediateSize: 16 } }]),
    oneLine(/intermediateSize 16 but the target has 64/),
  );
  assert.throws(
    () => resolve([{ steps: 5, model: { hiddenSize: 64, numAttentionHeads: 4 } }]),
    oneLine(/hiddenSize 64 but the target has 32/),
  );
  assert.throws(
    () => resolve([{ steps: 5 }, { steps: 5, model: { poolingSize: 2 } }]),
    oneLine(/poolingSize 2 but the target has 1/),
  );
  assert.throws(
    () => resolve([{ steps: 5 }, { steps: 5, model: { ffnRank: 8 } }]),
    oneLine(/ffnRank 8 but the target has 0/),
  );
  // only small-only (the control) ends small
  assert.equal(resolveSchedule(presetSchedule('small-only', target, 32), run()).length, 1);
  // a bad stage shape is a one-line config error too
  assert.throws(
    () => resolve([{ steps: 5, model: { numAttentionHeads: 3 } }, { steps: 5 }]),
    oneLine(/hiddenSize 32 is not divisible by numAttentionHeads 3/),
  );
});

test('a stage sequence length must fit the position table', () => {
  assert.throws(
    () => resolve([{ steps: 5, seqLength: 128 }, { steps: 5 }]),
    oneLine(/stage 1 uses sequences of 128 but the model has 64 positions/),
  );
  assert.throws(() => resolve([{ steps: 5 }], { seqLength: 65 }), oneLine(/stage 1 uses sequences of 65/));
  const ok = resolve([
    { steps: 5, seqLength: 16 },
    { steps: 5, seqLength: 64 },
  ]);
  assert.deepEqual(
    ok.map((s) => s.seqLength),
    [16, 64],
  );
  assert.deepEqual(
    ok.map((s) => s.maxPredictions),
    [2, 10],
  ); // round(0.15 * S)
});

test('bad budgets are one-line errors', () => {
  for (const b of ['5x', '', 'abc', '-5', '0', '0steps', '5 parsecs', '1e3', '2Gtok', 'steps', '5mm']) {
    assert.throws(
      () => parseBudget(b),
      oneLine(
        new RegExp(`budget '${b}'`),
        /steps \(600\), tokens \(2Mtok\), time \(90s, 5m, 1h\) or FLOPs \(5e13flops\)|must be (positive|at least 1)/,
      ),
      `budget '${b}'`,
    );
  }
});

// ---- Budgets -------------------------------------------------------------------------------------

test('budgets beyond exact counting, fractional steps and an empty budget are refused (issue 27)', () => {
  const cases: [string, RegExp][] = [
    ['1e400flops', /budget '1e400flops' is infinite \(beyond a double\), more than growbert counts exactly/],
    ['100000000000000000000', /is 1\.00e\+20 steps, more than growbert counts exactly \(2\^53/],
    ['20000000000000000Mtok', /is 2\.00e\+22 tokens, more than growbert counts exactly/],
    ['1.5', /budget '1\.5' is 1\.5 steps; a budget of steps is a whole number: write 1 or 2/],
    ['10.5tok', /is 10\.5 tokens; a budget of tokens is a whole number/],
    ['', /budget '' is empty/],
    ['  ', /budget ' {2}' is empty/],
  ];
  for (const [b, re] of cases) assert.throws(() => parseBudget(b), oneLine(re), b);
  assert.equal(parseBudget('1.1k').amount, 1100, 'a decimal with a unit that makes a whole number');
  assert.equal(parseBudget('5e19flops').amount, 5e19, 'FLOPs are an estimate: above 2^53 is fine');
  // ...but the steps they buy must be countable
  assert.throws(
    () => resolve([{ fraction: 1 }], { budget: parseBudget('1e40flops') }),
    oneLine(/stage 1 would take [\d.]+e\+\d+ steps \(budget 1e40flops\), more than growbert counts exactly/),
  );
});

test('parseBudget: steps, tokens and time', () => {
  const cases: [string, Budget['unit'], number][] = [
    ['600', 'steps', 600],
    ['600steps', 'steps', 600],
    ['1step', 'steps', 1],
    ['1.5k', 'steps', 1500],
    ['2k steps', 'steps', 2000],
    ['2Mtok', 'tokens', 2_000_000],
    ['2000000tokens', 'tokens', 2_000_000],
    ['1.5Mtok', 'tokens', 1_500_000],
    ['300ktokens', 'tokens', 300_000],
    ['90s', 'seconds', 90],
    ['90sec', 'seconds', 90],
    ['5m', 'seconds', 300],
    ['5min', 'seconds', 300],
    ['1h', 'seconds', 3600],
    ['1.5h', 'seconds', 5400],
    [' 600 ', 'steps', 600],
  ];
  for (const [text, unit, amount] of cases) {
    const b = parseBudget(text);
    assert.deepEqual([b.unit, b.amount], [unit, amount], `budget '${text}'`);
    assert.equal(b.label, text.trim());
  }
});

test('budgets divide among fraction stages; steps and tokens stages are fixed', () => {
  const fr = [{ fraction: 0.7, model: { numHiddenLayers: 1 } }, { fraction: 0.3 }];
  assert.deepEqual(
    resolve(fr, { budget: steps(1000) }).map((s) => [s.startStep, s.steps]),
    [
      [0, 700],
      [700, 300],
    ],
  );
  // tokens: 8 x 32 = 256 tokens per step (x 2 with accumulation)
  assert.deepEqual(
    resolve(fr, { budget: parseBudget('256ktok') }).map((s) => s.steps),
    [700, 300],
  );
  assert.deepEqual(
    resolve(fr, { budget: parseBudget('256ktok'), gradAccumulation: 2 }).map((s) => s.steps),
    [350, 150],
  );
  // a stage's own batch and length change its tokens per step
  assert.deepEqual(
    resolve([{ fraction: 0.5, batchSize: 4, seqLength: 16, model: { numHiddenLayers: 1 } }, { fraction: 0.5 }], {
      budget: parseBudget('25600tok'),
    }).map((s) => s.steps),
    [200, 50],
  );
  assert.deepEqual(
    resolve([{ steps: 7 }, { tokens: 1000 }], { budget: steps(5) }).map((s) => s.steps),
    [7, 4],
  ); // ceil(1000 / 256)
  // time: seconds per step from the calibration; without one it is an error
  const timed = resolve(fr, {
    budget: parseBudget('10s'),
    secondsPerStep: (s) => (s.config.numHiddenLayers === 1 ? 0.01 : 0.02),
  });
  assert.deepEqual(
    timed.map((s) => s.steps),
    [700, 150],
  );
  assert.throws(
    () => resolve(fr, { budget: parseBudget('10s') }),
    oneLine(/time budget needs a step-time calibration/),
  );
  // every stage gets at least one step
  assert.deepEqual(
    resolve([{ fraction: 0.001, model: { numHiddenLayers: 1 } }, { fraction: 0.999 }], { budget: steps(100) }).map(
      (s) => s.steps,
    ),
    [1, 100],
  );
});

// ---- Presets -------------------------------------------------------------------------------------

test('presets resolve to the documented stage shapes for every model size', () => {
  for (const size of Object.keys(PRESETS) as PresetName[]) {
    const t = presetConfig(size, 30522);
    const S = TRAIN_PRESETS[size].seqLength;
    const N = t.numHiddenLayers,
      F = t.intermediateSize;
    const halfN = Math.max(1, Math.floor(N / 2)),
      quarterF = Math.floor(F / 4);
    const r: RunShape = {
      target: t,
      seqLength: S,
      batchSize: 8,
      maskProb: 0.15,
      gradAccumulation: 1,
      budget: steps(1000),
    };
    const got = (name: string) =>
      resolveSchedule(presetSchedule(name, t, S), r).map((s) => ({
        steps: s.steps,
        layers: s.config.numHiddenLayers,
        ffn: s.config.intermediateSize,
        hidden: s.config.hiddenSize,
        pooling: s.config.poolingSize,
        seq: s.seqLength,
      }));
    const shape = (steps: number, o: { layers?: number; ffn?: number; pooling?: number; seq?: number } = {}) => ({
      steps,
      layers: o.layers ?? N,
      ffn: o.ffn ?? F,
      hidden: t.hiddenSize,
      pooling: o.pooling ?? 1,
      seq: o.seq ?? S,
    });
    const at = `preset ${size}`;
    assert.deepEqual(got('full'), [shape(1000)], at);
    assert.deepEqual(got('stack'), [shape(500, { layers: halfN }), shape(500)], at);
    assert.deepEqual(got('length'), [shape(500, { pooling: 2 }), shape(500)], at);
    assert.deepEqual(got('truncate'), [shape(500, { seq: S / 2 }), shape(500)], at);
    assert.deepEqual(got('width'), [shape(500, { ffn: quarterF }), shape(500)], at);
    // compound: three stages (method.md): small; full depth stacked with the other reductions; full
    const [f1, f2] = COMPOUND_FRACTIONS;
    assert.deepEqual(
      got('compound'),
      [
        shape(1000 * f1, { layers: halfN, ffn: quarterF, pooling: 2 }),
        shape(1000 * f2, { ffn: quarterF, pooling: 2 }),
        shape(1000 * (1 - f1 - f2)),
      ],
      at,
    );
    assert.deepEqual(got('compound-1'), [shape(700, { layers: halfN, ffn: quarterF, pooling: 2 }), shape(300)], at);
    assert.deepEqual(got('small-only'), [shape(1000, { layers: halfN, ffn: quarterF, pooling: 2 })], at);
    // the operators that enter the grown stages
    assert.equal(presetSchedule('stack', t, S).stages[1].ops.depth, 'stack');
    assert.equal(presetSchedule('width', t, S).stages[1].ops.ffn, 'share');
    assert.deepEqual(
      presetSchedule('compound', t, S).stages.map((x) => x.ops),
      [{}, { depth: 'stack' }, { ffn: 'share' }],
    );
    assert.deepEqual(presetSchedule('compound-1', t, S).stages[1].ops, { depth: 'stack', ffn: 'share' });
    // every growing preset: warmup restart per stage with the chosen horizon, the chosen optimizer policy
    for (const name of SCHEDULE_PRESETS.filter((n) => n !== 'full' && n !== 'small-only')) {
      const st = presetSchedule(name, t, S).stages;
      assert.ok(
        st.every((x) => x.lr.policy === 'restart' && x.lr.horizon === PRESET_LR_HORIZON),
        `${at} ${name}: horizon`,
      );
      assert.ok(
        st.slice(1).every((x) => x.optimizer === PRESET_OPTIMIZER),
        `${at} ${name}: optimizer`,
      );
    }
    // each low-cost stage costs less per step than the target
    const full = resolveSchedule(presetSchedule('full', t, S), r)[0].flopsPerStep;
    for (const name of [
      'stack',
      'length',
      'truncate',
      'width',
      'compound',
      'compound-1',
      'stack-matched',
      'length-matched',
      'width-matched',
    ]) {
      const st = resolveSchedule(presetSchedule(name, t, S), r);
      const [small, big] = [st[0], st[st.length - 1]];
      assert.ok(small.flopsPerStep < full, `${at} ${name}: stage 1 is cheaper`);
      assert.equal(big.flopsPerStep, full, `${at} ${name}: the last stage is the target`);
      assert.equal(
        small.flopsPerStep,
        stepFlops({
          config: small.config,
          batchSize: 8,
          seqLength: small.seqLength,
          maxPredictions: small.maxPredictions,
        }),
      );
    }
    // cost-matched presets: compound's low-cost share of the budget, and no single-dimension
    // choice is closer to compound's average low-cost step than the one taken
    const comp = resolveSchedule(presetSchedule('compound', t, S), r);
    const lowCost =
      (comp[0].steps * comp[0].flopsPerStep + comp[1].steps * comp[1].flopsPerStep) /
      (comp[0].steps + comp[1].steps) /
      full;
    const stack = resolveSchedule(presetSchedule('stack-matched', t, S), r);
    assert.equal(stack[0].steps, comp[0].steps + comp[1].steps, `${at}: same split`);
    const rel = (layers: number) =>
      stepFlops({
        config: { ...t, numHiddenLayers: layers },
        batchSize: 8,
        seqLength: S,
        maxPredictions: stack[0].maxPredictions,
      }) / full;
    for (let L = 1; L < N; L++)
      assert.ok(
        Math.abs(rel(stack[0].config.numHiddenLayers) - lowCost) <= Math.abs(rel(L) - lowCost) + 1e-12,
        `${at}: ${L} layers would match better`,
      );
  }
  // the documented example: compound for base is 6 layers, FFN 768, pooling 2 for 50%, then 12 layers
  // with FFN 768 and pooling 2 for 20%, then the full model
  const base = resolveSchedule(presetSchedule('compound', presetConfig('base', 30522), 128), {
    ...run(),
    target: presetConfig('base', 30522),
    seqLength: 128,
    budget: steps(10000),
  });
  assert.deepEqual(
    base.map((s) => [s.config.numHiddenLayers, s.config.intermediateSize, s.config.poolingSize, s.steps]),
    [
      [6, 768, 2, 5000],
      [12, 768, 2, 2000],
      [12, 3072, 1, 3000],
    ],
  );
});

// ---- LR policies ---------------------------------------------------------------------------------

const PEAK = 1;
const lrOpts = { peak: PEAK, warmupSteps: 10, decay: 'linear' as const, power: 1 };
const near = (a: number, b: number, what = '') => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);
/** Two stages of 100 steps (stage 1 half depth), with the given lr blocks. */
function twoStages(lr1: object, lr2: object, n1 = 100, n2 = 100) {
  return resolve([
    { steps: n1, model: { numHiddenLayers: 1 }, lr: lr1 },
    { steps: n2, lr: lr2 },
  ]);
}

test('restart: each stage warms up and decays to 0 within itself', () => {
  const stages = twoStages({}, { policy: 'restart', warmup: 0.2 });
  const lr = stageLr(stages, lrOpts);
  assert.equal(lr.totalSteps, 200);
  // stage 1: the run's warmup (10 steps), then linear decay reaching 0 at the stage's end
  near(lr.lrAt(0), 0, 'stage 1 start');
  near(lr.lrAt(5), 0.5, 'stage 1 mid-warmup');
  near(lr.lrAt(10), PEAK, 'stage 1 peak');
  near(lr.lrAt(55), PEAK * (1 - 45 / 90), 'stage 1 mid-decay');
  near(lr.lrAt(99), PEAK * (1 / 90), 'stage 1 last step');
  // stage 2: back to 0, warmup 20% of the stage (20 steps), decay to 0 at its end
  near(lr.lrAt(100), 0, 'stage 2 start');
  near(lr.lrAt(110), 0.5, 'stage 2 mid-warmup');
  near(lr.lrAt(120), PEAK, 'stage 2 peak');
  near(lr.lrAt(199), PEAK * (1 / 80), 'stage 2 last step');
  near(lr.lrAt(200), 0, 'after the run');
  for (const [a, b] of [
    [10, 99],
    [120, 199],
  ])
    for (let i = a; i < b; i++) assert.ok(lr.lrAt(i + 1) < lr.lrAt(i), `decreasing at ${i}`);
  // the default restart warmup of a later stage is 5% of it; a stage's own peak is used
  const d = stageLr(twoStages({}, { peak: 0.5 }), lrOpts);
  near(d.lrAt(100), 0, 'default warmup start');
  near(d.lrAt(105), 0.5, 'default warmup: 5 steps to the stage peak');
  near(d.lrAt(199), 0.5 / 95, 'stage peak decays to 0');
});

test("restart on a one-stage run is the run's own schedule (its warmup steps count)", () => {
  const one = resolve([{ steps: 200 }]);
  const lr = stageLr(one, { ...lrOpts, warmupSteps: 30 });
  const want = parseLrConfig({ peak: PEAK, warmupSteps: 30, totalSteps: 200 });
  for (let i = 0; i <= 200; i++) near(lr.lrAt(i), lrAt(want, i), `step ${i}`);
});

test('restart horizons: stage decays to 0 at the stage end; run follows the run-long decay; none stays at the peak', () => {
  // stage 2 (100 of 200 steps) restarts its warmup (20% = 20 steps) under every horizon
  const at = (horizon: string) => stageLr(twoStages({ horizon }, { horizon, warmup: 0.2 }), lrOpts);
  const stage = at('stage'),
    runH = at('run'),
    none = at('none');
  const old = stageLr(twoStages({}, { warmup: 0.2 }), lrOpts);
  for (let i = 0; i <= 200; i++)
    near(stage.lrAt(i), old.lrAt(i), `no horizon = stage (saved schedules resume unchanged), step ${i}`);
  const g = parseLrConfig({ peak: PEAK, warmupSteps: 10, totalSteps: 200 });
  for (let i = 0; i < 100; i++) near(runH.lrAt(i), lrAt(g, i), `run: stage 1 is the run's schedule, step ${i}`);
  near(runH.lrAt(99), PEAK * (1 - 89 / 190), 'run: stage 1 ends mid-decay, not at 0');
  near(runH.lrAt(100), 0, 'run: warmup restarts');
  near(runH.lrAt(110), 0.5 * lrAt(g, 110), 'run: half way up the ramp, times the run-long decay');
  for (let i = 120; i <= 200; i++)
    near(runH.lrAt(i), lrAt(g, i), `run: after the warmup, the run-long decay, step ${i}`);
  near(none.lrAt(99), PEAK, 'none: no decay in stage 1');
  near(none.lrAt(100), 0, 'none: warmup restarts');
  near(none.lrAt(110), 0.5, 'none: half way up');
  for (let i = 120; i < 200; i++) near(none.lrAt(i), PEAK, `none: constant, step ${i}`);
  assert.throws(
    () => parseSchedule({ stages: [{ steps: 5, lr: { horizon: 'epoch' } }] }),
    oneLine(/stages\.0\.lr\.horizon/),
  );
});

test('continue: one global schedule across the stages', () => {
  const want = parseLrConfig({ peak: PEAK, warmupSteps: 10, totalSteps: 200 });
  const all = stageLr(twoStages({ policy: 'continue' }, { policy: 'continue' }), lrOpts);
  for (let i = 0; i <= 200; i++) near(all.lrAt(i), lrAt(want, i), `step ${i}`);
  // after a restarted stage 1, 'continue' picks the global curve up where it is
  const mixed = stageLr(twoStages({}, { policy: 'continue' }, 100, 60), lrOpts);
  const g = parseLrConfig({ peak: PEAK, warmupSteps: 10, totalSteps: 160 });
  for (let i = 100; i < 160; i++) near(mixed.lrAt(i), lrAt(g, i), `step ${i}`);
  near(mixed.lrAt(100), PEAK * (1 - 90 / 150), 'no jump back to the peak');
});

test("rewind: back to the peak after its warmup, then decay to 0 at the run's end", () => {
  // stage 2 starts at 100 of 200; default warmup 2% of the run = 4 steps
  const lr = stageLr(twoStages({ policy: 'rewind' }, { policy: 'rewind' }), lrOpts);
  const g = parseLrConfig({ peak: PEAK, warmupSteps: 10, totalSteps: 200 });
  for (let i = 0; i < 100; i++) near(lr.lrAt(i), lrAt(g, i), `stage 1 follows the run's schedule at ${i}`);
  near(lr.lrAt(99), PEAK * (1 - 89 / 190), 'stage 1 ends mid-decay');
  near(lr.lrAt(100), 0, 'stage 2 starts its warmup');
  near(lr.lrAt(102), PEAK / 2, 'half way up');
  near(lr.lrAt(104), PEAK, 'back at the peak after the warmup');
  assert.ok(Math.max(...Array.from({ length: 100 }, (_, k) => lr.lrAt(100 + k))) <= PEAK + 1e-12);
  near(lr.lrAt(152), PEAK * 0.5, 'half way down');
  near(lr.lrAt(199), PEAK / 96, 'last step');
  near(lr.lrAt(200), 0, "zero at the run's end");
  for (let i = 104; i < 199; i++) assert.ok(lr.lrAt(i + 1) < lr.lrAt(i), `decreasing at ${i}`);
  // warmup in steps for rewind, and a three-stage run decays to the run's end, not the stage's
  const three = resolve([
    { steps: 50, model: { numHiddenLayers: 1 } },
    { steps: 50, lr: { policy: 'rewind', warmup: 10 } },
    { steps: 100, lr: { policy: 'continue' } },
  ]);
  const t = stageLr(three, lrOpts);
  near(t.lrAt(50), 0, 'rewind start');
  near(t.lrAt(55), PEAK / 2, 'rewind mid-warmup');
  near(t.lrAt(60), PEAK, 'rewind peak');
  near(t.lrAt(99), PEAK * (1 - 39 / 140), "rewind stage end is still high: it decays to the run's end");
});

test("restart horizon lemon: a grown stage starts at the peak (no warmup) and decays to 0 at the run's end", () => {
  const three = (h: object) =>
    stageLr(
      resolve([
        { steps: 100, model: { numHiddenLayers: 1, intermediateSize: 32 }, lr: h },
        { steps: 100, model: { intermediateSize: 32 }, lr: h },
        { steps: 100, lr: h },
      ]),
      lrOpts,
    );
  const lemon = three({ horizon: 'lemon' });
  const g = parseLrConfig({ peak: PEAK, warmupSteps: 10, totalSteps: 300 });
  // stage 1: the run's own schedule (its warmup, its decay to 0 at the run's end)
  for (let i = 0; i < 100; i++) near(lemon.lrAt(i), lrAt(g, i), `stage 1, step ${i}`);
  // stage 2: straight back to the peak, then linear to 0 at the run's end (200 steps on)
  near(lemon.lrAt(100), PEAK, 'stage 2 starts at the peak');
  near(lemon.lrAt(199), PEAK * (1 - 99 / 200), 'stage 2 ends mid-decay, not at 0');
  // stage 3 (the last): back to the peak, to 0 at its end: faster than the run-long decay
  near(lemon.lrAt(200), PEAK, 'stage 3 starts at the peak');
  near(lemon.lrAt(250), PEAK * (1 - 50 / 100), 'stage 3 mid-way');
  assert.ok(lemon.lrAt(250) > three({ horizon: 'run' }).lrAt(250), 'the peak kept, unlike run');
  // a stage's own warmup still applies
  const warm = three({ horizon: 'lemon', warmup: 0.1 });
  near(warm.lrAt(100), 0, 'warmup given: from 0');
  near(warm.lrAt(110), PEAK, 'warmup given: the peak after it');
  near(warm.lrAt(200 + 10 + 45), PEAK * (1 - 45 / 90), 'warmup given: the decay after it');
});

test('the run config lrHorizon sets the horizon of a preset, and of JSON stages that leave it out', () => {
  const t = presetConfig('tiny', 1000);
  for (const name of ['compound', 'compound-narrow', 'stack'])
    assert.ok(presetSchedule(name, t, 64, { lrHorizon: 'lemon' }).stages.every((s) => s.lr.horizon === 'lemon'));
  assert.ok(presetSchedule('full', t, 64, { lrHorizon: 'lemon' }).stages.every((s) => s.lr.horizon === undefined));
  const file = path.join(tmp, 'horizons.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      stages: [{ fraction: 0.5, model: { numHiddenLayers: 1 }, lr: { horizon: 'none' } }, { fraction: 0.5 }],
    }),
  );
  assert.deepEqual(
    loadSchedule(file, t, 64, { lrHorizon: 'lemon' }).stages.map((s) => s.lr.horizon),
    ['none', 'lemon'],
  );
  assert.deepEqual(
    loadSchedule(file, t, 64).stages.map((s) => s.lr.horizon),
    ['none', undefined],
  );
});

test('compound-narrow: compound with half the heads (same head size) in its first two stages, widened at the end', () => {
  for (const size of ['tiny', 'base'] as PresetName[]) {
    const t = presetConfig(size, 30522);
    const S = TRAIN_PRESETS[size].seqLength;
    const runShape = {
      target: t,
      seqLength: S,
      batchSize: 8,
      maskProb: 0.15,
      gradAccumulation: 1,
      budget: steps(1000),
    };
    const st = resolveSchedule(presetSchedule('compound-narrow', t, S), runShape);
    const hd = t.hiddenSize / t.numAttentionHeads;
    const heads = Math.max(1, Math.floor(t.numAttentionHeads / 2));
    assert.deepEqual(
      st.map((s) => [
        s.config.hiddenSize,
        s.config.numAttentionHeads,
        s.config.numHiddenLayers,
        s.config.intermediateSize,
      ]),
      [
        [heads * hd, heads, Math.max(1, Math.floor(t.numHiddenLayers / 2)), Math.floor(t.intermediateSize / 4)],
        [heads * hd, heads, t.numHiddenLayers, Math.floor(t.intermediateSize / 4)],
        [t.hiddenSize, t.numAttentionHeads, t.numHiddenLayers, t.intermediateSize],
      ],
      size,
    );
    // the cost model sees the narrower stages: cheaper per step than compound's
    const compound = resolveSchedule(presetSchedule('compound', t, S), runShape);
    assert.ok(st[0].flopsPerStep < compound[0].flopsPerStep && st[1].flopsPerStep < compound[1].flopsPerStep);
    assert.equal(st[2].flopsPerStep, compound[2].flopsPerStep);
  }
});
