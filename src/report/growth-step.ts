// The growth-step experiment (issue 10; docs/results/cpu-growth-step/): the step that grows a
// model, measured on its own. One small model (compound's first-stage shape) is trained once;
// then, from that same checkpoint, every variant grows it (noise on/off and its scale, the LR
// decay horizon, the optimizer policy, one jump vs staged) and trains the grown model for the
// same number of steps, once per seed; beside them the small model simply continues for the same
// wall-clock (or FLOPs). It needs no regime where full beats small-only: it asks only what happens
// at and right after growth, which is where the defaults act. Each run is a metrics.jsonl under
// OUT. Its hidden-size form (issue 30; docs/results/cpu-hidden-growth/): the small model is the
// target at a smaller hidden size (`small`), the variants the hidden operators and LR horizons.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { GrowbertError } from '../io/errors.js';
import { grow, type GrowOps } from '../grow/index.js';
import { BertForMaskedLM, bertConfig, type BertConfig } from '../model/index.js';
import { parseSchedule, type ScheduleInput } from '../schedule/schedule.js';
import { stepFlops } from '../schedule/cost.js';
import { embeddingCopyGap, ffnCopyGap, equalColumnPairs } from './copy-gap.js';
import { resolveSchedule, stageLr, type ResolvedStage } from '../schedule/plan.js';
import { dispose, manualSeed, tidy } from '../tensor/index.js';
import { measureStepSeconds } from '../train/calibrate.js';
import { parseConfig, resolveConfig, type PretrainConfigInput, type ResolvedConfig } from '../train/config.js';
import {
  makeMasker,
  makeStream,
  prepareCorpus,
  validationSet,
  type ModelBatch,
  type PreparedCorpus,
} from '../train/data.js';
import { optimizerFor } from '../train/optim/index.js';
import { pretrain } from '../train/pretrain.js';
import { RunDir } from '../train/run-dir.js';
import { modelConfigFor, setupRuntime } from '../train/runtime.js';
import { runEval, runSteps, type TrainContext } from '../train/trainer.js';
import { BASE, type Variant } from './growth-variants.js';

export { BASE, HIDDEN_VARIANTS, VARIANTS, type Variant } from './growth-variants.js';

export interface GrowthStepOptions {
  out: string;
  /** shared pre-training config (preset, data, threads, batch, lr...) */
  base: PretrainConfigInput;
  smallSteps: number;
  growSteps: number;
  seeds: number[];
  variants: Variant[];
  evalEvery: number;
  /** the grown phase is taken to be this share of a whole run (for the 'run' horizon) */
  grownShare: number;
  /** the small model's shape (default: compound's first stage, smallShape) */
  small?: Partial<BertConfig>;
  /** what the control's steps match: the grown steps' wall-clock (default) or their FLOPs */
  equalise?: 'seconds' | 'flops';
  command: string;
  say: (l: string) => void;
}

export interface RunCurve {
  variant: string;
  seed: number;
  steps: number[];
  seconds: number[];
  /** training FLOPs after growth at each evaluation (absent in results written before it was kept) */
  flops?: number[];
  valLoss: number[];
  lossBeforeGrowth: number;
  copyGap: number | null;
}

/** compound's first-stage model of the target (schedule.ts presets). */
export function smallShape(t: BertConfig): Partial<BertConfig> {
  return {
    numHiddenLayers: Math.max(1, Math.floor(t.numHiddenLayers / 2)),
    intermediateSize: Math.max(1, Math.floor(t.intermediateSize / 4)),
    poolingSize: 2,
  };
}

/**
 * The variant's schedule as the presets would write it: a small stage standing for the run so
 * far (V steps, so that the grown phase is `grownShare` of the run), then the grown stage(s).
 * Resolving it with the real stageLr makes the LR of the grown phase exactly what a run gets.
 */
