// Ctrl-C during pre-training: the current step finishes, a checkpoint is written, the process
// exits 130 with a one-line message, and --resume continues from that checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { latestCheckpoint } from '../../src/train/checkpoint.js';
import { tinyModelFlags } from '../helpers/tiny-cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-sigint-'));
const args = (out: string) => [
  'bin/growbert.js',
  'pretrain',
  ...tinyModelFlags(path.join(tmp, 'cache')),
  '--max-steps',
  '100000',
  '--eval-every',
  '100000',
  '--eval-batches',
  '1',
  '--log-every',
  '1',
  '--out',
  out,
];

test('SIGINT saves a checkpoint and exits 130; --resume continues', async () => {
  const out = path.join(tmp, 'run');
  const child = spawn(process.execPath, args(out), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const metrics = path.join(out, 'metrics.jsonl');
  // Wait until a few steps are logged, then interrupt.
  for (let i = 0; i < 600 && !(fs.existsSync(metrics) && fs.readFileSync(metrics, 'utf8').split('\n').length > 3); i++)
    await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted at step (\d+); checkpoint saved to .*; continue with --resume/);
  const step = Number(stderr.match(/interrupted at step (\d+)/)![1]);
  const ckpt = latestCheckpoint(out)!;
  assert.ok(ckpt.endsWith(`step-${String(step).padStart(8, '0')}`), `${ckpt} is the interrupted step's checkpoint`);
  const r = spawnSync(
    process.execPath,
    ['bin/growbert.js', 'pretrain', '--out', out, '--resume', '--max-steps', String(step + 2)],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`resuming .* at step ${step}`));
  assert.ok(latestCheckpoint(out)!.endsWith(`step-${String(step + 2).padStart(8, '0')}`));
});
