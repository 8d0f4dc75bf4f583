// The run folder's owner (src/train/run-dir.ts): a folder is a run only by growbert's marker (or,
// made before the marker, by a checkpoint); starting a run over removes only the entries growbert
// claimed; the lock (run-lock.ts) refuses a second writer naming its pid and is taken over from a
// dead one or from a process that got its pid later; a lock path holding a folder is left alone;
// without hard links the lock is an exclusive create, and a failed start leaves no folder behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import fsMutable from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { RUN_LOCK } from '../../src/train/run.js';
import { RunDir } from '../../src/train/run-dir.js';
import { lockRun, processStart, releaseRunLock } from '../../src/train/run-lock.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-rundir-')));
const quiet = { say: () => {} };

const looksLikeRun = (d: string) => new RunDir(d).isRun();
const claimRun = (d: string) => new RunDir(d).claim();
const prepareRunDir = (d: string, resume: boolean, o: { say: () => void }) => new RunDir(d).check(resume, o);

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
  new RunDir(d).create();
  assert.equal(looksLikeRun(d), true);
  assert.ok(fs.existsSync(path.join(d, RUN_LOCK)));
  releaseRunLock(d);
  const other = path.join(tmp, 'child-run');
  const mod = path.resolve('dist/src/train/run-dir.js');
  const r = spawnSync(process.execPath, [
    '-e',
    `import(${JSON.stringify(mod)}).then((m) => new m.RunDir(${JSON.stringify(other)}).create())`,
  ]);
  assert.equal(r.status, 0, String(r.stderr));
  assert.ok(looksLikeRun(other));
  assert.equal(fs.existsSync(path.join(other, RUN_LOCK)), false, 'released on exit');
});

test('a lock whose pid now belongs to a process started after it is taken over; an old-style one names the file', async () => {
  const d = path.join(tmp, 'reused-pid');
  fs.mkdirSync(d);
  const other = spawn('sleep', ['60']); // a live process that is not a growbert run
  try {
    const since = processStart(other.pid!);
    const file = path.join(d, RUN_LOCK);
    // The lock of a crashed run whose pid the sleeping process got later: its start time differs.
    if (since !== undefined) {
      const body = { pid: other.pid, host: os.hostname(), started: 'then', since: String(Number(since) - 1000) };
      fs.writeFileSync(file, JSON.stringify(body));
      lockRun(d);
      assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).pid, process.pid, 'taken over');
      releaseRunLock(d);
      // the same process, as the lock recorded it: refused
      fs.writeFileSync(file, JSON.stringify({ ...body, since }));
      assert.throws(() => lockRun(d), new RegExp(`in use by process ${other.pid} \\(since then\\); wait for it`));
    }
    // A lock without the start time (older growbert, or no /proc): refused, saying how to tell and what to delete.
    fs.writeFileSync(file, JSON.stringify({ pid: other.pid, host: os.hostname(), started: 'then' }));
    assert.throws(
      () => lockRun(d),
      (e: Error) =>
        e.message.includes(`in use by process ${other.pid} `) &&
        e.message.includes(`ps -p ${other.pid}`) &&
        e.message.includes(`delete ${file}`) &&
        !e.message.includes('\n'),
    );
    assert.ok(fs.existsSync(file), 'a lock that may be live is never removed');
  } finally {
    other.kill('SIGKILL');
    await new Promise((r) => other.on('exit', r));
  }
});

test('a lock path that is a folder is refused naming it, and left where it is', () => {
  const d = path.join(tmp, 'lock-folder');
  fs.mkdirSync(path.join(d, RUN_LOCK), { recursive: true });
  fs.writeFileSync(path.join(d, RUN_LOCK, 'mine.txt'), 'x');
  for (const attempt of [() => lockRun(d), () => prepareRunDir(d, true, quiet)])
    assert.throws(attempt, (e: Error) => {
      assert.match(e.message, /\.growbert-lock is a folder, not growbert's lock file; .*remove it yourself/);
      assert.doesNotMatch(e.message, /EISDIR/);
      return true;
    });
  assert.deepEqual(fs.readdirSync(d), [RUN_LOCK], 'nothing renamed or added');
  assert.equal(fs.readFileSync(path.join(d, RUN_LOCK, 'mine.txt'), 'utf8'), 'x');
});

/** Runs fn with fs.linkSync failing as on a file system without hard links (code EPERM) or with another error. */
function withLinkFailing(code: string, fn: () => void): void {
  const real = fsMutable.linkSync;
  fsMutable.linkSync = () => {
    throw Object.assign(new Error(`${code}: operation failed, link`), { code });
  };
  syncBuiltinESMExports();
  try {
    fn();
  } finally {
    fsMutable.linkSync = real;
    syncBuiltinESMExports();
  }
}

test('without hard links (EPERM from link) the lock is an exclusive create; a failed start leaves no folder', () => {
  const d = path.join(tmp, 'no-links', 'run');
  withLinkFailing('EPERM', () => {
    new RunDir(d).create();
    const body = JSON.parse(fs.readFileSync(path.join(d, RUN_LOCK), 'utf8'));
    assert.equal(body.pid, process.pid);
    assert.throws(() => lockRun(d), /already being written by this process/);
    releaseRunLock(d);
    assert.equal(fs.existsSync(path.join(d, RUN_LOCK)), false);
    assert.ok(new RunDir(d).isRun());
  });
  // a lock that cannot be made at all: the folder this start made is gone again (no lone marker)
  const e = path.join(tmp, 'no-lock', 'run');
  withLinkFailing('EIO', () => assert.throws(() => new RunDir(e).create(), /cannot lock .*run: .*EIO/));
  assert.equal(fs.existsSync(path.join(tmp, 'no-lock')), false, 'no folder left holding only .growbert-run');
});
