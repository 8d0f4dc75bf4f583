// Ctrl-C (SIGINT), SIGTERM (Slurm, Kubernetes, kill) and SIGHUP (a closed terminal) stop a run the same way:
// the step finishes, a checkpoint is written, one line says where, and the exit code is the signal's (130, 143,
// 129); a repeated SIGTERM does not cut the save short; --resume continues from the saved step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { latestCheckpoint } from '../../src/train/checkpoint.js';
import { stopTinyRun } from '../helpers/tiny-cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-signals-'));
const stepDir = (step: number) => `step-${String(step).padStart(8, '0')}`;

for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  test(`${sig} saves a checkpoint, says so and exits ${code}; --resume continues`, async () => {
    const out = path.join(tmp, sig);
    // a repeated SIGTERM must not cut the save short
    const r = await stopTinyRun({
      out,
      cacheDir: path.join(tmp, 'cache'),
      signal: sig,
      times: sig === 'SIGTERM' ? 2 : 1,
    });
    assert.equal(r.code, code, r.stderr);
    const named = sig === 'SIGINT' ? '' : ` \\(${sig}\\)`; // Ctrl-C needs no name
    assert.match(
      r.stderr,
      new RegExp(`interrupted at step (\\d+)${named}; checkpoint saved to .*; continue with --resume`),
    );
    const step = Number(r.stderr.match(/interrupted at step (\d+)/)![1]);
    assert.ok(latestCheckpoint(out)!.endsWith(stepDir(step)), "the interrupted step's checkpoint is the latest");
    if (sig === 'SIGHUP') return;
    const again = spawnSync(
      process.execPath,
      ['bin/growbert.js', 'pretrain', '--out', out, '--resume', '--max-steps', String(step + 2)],
      { encoding: 'utf8' },
    );
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`resuming .* at step ${step}`));
    assert.ok(latestCheckpoint(out)!.endsWith(stepDir(step + 2)));
  });
}