export function variantStages(
  v: Variant,
  target: BertConfig,
  c: ResolvedConfig,
  o: Pick<GrowthStepOptions, 'growSteps' | 'grownShare' | 'small'>,
  steps: number,
): ResolvedStage[] {
  const horizon = v.horizon ?? BASE.horizon;
  const lr = { horizon };
  const V = Math.round((o.growSteps * (1 - o.grownShare)) / o.grownShare);
  const small = o.small ?? smallShape(target);
  // the control just continues: no warmup restart
  const grown: ScheduleInput['stages'] = v.control
    ? [{ steps, model: small, lr: { ...lr, warmup: 0 } }]
    : v.staged
      ? [
          { steps: Math.floor(steps / 2), model: { ...small, numHiddenLayers: target.numHiddenLayers }, lr },
          { steps: steps - Math.floor(steps / 2), lr },
        ]
      : [{ steps, lr }];
  const sched = parseSchedule(
    { name: v.name, control: v.control ?? false, stages: [{ steps: V, model: small, lr }, ...grown] },
    `variant ${v.name}`,
  );
  return resolveSchedule(sched, {
    target,
    seqLength: c.data.seqLength,
    batchSize: c.train.batchSize,
    maskProb: c.data.maskProb,
    gradAccumulation: 1,
    budget: { unit: 'steps', amount: V + steps, label: '' },
  });
}

/** Trains (or reuses) the shared small checkpoint: compound's first model, constant LR after warmup. */
async function smallCheckpoint(o: GrowthStepOptions, target: BertConfig): Promise<string> {
  const dir = path.join(o.out, 'small');
  const done = path.join(dir, 'done.json');
  if (fs.existsSync(done) && new RunDir(dir).latestCheckpoint()) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  const schedFile = path.join(o.out, 'small-schedule.json');
  // the small model mid-run: no decay yet (the grown phase decides the LR from here on)
  atomicWriteFile(
    schedFile,
    JSON.stringify(
      {
        name: 'small',
        control: true,
        stages: [{ steps: o.smallSteps, model: o.small ?? smallShape(target), lr: { horizon: 'none' } }],
      },
      null,
      2,
    ) + '\n',
  );
  o.say(`growth-step: training the shared small model for ${o.smallSteps} steps -> ${dir}`);
  await pretrain(
    parseConfig(
      {
        ...o.base,
        schedule: schedFile,
        out: dir,
        resume: false,
        train: { ...o.base.train, evalEvery: Math.max(1, Math.round(o.smallSteps / 10)) },
      },
      'growth-step config',
    ),
  );
  atomicWriteFile(done, '{}\n');
  return dir;
}

