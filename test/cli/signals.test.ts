// SIGTERM (Slurm, Kubernetes, kill) and SIGHUP (a closed terminal) stop a run as Ctrl-C does:
// the step finishes, a checkpoint is written, one line says where, and the exit code is the
// signal's (143, 129); a repeated SIGTERM does not cut the save short; --resume continues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { latestCheckpoint } from '../../src/train/checkpoint.js';
import { tinyModelFlags } from '../helpers/tiny-cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-signals-'));
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
  '--no-progress',
  '--out',
  out,
];

async function stopWith(sig: NodeJS.Signals, times: number) {
  const out = path.join(tmp, sig);
  const child = spawn(process.execPath, args(out), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c))); // listened to from the start
  const metrics = path.join(out, 'metrics.jsonl');
  for (
    let i = 0;
    i < 600 &&
    child.exitCode === null &&
    !(fs.existsSync(metrics) && fs.readFileSync(metrics, 'utf8').split('\n').length > 3);
    i++
  )
    await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < times; i++) child.kill(sig);
  const code = await exited;
  return { out, code, stderr };
}

for (const [sig, code] of [
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  test(`${sig} saves a checkpoint, says so and exits ${code}; --resume continues`, async () => {
    const r = await stopWith(sig, sig === 'SIGTERM' ? 2 : 1); // a repeated SIGTERM must not cut the save short
    assert.equal(r.code, code, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`interrupted at step (\\d+) \\(${sig}\\); checkpoint saved to .*; continue with --resume`),
    );
    const step = Number(r.stderr.match(/interrupted at step (\d+)/)![1]);
    assert.ok(latestCheckpoint(r.out)!.endsWith(`step-${String(step).padStart(8, '0')}`));
    if (sig !== 'SIGTERM') return;
    const again = spawnSync(
      process.execPath,
      ['bin/growbert.js', 'pretrain', '--out', r.out, '--resume', '--max-steps', String(step + 1)],
      { encoding: 'utf8' },
    );
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`resuming .* at step ${step}`));
  });
}
