// A run stays continuable when its checkpoints are damaged: latest.json missing, corrupt, naming
// a folder outside the run or an incomplete checkpoint falls back to the newest complete one with
// a warning; temp folders of a killed save are removed at the next start; a checkpoint failing
// its hash check is skipped on resume; after a loss blow-up the kept checkpoint is a good one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  fallBackToGood,
  isGood,
  latestCheckpoint,
  loadLatestGood,
  removeStaleTemps,
  saveCheckpoint,
} from '../../src/train/checkpoint.js';
import { dispose, tensor } from '../../src/tensor/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-ckpt-'));
const VOCAB = 100; // ln(100) = 4.6: a loss above 1.5x that is a blow-up

function save(run: string, step: number, valLoss?: number, keep = 10): string {
  const w = tensor(new Float32Array([step, 1, 2]));
  try {
    const trainer = {
      step,
      modelConfig: { vocabSize: VOCAB },
      ...(valLoss === undefined ? {} : { lastEval: { valLoss, step } }),
    };
    return saveCheckpoint(run, step, { model: new Map([['w', w]]), optimizer: new Map(), trainer }, keep);
  } finally {
    dispose(w);
  }
}
const pointer = (run: string) => path.join(run, 'checkpoints', 'latest.json');

test('latest.json missing, corrupt, outside the run or naming an incomplete checkpoint: the newest complete one, with a warning', () => {
  const run = path.join(tmp, 'a');
  save(run, 1);
  const two = save(run, 2);
  const cases: [string, () => void, RegExp][] = [
    ['missing', () => fs.rmSync(pointer(run)), /latest\.json is missing; using the newest complete checkpoint/],
    ['corrupt', () => fs.writeFileSync(pointer(run), '{"dir": "step-000'), /is unreadable; using/],
    [
      'outside',
      () => fs.writeFileSync(pointer(run), JSON.stringify({ step: 1, dir: '../../b/checkpoints/step-00000001' })),
      /not a checkpoint folder of this run; using/,
    ],
    [
      'incomplete',
      () => {
        save(run, 3);
        fs.rmSync(path.join(run, 'checkpoints', 'step-00000003', 'manifest.json'));
      },
      /names step-00000003, which is missing or incomplete; using/,
    ],
  ];
  for (const [what, damage, said] of cases) {
    damage();
    const warnings: string[] = [];
    assert.equal(
      latestCheckpoint(run, (l) => warnings.push(l)),
      two,
      what,
    );
    assert.equal(warnings.length, 1, what);
    assert.match(warnings[0], said);
  }
});

test('temp folders of a killed save are removed; those of a live process are kept', () => {
  const run = path.join(tmp, 'b');
  save(run, 1);
  const root = path.join(run, 'checkpoints');
  const dead = spawnDeadPid();
  fs.mkdirSync(path.join(root, `.step-00000002.${dead}.tmp`));
  fs.writeFileSync(path.join(root, `.latest.json.${dead}.1700000000000.tmp`), '{}');
  const live = path.join(root, `.step-00000003.${process.ppid}.tmp`);
  fs.mkdirSync(live);
  assert.equal(removeStaleTemps(run).length, 2);
  assert.deepEqual(fs.readdirSync(root).sort(), [
    '.step-00000003.' + process.ppid + '.tmp',
    'latest.json',
    'step-00000001',
  ]);
});

test('resume skips a latest checkpoint that fails its hash check, with a warning', () => {
  const run = path.join(tmp, 'c');
  save(run, 1);
  const two = save(run, 2);
  const f = path.join(two, 'model.safetensors');
  const bytes = fs.readFileSync(f);
  bytes[bytes.length - 1] ^= 0xff; // same size, different content
  fs.writeFileSync(f, bytes);
  const warnings: string[] = [];
  const r = loadLatestGood(run, (l) => warnings.push(l))!;
  assert.ok(r.dir.endsWith('step-00000001'));
  assert.equal(r.data.trainer.step, 1);
  dispose([r.data.model, r.data.optimizer]);
  assert.match(warnings.join('\n'), /sha256 mismatch[\s\S]*resuming from the older checkpoint/);
});

test('after a blow-up the newest good checkpoint is kept and becomes latest', () => {
  const run = path.join(tmp, 'd');
  save(run, 1, 3.0, 2);
  save(run, 2, 1e4, 2); // exploding but finite
  save(run, 3, 5e4, 2);
  const dirs = fs
    .readdirSync(path.join(run, 'checkpoints'))
    .filter((d) => d.startsWith('step-'))
    .sort();
  assert.deepEqual(dirs, ['step-00000001', 'step-00000002', 'step-00000003'], 'the good step 1 survives pruning to 2');
  assert.equal(isGood(path.join(run, 'checkpoints', 'step-00000003')), false);
  const good = fallBackToGood(run)!;
  assert.ok(good.endsWith('step-00000001'));
  assert.equal(latestCheckpoint(run), good, 'latest.json now names it, so --resume uses it');
});

/** A pid that surely does not run: a child that has exited. */
function spawnDeadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid;
}
