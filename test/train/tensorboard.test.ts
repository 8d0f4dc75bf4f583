// The trainer's TensorBoard event file, decoded with the independent reader
// (test/helpers/tfevents-reader.ts): its scalars equal metrics.jsonl, growth events and the config
// are texts, a resumed run appends a new file, and --no-tensorboard writes none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pretrain } from '../../src/train/pretrain.js';
import { parseConfig, type PretrainConfigInput } from '../../src/train/config.js';
import { tinyRunConfig, writeSchedule } from '../helpers/tiny-run.js';
import { MetricsLog, type MetricsLine } from '../../src/train/metrics-log.js';
import { EVAL_TAGS, GROW_TAGS, TRAIN_TAGS, lineKind } from '../../src/train/tensorboard.js';
import {
  beforeGrowthFlags,
  eventFiles,
  readEventFile,
  scalarsByTag,
  type DecodedEvent,
} from '../helpers/tfevents-reader.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-tensorboard-'));
const cacheDir = path.join(tmp, 'cache');
const quiet = () => {};

const schedule = writeSchedule(tmp, 'two-stage', {
  name: 'two-stage',
  stages: [
    { name: 'small', steps: 6, model: { numHiddenLayers: 1, intermediateSize: 16, poolingSize: 2 } },
    { name: 'target', steps: 6, ops: { depth: 'stack', ffn: 'share' } },
  ],
});

function config(out: string, train: object = {}): PretrainConfigInput {
  return tinyRunConfig(out, cacheDir, {
    train: { evalEvery: 4, checkpointEvery: 3, keepCheckpoints: 20, logEvery: 2, ...train },
    schedule,
  });
}

/** What TensorBoard would show for `lines`: tag -> [step, float32 value] (the writer's tag table). */
function expectedScalars(lines: MetricsLine[]): Map<string, [number, number][]> {
  const m = new Map<string, [number, number][]>();
  const before = beforeGrowthFlags(lines);
  for (const [i, l] of lines.entries()) {
    const k = lineKind(l);
    const tags = k === 'grow' ? GROW_TAGS : k === 'eval' ? EVAL_TAGS : k === 'train' ? TRAIN_TAGS : {};
    for (const [field, t] of Object.entries(tags)) {
      if (typeof l[field] !== 'number') continue;
      const tag = before[i] ? `${t}_before_growth` : t;
      if (!m.has(tag)) m.set(tag, []);
      m.get(tag)!.push([l.step, Math.fround(l[field] as number)]);
    }
  }
  return m;
}

const texts = (ev: DecodedEvent[], tag: string) =>
  ev.flatMap((e) => (e.values ?? []).filter((v) => v.tag === tag).map((v) => ({ step: e.step, text: v.strings![0] })));
const nonDecreasing = (ev: DecodedEvent[]) => ev.every((e, i) => i === 0 || e.step >= ev[i - 1].step);
const straight = path.join(tmp, 'straight');

