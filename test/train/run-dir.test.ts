// The run folder's owner (src/train/run-dir.ts): a folder is a run only by growbert's marker (or,
// made before the marker, by a checkpoint); starting a run over removes only the entries growbert
// claimed; the lock refuses a second writer naming its pid and is taken over from a dead one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  RUN_LOCK,
  claimRun,
  lockRun,
  looksLikeRun,
  openRunDir,
  prepareRunDir,
  releaseRunLock,
} from '../../src/train/run-dir.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-rundir-')));
const quiet = { say: () => {} };

function files(dir: string, tree: Record<string, string>): void {
  for (const [rel, text] of Object.entries(tree)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
}

test("looksLikeRun: a user's folder with run-like fields and names is not a run; a marker or a checkpoint is", () => {
  const d = path.join(tmp, 'experiments');
  files(d, {
    'settings.json': JSON.stringify({ preset: 'tiny', out: d }),
    'config.json': JSON.stringify({ preset: 'base', out: '.', schedule: 'full' }),
    'tokenizer/vocab-notes.md': 'mine',
    'metrics.jsonl': '{"step":1}\n',
    'schedule.json': '{}',
    'events.out.tfevents.99.box': 'x',
    'checkpoints/readme.txt': 'not a checkpoint',
  });
  assert.equal(looksLikeRun(d), false);
  const legacy = path.join(tmp, 'old-run');
  files(legacy, { 'checkpoints/latest.json': '{"step":1,"dir":"step-00000001"}' });
  assert.equal(looksLikeRun(legacy), true);
  const marked = path.join(tmp, 'marked');
  fs.mkdirSync(marked);
  claimRun(marked);
  assert.equal(looksLikeRun(marked), true);
});

test("a user's folder is refused as --out, and nothing in it is touched", () => {
  const d = path.join(tmp, 'project');
  const tree = {
    'run-config.json': JSON.stringify({ preset: 'tiny', out: 'project' }),
    'config.json': JSON.stringify({ preset: 'tiny', out: 'project' }),
    'tokenizer/tokenizer.json': '{"mine":true}',
    'metrics.jsonl': '{"step":3}\n',
    'schedule.json': '{"stages":[]}',
    'events.out.tfevents.1.host': 'e',
  };
  files(d, tree);
  for (const resume of [false, true])
    assert.throws(() => prepareRunDir(d, resume, quiet), /does not hold a growbert run; growbert never replaces/);
  for (const [rel, text] of Object.entries(tree)) assert.equal(fs.readFileSync(path.join(d, rel), 'utf8'), text);
});

test('starting a run over removes only the entries growbert claimed, never files of the same kind it did not write', () => {
  const d = path.join(tmp, 'restart');
  files(d, { 'schedule.json': 'user plan', 'notes.txt': 'n' }); // there before the run was made
  claimRun(d); // what pretrain does when it makes the run: schedule.json was not growbert's
  files(d, {
    'config.json': '{}',
    'metrics.jsonl': '{"step":1}\n',
    'tokenizer/vocab.txt': 'a',
    'events.out.tfevents.5.h': 'e',
  });
  assert.equal(prepareRunDir(d, false, quiet), null);
  releaseRunLock(d);
  assert.deepEqual(fs.readdirSync(d).sort(), ['.growbert-run', 'notes.txt', 'schedule.json']);
  assert.equal(fs.readFileSync(path.join(d, 'schedule.json'), 'utf8'), 'user plan');
});

test('a run made before the marker, without a checkpoint, is never started over', () => {
  const d = path.join(tmp, 'legacy-dead');
  files(d, { 'checkpoints/step-00000002/trainer.json': '{}', 'metrics.jsonl': 'x\n' });
  assert.throws(() => prepareRunDir(d, false, quiet), /older growbert with no usable checkpoint/);
  releaseRunLock(d);
  assert.ok(fs.existsSync(path.join(d, 'metrics.jsonl')));
});

test('the lock: a live holder is refused by pid, a dead one is taken over, release removes it', async () => {
  const d = path.join(tmp, 'locked');
  fs.mkdirSync(d);
  const holder = spawn('sleep', ['60']);
  const body = { pid: holder.pid, host: os.hostname(), started: 'then' };
  fs.writeFileSync(path.join(d, RUN_LOCK), JSON.stringify(body));
  assert.throws(() => lockRun(d), new RegExp(`in use by process ${holder.pid} `));
  assert.throws(() => prepareRunDir(d, true, quiet), new RegExp(`in use by process ${holder.pid} `));
  holder.kill('SIGKILL');
  await new Promise((r) => holder.on('exit', r));
  lockRun(d);
  assert.equal(JSON.parse(fs.readFileSync(path.join(d, RUN_LOCK), 'utf8')).pid, process.pid);
  assert.throws(() => lockRun(d), /already being written by this process/);
  releaseRunLock(d);
  assert.equal(fs.existsSync(path.join(d, RUN_LOCK)), false);
});

test('a new run folder is created marked and locked; a process exit releases the lock', () => {
  const d = path.join(tmp, 'fresh', 'run');
  openRunDir(d);
  assert.equal(looksLikeRun(d), true);
  assert.ok(fs.existsSync(path.join(d, RUN_LOCK)));
  releaseRunLock(d);
  const other = path.join(tmp, 'child-run');
  const mod = path.resolve('dist/src/train/run-dir.js');
  const r = spawnSync(process.execPath, [
    '-e',
    `import(${JSON.stringify(mod)}).then((m) => m.openRunDir(${JSON.stringify(other)}))`,
  ]);
  assert.equal(r.status, 0, String(r.stderr));
  assert.ok(looksLikeRun(other));
  assert.equal(fs.existsSync(path.join(other, RUN_LOCK)), false, 'released on exit');
});
