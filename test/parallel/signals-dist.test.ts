// A signal to the `--nproc` launcher reaches every worker once; they stop after the same step,
// rank 0 writes one checkpoint, no worker is blamed, and the launcher exits with the signal's code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { distributedBackends } from '../../src/parallel/process-group.js';
import { latestCheckpoint } from '../../src/train/checkpoint.js';
import { stopTinyRun } from '../helpers/tiny-cli.js';

const skip = distributedBackends() ? false : 'this addon was built without c10d (no Gloo headers)';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-dist-signals-'));

test(
  'SIGTERM to the launcher: every worker stops after one step, rank 0 saves once, exit 143, nobody blamed',
  { skip },
  async () => {
    const out = path.join(tmp, 'run');
    const { code, stderr } = await stopTinyRun({
      out,
      cacheDir: path.join(tmp, 'cache'),
      signal: 'SIGTERM',
      before: ['--nproc', '2'],
      after: ['--checkpoint-every', '100000', '--dist-timeout', '20'],
    });
    assert.equal(code, 143, stderr);
    assert.match(stderr, /SIGTERM: passing it on to the 2 worker\(s\)/);
    assert.match(stderr, /interrupted at step (\d+) \(SIGTERM\); checkpoint saved to .*; continue with --resume/);
    assert.doesNotMatch(stderr, /worker rank \d+ \(pid \d+\) (exited|was killed)/, 'no worker is blamed');
    const step = Number(stderr.match(/interrupted at step (\d+) \(SIGTERM\); checkpoint/)![1]);
    assert.match(
      stderr,
      new RegExp(`\\[rank 1\\] growbert: interrupted at step ${step} \\(SIGTERM\\) \\(rank 0 saves the checkpoint\\)`),
      'both stopped after the same step',
    );
    const dirs = fs.readdirSync(path.join(out, 'checkpoints')).filter((d) => d.startsWith('step-'));
    assert.deepEqual(dirs, [`step-${String(step).padStart(8, '0')}`], 'one checkpoint, of that step');
    assert.equal(latestCheckpoint(out), path.join(out, 'checkpoints', dirs[0]));
  },
);
