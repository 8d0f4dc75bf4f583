// The library API as a caller uses it (src/index.ts): pretrain with typed events and an AbortSignal
// that stops cleanly (checkpoint written, lock released, a resume continues), grow, evaluate, export,
// plan, the dashboard server, readMetrics; bad options as one-line GrowbertErrors; nothing printed
// unless asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  GrowbertError,
  Interrupted,
  evaluate,
  exportToHf,
  grow,
  plan,
  pretrain,
  readMetrics,
  readRunConfig,
  serveDashboard,
  type PretrainEvent,
} from '../../src/index.js';
import { tinyRunConfig } from '../helpers/tiny-run.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-api-'));
const cacheDir = path.join(tmp, 'cache');
const small = path.join(tmp, 'runs', 'small');
const oneLine = (re: RegExp) => (e: unknown) =>
  e instanceof GrowbertError && !e.message.includes('\n') && re.test(e.message);

/** Runs fn with console.log/error captured: the API prints nothing unless asked. */
async function quietly<T>(fn: () => Promise<T>): Promise<{ value: T; printed: string[] }> {
  const printed: string[] = [];
  const saved = [console.log, console.error];
  console.log = console.error = (...a: unknown[]) => void printed.push(a.join(' '));
  try {
    return { value: await fn(), printed };
  } finally {
    [console.log, console.error] = saved;
  }
}

test('pretrain: typed events as it goes, a typed result, the same numbers in metrics.jsonl, and no console output', async () => {
  const events: PretrainEvent[] = [];
  const config = tinyRunConfig(small, cacheDir, { train: { maxSteps: 6, evalEvery: 3 } });
  const { value: r, printed } = await quietly(() => pretrain(config, { onEvent: (e) => events.push(e) }));
  assert.deepEqual(printed, []);
  assert.equal(r.runDir, small);
  assert.equal(r.step, 6);
  assert.ok(r.checkpoint && fs.existsSync(r.checkpoint));
  assert.ok(Number.isFinite(r.finalLoss));
  const evals = events.filter((e) => e.type === 'evaluation');
  assert.deepEqual(
    evals.map((e) => e.step),
    [3, 6],
  );
  assert.ok(events.some((e) => e.type === 'checkpoint'));
  assert.ok(
    events.some((e) => e.type === 'message'),
    'with onEvent and no log, the lines come as messages',
  );
  const m = readMetrics(small);
  assert.deepEqual(
    m.eval.map((e) => [e.step, e.valLoss]),
    evals.map((e) => [e.step, e.valLoss]),
  );
  assert.equal(m.train.length, 6);
  assert.equal(r.finalEval?.valLoss, m.eval[1].valLoss);
  const metricsLines = events.filter((e) => e.type === 'metrics').length;
  assert.equal(metricsLines, m.lines.length);
});

test('pretrain: an AbortSignal stops after the step, with a checkpoint; the run resumes; aborted before the start, nothing is made', async () => {
  const dir = path.join(tmp, 'runs', 'aborted');
  const stop = new AbortController();
  const onEvent = (e: PretrainEvent) => {
    if (e.type === 'metrics' && e.line.step === 2) stop.abort();
  };
  const config = tinyRunConfig(dir, cacheDir, { train: { maxSteps: 50 } });
  await assert.rejects(
    pretrain(config, { signal: stop.signal, onEvent }),
    (e: unknown) => e instanceof Interrupted && e.signal === 'abort' && e.at?.step === 2 && !!e.at.checkpoint,
  );
  assert.ok(fs.existsSync(path.join(dir, 'checkpoints', 'step-00000002')));
  const saved = readRunConfig(dir);
  const r = await pretrain({ ...saved, resume: true, train: { ...saved.train, maxSteps: 4 } });
  assert.equal(r.step, 4);
  const never = path.join(tmp, 'runs', 'never');
  await assert.rejects(pretrain(tinyRunConfig(never, cacheDir), { signal: AbortSignal.abort() }), Interrupted);
  assert.ok(!fs.existsSync(never));
});

test('grow, evaluate and export: typed results, logs only where asked', async () => {
  const grown = path.join(tmp, 'runs', 'grown');
  const g = await grow({ from: small, out: grown, target: { numHiddenLayers: 4 }, ops: { depth: 'identity' } });
  assert.equal(g.modelConfig.numHiddenLayers, 4);
  assert.equal(g.sourceConfig.numHiddenLayers, 2);
  assert.equal(g.preserving, true);
  assert.ok(g.preservation.maxAbsLogitDiff < 1e-4, String(g.preservation.maxAbsLogitDiff));
  assert.ok(
    g.report.some((l) => /^depth: 2 -> 4 by identity/.test(l)),
    g.report.join('\n'),
  );
  const e = await evaluate({ run: grown, evalBatches: 2 });
  assert.equal(e.step, 6);
  assert.ok(Number.isFinite(e.valLoss) && e.valAccuracy >= 0 && e.valAccuracy <= 1);
  const lines: string[] = [];
  const x = await exportToHf({ run: grown, out: path.join(tmp, 'hf') }, { log: (l) => lines.push(l) });
  assert.ok(fs.existsSync(path.join(x.out, 'model.safetensors')) && x.parameters > 0);
  assert.ok(lines.every((l) => l.startsWith('note: ')));
});

test('bad options are one-line GrowbertErrors naming the field, before any work', async () => {
  await assert.rejects(
    pretrain({ preset: 'huge' as never }),
    oneLine(/^pretrain config: preset: unknown preset 'huge'/),
  );
  await assert.rejects(
    grow({ from: small, out: path.join(tmp, 'g2'), target: { numHiddenLayers: 0 } }),
    oneLine(/^grow options: target\.numHiddenLayers: /),
  );
  await assert.rejects(
    grow({ from: small, out: path.join(tmp, 'g3'), target: {}, extra: 1 } as never),
    oneLine(/unknown field\(s\) 'extra'/),
  );
  assert.ok(!fs.existsSync(path.join(tmp, 'g2')) && !fs.existsSync(path.join(tmp, 'g3')));
  await assert.rejects(
    pretrain(tinyRunConfig(path.join(tmp, 'dp'), cacheDir, { dist: { nproc: 2 } })),
    oneLine(/growbert pretrain --nproc N/),
  );
});

test('plan without calibration, and the dashboard served until its signal', async () => {
  const p = await plan({ schedule: 'stack', target: 'tiny', calibrate: false });
  assert.ok(p.stages.length >= 2 && p.ratio > 0 && p.ratio < 1, JSON.stringify(p));
  assert.equal(p.totalSeconds, undefined);
  const stop = new AbortController();
  const dash = await serveDashboard({ runs: path.join(tmp, 'runs'), port: 0 }, { signal: stop.signal });
  const res = await fetch(new URL('api/runs', dash.url));
  const body = (await res.json()) as { runs: { name?: string; dir?: string }[] };
  assert.ok(body.runs.length >= 2, JSON.stringify(body));
  stop.abort();
  await dash.closed;
});