test('a growth run writes one event file whose scalars equal metrics.jsonl', async () => {
  await pretrain(parseConfig(config(straight)), { say: quiet });
  const files = eventFiles(straight);
  assert.equal(files.length, 1);
  const ev = readEventFile(path.join(straight, files[0]));
  assert.equal(ev[0].fileVersion, 'brain.Event:2');
  assert.ok(nonDecreasing(ev));
  const lines = new MetricsLog(straight).read();
  const want = expectedScalars(lines);
  // Every kind of line is there, and nothing else is.
  for (const tag of [
    'train/loss',
    'train/lr',
    'train/grad_norm',
    'train/tokens_per_second',
    'train/flops',
    'val/loss',
    'val/accuracy',
    'growth/max_abs_logit_diff',
    'growth/loss_after',
  ]) {
    assert.ok((want.get(tag)?.length ?? 0) > 0, `metrics.jsonl has ${tag}`);
  }
  assert.deepEqual(scalarsByTag(ev), want);
  assert.equal(want.get('train/loss')!.length, 6, 'a training line every 2 of 12 steps');
  // at the growth step (6) the evaluations before and after growing each have their own tag
  assert.deepEqual(
    want.get('val/loss_before_growth')!.map(([step]) => step),
    [6],
  );
  const valSteps = want.get('val/loss')!.map(([step]) => step);
  assert.ok(valSteps.includes(6) && new Set(valSteps).size === valSteps.length, `one val/loss per step: ${valSteps}`);
  assert.ok(
    want.get('train/flops')!.every(([, f], i, a) => f > 0 && (i === 0 || f > a[i - 1][1])),
    'cumulative FLOPs grow',
  );

  const cfg = texts(ev, 'config');
  assert.equal(cfg.length, 1);
  assert.equal(cfg[0].step, 0);
  const parsed = JSON.parse(cfg[0].text.replace(/^```json\n|\n```$/g, ''));
  assert.equal(parsed.train.batchSize, 8);
  assert.equal(parsed.data.maxPredictions, 5, 'the resolved config (maxPredictions derived from seqLength)');
  const plan = JSON.parse(texts(ev, 'schedule')[0].text.replace(/^```json\n|\n```$/g, ''));
  assert.deepEqual(
    plan.map((s: { name: string; steps: number; layers: number }) => [s.name, s.steps, s.layers]),
    [
      ['small', 6, 1],
      ['target', 6, 2],
    ],
  );

  const grow = texts(ev, 'growth/event');
  assert.equal(grow.length, 1);
  assert.equal(grow[0].step, 6);
  assert.match(grow[0].text, /Step 6: grew into stage 2 \(target\).*2 layers, hidden 32, FFN 64, 2 heads, batch 8x32/);
  assert.match(
    grow[0].text,
    /function-preserving operators: (yes|no)\. Preservation check: logits max abs diff \d\.\d\de[-+]\d+ .*loss \d+\.\d{4} -> \d+\.\d{4}/,
  );
});

test('a resumed run appends a new file that starts at the resumed step', async () => {
  const dir = path.join(tmp, 'resumed');
  fs.cpSync(straight, dir, { recursive: true });
  const ck = path.join(dir, 'checkpoints');
  for (const d of fs.readdirSync(ck))
    if (d.startsWith('step-') && d !== 'step-00000003') fs.rmSync(path.join(ck, d), { recursive: true });
  fs.writeFileSync(path.join(ck, 'latest.json'), JSON.stringify({ step: 3, dir: 'step-00000003' }));
  const [first] = eventFiles(dir);
  const before = fs.readFileSync(path.join(dir, first));

  await pretrain(parseConfig({ ...config(dir), resume: true }), { say: quiet });
  const files = eventFiles(dir);
  assert.equal(files.length, 2);
  assert.deepEqual(fs.readFileSync(path.join(dir, first)), before, 'the old file is left as it was');
  const ev = readEventFile(
    path.join(
      dir,
      files.find((f) => f !== first)!,
    ),
  );
  assert.equal(ev[0].fileVersion, 'brain.Event:2');
  assert.deepEqual([ev[1].step, ev[1].sessionStatus], [3, 1], 'SessionLog START at the resumed step');
  assert.ok(ev.slice(1).every((e) => e.step >= 3) && nonDecreasing(ev));
  assert.equal(texts(ev, 'config')[0].step, 3);
  // As TensorBoard reads it (the old file up to the restart, then the new one) it is metrics.jsonl.
  const old = readEventFile(path.join(dir, first)).filter((e) => e.step < 3);
  assert.deepEqual(scalarsByTag([...old, ...ev]), expectedScalars(new MetricsLog(dir).read()));
});

test('--no-tensorboard (train.tensorboard false) writes no event file', async () => {
  const dir = path.join(tmp, 'off');
  await pretrain(parseConfig(config(dir, { tensorboard: false, maxSteps: 2 })), { say: quiet });
  assert.deepEqual(eventFiles(dir), []);
  assert.ok(fs.existsSync(path.join(dir, 'metrics.jsonl')));
});