/** One variant, one seed: grow the small checkpoint and train; the evaluations go to OUT/<variant>/seed-<s>. */
async function runVariant(
  o: GrowthStepOptions,
  c: ResolvedConfig,
  corpus: PreparedCorpus,
  val: ModelBatch[],
  target: BertConfig,
  smallDir: string,
  v: Variant,
  seed: number,
  steps: number,
  device: 'cpu',
): Promise<void> {
  const runDir = path.join(o.out, v.name, `seed-${seed}`);
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.mkdirSync(runDir, { recursive: true });
  const stages = variantStages(v, target, c, o, steps);
  const lr = stageLr(stages, {
    peak: c.train.lr,
    warmupSteps: Math.round(0.05 * stages.reduce((a, s) => a + s.steps, 0)),
    decay: 'linear',
    power: 1,
  });
  const ck = new RunDir(smallDir).loadLatestGood()!.data;
  let model = new BertForMaskedLM(bertConfig(ck.trainer.modelConfig as BertConfig), { device });
  model.loadStateDict(ck.model);
  dispose(ck.model);
  const opt = (m: BertForMaskedLM) => optimizerFor(c.train, m.namedParameters());
  let optimizer = opt(model);
  optimizer.loadState(ck.optimizer, ck.trainer.optimizer as never);
  dispose(ck.optimizer);
  const so = {
    ...c.data,
    seqLength: c.data.seqLength,
    batchSize: c.train.batchSize,
    maxPredictions: c.data.maxPredictions,
    seed: c.train.seed,
  };
  const stream = makeStream(corpus, so);
  stream.restore(ck.trainer.data as never); // every variant and seed reads the same batches next
  manualSeed(1000 + seed); // dropout
  const run = new RunDir(runDir);
  const ctx: TrainContext<BertForMaskedLM> = {
    run,
    model,
    optimizer,
    device,
    valSet: val,
    lr,
    stream,
    masker: makeMasker(corpus, so, 2000 + seed),
    bf16: false,
    clipNorm: c.train.clipNorm,
    gradAccumulation: 1,
    evalEvery: o.evalEvery,
    checkpointEvery: Number.MAX_SAFE_INTEGER,
    keepCheckpoints: 1,
    logEvery: Math.max(1, o.evalEvery),
    metrics: run.metrics(),
    progress: { step: stages[1].startStep, tokens: 0, seconds: 0, flops: 0 },
    flopsPerStep: stages[1].flopsPerStep,
    extra: () => ({}),
    say: () => {},
  };
  const before = runEval(ctx).valLoss;
  let pairs: [number, number][] = [];
  const growTo = (st: ResolvedStage) => {
    const t = st.config;
    const ops: GrowOps = {
      depth: 'stack',
      ffn: 'share',
      hidden: v.hidden ?? BASE.hidden,
      noise: v.noise ?? BASE.noise,
      seed,
    };
    const { numHiddenLayers, intermediateSize, poolingSize, hiddenSize, numAttentionHeads } = t;
    const r = grow(
      { model: ctx.model, optimizer: { state: ctx.optimizer.state(), meta: ctx.optimizer.meta() } },
      { numHiddenLayers, intermediateSize, poolingSize, hiddenSize, numAttentionHeads },
      ops,
      v.optimizer ?? BASE.optimizer,
    );
    // the hidden units that growth made equal (copies, or LEMON's mean units), to see if they part
    if (hiddenSize !== ctx.model.config.hiddenSize) pairs = equalColumnPairs(r.model, ctx.model.config.hiddenSize);
    const next = opt(r.model);
    next.loadState(r.optimizerState!, r.optimizerMeta);
    dispose(r.optimizerState!);
    ctx.optimizer.dispose();
    ctx.model.dispose();
    Object.assign(ctx, { model: r.model, optimizer: next, flopsPerStep: st.flopsPerStep, tags: { stage: st.index } });
    ctx.metrics.append({ step: ctx.progress.step, tokens: 0, seconds: 0, flops: 0, event: 'grow', stage: st.index });
  };
  for (const st of stages.slice(1)) {
    if (!v.control) growTo(st);
    runEval(ctx); // the loss right after growth
    await runSteps(ctx, st.startStep + st.steps);
  }
  model = ctx.model;
  optimizer = ctx.optimizer;
  // how far the copies have drifted apart (0: the grown model still has the small one's width):
  // the hidden units growth made equal when the hidden size grew, else the FFN's copies
  const q = (o.small ?? smallShape(target)).intermediateSize ?? target.intermediateSize;
  const copyGap = v.control
    ? null
    : tidy(() =>
        pairs.length ? embeddingCopyGap(model, pairs) : q < target.intermediateSize ? ffnCopyGap(model, q) : null,
      );
  atomicWriteFile(
    path.join(runDir, 'done.json'),
    JSON.stringify({ variant: v.name, seed, lossBeforeGrowth: before, copyGap }) + '\n',
  );
  model.dispose();
  optimizer.dispose();
}

