// End-to-end pre-training on a small real corpus: loss falls, resume is exact, checkpoints are
// verified, divergence stops with the last good checkpoint kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pretrain } from '../../src/train/pretrain.js';
import { parseConfig, type PretrainConfigInput } from '../../src/train/config.js';
import { tinyRunConfig } from '../helpers/tiny-run.js';
import { MetricsLog } from '../../src/train/metrics-log.js';
import { latestCheckpoint, loadCheckpoint } from '../../src/train/checkpoint.js';
import { loadRunModel } from '../../src/train/run-dir.js';
import { GrowbertError } from '../../src/io/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-pretrain-'));
const cacheDir = path.join(tmp, 'cache');
const quiet = () => {};

function config(out: string, over: { train?: object; model?: object; data?: object } = {}): PretrainConfigInput {
  return tinyRunConfig(out, cacheDir, {
    model: { numHiddenLayers: 1, ...over.model },
    data: over.data,
    train: { evalEvery: 6, ...over.train },
  });
}

const trainLosses = (run: string) =>
  new MetricsLog(run)
    .read()
    .filter((l) => l.loss !== undefined)
    .map((l) => [l.step, l.loss]);

test('loss falls on a real corpus', async () => {
  const out = path.join(tmp, 'falls');
  await pretrain(parseConfig(config(out, { train: { maxSteps: 60, evalEvery: 60 } })), { say: quiet });
  const losses = trainLosses(out).map(([, l]) => Number(l));
  const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(last < first - 0.5, `loss should fall by more than 0.5 nat: ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  const evals = new MetricsLog(out).read().filter((l) => l.valLoss !== undefined);
  assert.equal(evals.length, 1);
  for (const k of ['step', 'tokens', 'seconds', 'valLoss', 'valPerplexity', 'valAccuracy'])
    assert.ok(k in evals[0], `eval line has ${k}`);
  const line = new MetricsLog(out).read()[0];
  for (const k of ['step', 'tokens', 'seconds', 'lr', 'loss', 'gradNorm', 'tokensPerSecond'])
    assert.ok(k in line, `train line has ${k}`);
});

test('resume from a checkpoint continues exactly', async () => {
  const straight = path.join(tmp, 'straight');
  await pretrain(parseConfig(config(straight)), { say: quiet });
  const split = path.join(tmp, 'split');
  await pretrain(parseConfig(config(split, { train: { maxSteps: 12, checkpointEvery: 5, keepCheckpoints: 10 } })), {
    say: quiet,
  });
  // Cut the run back to its step-5 checkpoint: drop the later checkpoints, as a crash after step 5 would.
  const ck = path.join(split, 'checkpoints');
  for (const d of fs.readdirSync(ck))
    if (d.startsWith('step-') && d !== 'step-00000005') fs.rmSync(path.join(ck, d), { recursive: true });
  fs.writeFileSync(path.join(ck, 'latest.json'), JSON.stringify({ step: 5, dir: 'step-00000005' }));
  await pretrain(
    parseConfig({
      ...config(split, { train: { maxSteps: 12, checkpointEvery: 5, keepCheckpoints: 10 } }),
      resume: true,
    }),
    { say: quiet },
  );
  assert.deepEqual(trainLosses(split), trainLosses(straight));
  const a = loadRunModel(straight).model.namedParameters();
  const b = loadRunModel(split).model.namedParameters();
  for (const [name, t] of a) assert.ok(t.equal(b.get(name)!), `${name} differs after resume`);
});

test('a fresh run refuses to overwrite a run; resume needs one', async () => {
  const out = path.join(tmp, 'straight');
  await assert.rejects(pretrain(parseConfig(config(out)), { say: quiet }), /already holds a run; pass --resume/);
  await assert.rejects(
    pretrain(parseConfig({ ...config(path.join(tmp, 'none')), resume: true }), { say: quiet }),
    /nothing to resume/,
  );
});

test('a corrupted checkpoint is detected', () => {
  const dir = latestCheckpoint(path.join(tmp, 'straight'))!;
  const copy = path.join(tmp, 'corrupt-ckpt');
  fs.cpSync(dir, copy, { recursive: true });
  const f = path.join(copy, 'model.safetensors');
  const bytes = fs.readFileSync(f);
  bytes[bytes.length - 3] ^= 0xff;
  fs.writeFileSync(f, bytes);
  assert.throws(
    () => loadCheckpoint(copy),
    (e: Error) => e instanceof GrowbertError && /corrupted \(sha256 mismatch\)/.test(e.message),
  );
  fs.truncateSync(f, 100);
  assert.throws(() => loadCheckpoint(copy), /corrupted \(100 bytes/);
});

test('divergence stops with a clear error and keeps the last good checkpoint', async () => {
  const out = path.join(tmp, 'diverge');
  await assert.rejects(
    pretrain(
      parseConfig(
        config(out, {
          train: { lr: 1e30, warmupSteps: 0, maxSteps: 30, checkpointEvery: 1, decay: 'constant', clipNorm: 1e30 },
        }),
      ),
      { say: quiet },
    ),
    (e: Error) =>
      e instanceof GrowbertError &&
      /training diverged at step \d+/.test(e.message) &&
      /last good checkpoint/.test(e.message),
  );
  const last = latestCheckpoint(out);
  assert.ok(last, 'a checkpoint from before the divergence is kept');
  loadCheckpoint(last!); // and it is intact
});