export async function runGrowthStep(o: GrowthStepOptions): Promise<RunCurve[]> {
  if (o.seeds.length < 1) throw new GrowbertError('growth-step: give at least one seed');
  const c = resolveConfig(parseConfig({ ...o.base }, 'growth-step config'));
  const device = setupRuntime(c);
  if (device !== 'cpu') throw new GrowbertError('growth-step: runs on the CPU (--device cpu)');
  fs.mkdirSync(o.out, { recursive: true });
  takeLock(o.out);
  const corpus = await prepareCorpus({ ...c.data });
  const target = modelConfigFor(c, corpus.tokenizer.vocabSize);
  const smallDir = await smallCheckpoint(o, target);
  const val = validationSet(
    corpus,
    { ...c.data, batchSize: c.train.batchSize, seed: c.train.seed },
    c.train.evalBatches,
    device,
  );
  // The control's steps: the grown model's wall-clock, from one calibration of both shapes.
  const shape = (cfg: BertConfig) => ({
    config: cfg,
    batchSize: c.train.batchSize,
    seqLength: c.data.seqLength,
    maxPredictions: c.data.maxPredictions,
    name: '',
  });
  const smallConfig = bertConfig({ ...target, ...(o.small ?? smallShape(target)) });
  let controlSteps: number;
  if (o.equalise === 'flops') {
    const f = (cfg: BertConfig) => stepFlops(shape(cfg));
    controlSteps = Math.round((o.growSteps * f(target)) / f(smallConfig));
    o.say(
      `growth-step: a grown step costs ${(f(target) / f(smallConfig)).toFixed(3)}x a small one in FLOPs: the control runs ${controlSteps} steps`,
    );
  } else {
    const tBig = measureStepSeconds(shape(target), { device, bf16: false });
    const tSmall = measureStepSeconds(shape(smallConfig), { device, bf16: false });
    controlSteps = Math.round((o.growSteps * tBig) / tSmall);
    o.say(
      `growth-step: a grown step takes ${(tBig * 1000).toFixed(1)} ms, a small one ${(tSmall * 1000).toFixed(1)} ms: the control runs ${controlSteps} steps`,
    );
  }
  const curves: RunCurve[] = [];
  for (const seed of o.seeds) {
    for (const v of o.variants) {
      const runDir = path.join(o.out, v.name, `seed-${seed}`);
      if (!fs.existsSync(path.join(runDir, 'done.json'))) {
        o.say(`growth-step: ${v.name}, seed ${seed}`);
        const steps = v.control ? controlSteps : o.growSteps;
        await runVariant(o, c, corpus, val, target, smallDir, v, seed, steps, device);
      }
      curves.push(readCurve(runDir, v.name, seed));
    }
  }
  dispose(val.flatMap((b) => [b.inputIds, b.tokenTypeIds!, b.attentionMask!, b.maskedPositions!, b.maskedLabels!]));
  return curves;
}

/**
 * One experiment per folder: two processes writing the same run folders interleave their metrics
 * (it happened). The lock holds the owner's pid; a lock whose process is gone is taken over.
 */
function takeLock(out: string): void {
  const lock = path.join(out, 'experiment.lock');
  if (fs.existsSync(lock)) {
    const pid = Number(fs.readFileSync(lock, 'utf8'));
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      /* gone */
    }
    if (alive && pid !== process.pid)
      throw new GrowbertError(`growth-step: ${out} is in use by process ${pid}; wait for it or choose another --out`);
  }
  fs.writeFileSync(lock, String(process.pid));
  process.on('exit', () => fs.rmSync(lock, { force: true }));
}

/** A run's evaluations, steps counted from the growth. */
export function readCurve(runDir: string, variant: string, seed: number): RunCurve {
  // the first evaluation is the small model's, before growth (kept in done.json)
  const lines = new RunDir(runDir)
    .readMetrics()
    .filter((l) => typeof l.valLoss === 'number')
    .slice(1);
  const done = JSON.parse(fs.readFileSync(path.join(runDir, 'done.json'), 'utf8')) as {
    lossBeforeGrowth: number;
    copyGap: number | null;
  };
  const start = lines[0].step;
  return {
    variant,
    seed,
    steps: lines.map((l) => l.step - start),
    seconds: lines.map((l) => Number(l.seconds)),
    flops: lines.map((l) => Number(l.flops ?? 0)),
    valLoss: lines.map((l) => Number(l.valLoss)),
    lossBeforeGrowth: done.lossBeforeGrowth,
    copyGap: done.copyGap,
  };
}
