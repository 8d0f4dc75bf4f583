// A forced replacement of an output folder (export/import/grow --force) killed at every instant
// loses nothing: a child process replaces the folder and is killed with SIGKILL at step N
// (GROWBERT_FAULT_SWAP=N) for every N until one finishes; after each kill every old and new
// entry is whole somewhere (the folder, OLD or TMP), and the next run's recovery leaves the
// folder entirely old or entirely new, the user's file beside it untouched, no temp sibling and no
// journal. A kill during recovery is recovered the same way; an OLD folder an older growbert left
// is undone; a swap whose process still runs is refused; a journal growbert did not write (not JSON,
// paths other than the folder's own temp siblings, a FIFO) is refused, never followed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { journalPath, processStart, recoverSwap } from '../../src/io/out-swap.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-swap-')));
const guardJs = fileURLToPath(new URL('../../src/io/out-guard.js', import.meta.url));
const OLD = { 'own.txt': 'v1', 'sub/a.txt': 'v1', 'log.1': 'old log' };
const NEW = { 'own.txt': 'v2', 'sub/a.txt': 'v2', 'new.txt': 'v2 only' };

// The child: replace OUT (own entries: own.txt, sub, log.*) with NEW, force.
const child = path.join(tmp, 'replace.mjs');
fs.writeFileSync(
  child,
  `import * as fs from 'node:fs';
import * as path from 'node:path';
const { writeOutAtomically } = await import(${JSON.stringify(guardJs)});
const owns = (d) => fs.existsSync(path.join(d, 'own.txt'));
writeOutAtomically({ out: process.argv[2], kind: 'an own output', owns, owned: ['own.txt', 'sub', 'log.*'], force: true }, (t) => {
  for (const [f, v] of Object.entries(${JSON.stringify(NEW)})) {
    fs.mkdirSync(path.dirname(path.join(t, f)), { recursive: true });
    fs.writeFileSync(path.join(t, f), v);
  }
});
`,
);

function makeOld(out: string): void {
  fs.rmSync(out, { recursive: true, force: true });
  for (const [f, v] of Object.entries(OLD)) {
    fs.mkdirSync(path.dirname(path.join(out, f)), { recursive: true });
    fs.writeFileSync(path.join(out, f), v);
  }
  fs.writeFileSync(path.join(out, 'notes.txt'), "the user's");
}

/** Files under `dir` (relative path -> content). */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return out;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    if (e.isFile()) out[path.relative(dir, p)] = fs.readFileSync(p, 'utf8');
  }
  return out;
}

const sorted = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
const siblings = (out: string) =>
  fs.readdirSync(path.dirname(out)).filter((n) => n.startsWith(`.${path.basename(out)}.`));

function runChild(out: string, fault: number): { killed: boolean } {
  const r = spawnSync(process.execPath, [child, out], {
    env: { ...process.env, GROWBERT_FAULT_SWAP: String(fault) },
    encoding: 'utf8',
  });
  assert.ok(r.signal === 'SIGKILL' || r.status === 0, `child: ${r.status} ${r.signal} ${r.stderr}`);
  return { killed: r.signal === 'SIGKILL' };
}

/** After a kill: every old and every new file is whole in OUT or in a temp sibling (or the swap was complete). */
function assertNothingLost(out: string): void {
  const { 'notes.txt': notes, ...now } = files(out);
  assert.equal(notes, "the user's");
  if (sorted(now) === sorted(NEW)) return; // killed while cleaning up after the swap
  const seen: Record<string, string>[] = [files(out)];
  for (const s of siblings(out)) seen.push(files(path.join(path.dirname(out), s)));
  const has = (f: string, v: string) => seen.some((m) => m[f] === v);
  for (const [f, v] of [...Object.entries(OLD), ...Object.entries(NEW)])
    assert.ok(has(f, v), `${f}=${v} is nowhere: ${JSON.stringify(seen)}`);
}

/** After recovery: OUT is the old output or the new one, whole, with the user's file; nothing beside it. */
function assertWhole(out: string): 'old' | 'new' {
  const got = files(out);
  assert.equal(got['notes.txt'], "the user's");
  delete got['notes.txt'];
  assert.deepEqual(siblings(out), [], 'no temp sibling or journal left');
  if (got['own.txt'] === 'v1') {
    assert.deepEqual(got, OLD);
    return 'old';
  }
  assert.deepEqual(got, NEW);
  return 'new';
}

test('a forced replacement killed at every instant is finished or undone by the next run', () => {
  const out = path.join(tmp, 'out');
  const outcomes: string[] = [];
  let n = 1;
  for (; n < 60; n++) {
    makeOld(out);
    if (!runChild(out, n).killed) break;
    assertNothingLost(out);
    recoverSwap(out);
    outcomes.push(assertWhole(out));
  }
  assert.ok(n > 8 && n < 60, `the swap has ${n - 1} instants to kill at`);
  console.log(`killed at each of ${n - 1} instants`);
  assert.equal(assertWhole(out), 'new');
  // killed before the journal: the old output; after it: the new one, finished
  assert.equal(outcomes[0], 'old');
  assert.equal(outcomes.at(-1), 'new');
});

test('a kill during recovery is recovered the same way', () => {
  const out = path.join(tmp, 'again');
  for (const first of [5]) {
    for (let m = 1; m < 30; m++) {
      makeOld(out);
      assert.ok(runChild(out, first).killed);
      // the recovery runs in a child too (the next command), killed at its m-th step
      const r = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `(await import(${JSON.stringify(guardJs)})).guardOut({ out: ${JSON.stringify(out)}, kind: 'x', owns: () => true, reuse: true })`,
        ],
        { env: { ...process.env, GROWBERT_FAULT_SWAP: String(m) }, encoding: 'utf8' },
      );
      assert.ok(r.signal === 'SIGKILL' || r.status === 0, r.stderr);
      assertNothingLost(out);
      recoverSwap(out);
      assert.equal(assertWhole(out), 'new');
      if (r.status === 0) break;
    }
  }
});

test('an OLD folder an older growbert left (no journal) is undone: the old output comes back whole', () => {
  const out = path.join(tmp, 'legacy');
  makeOld(out);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const t = path.join(tmp, `.legacy.${dead}.123.tmp`);
  // the state of issue 27: old entries moved aside, some new ones placed, the rest still in TMP
  fs.mkdirSync(`${t}.old`, { recursive: true });
  fs.mkdirSync(t);
  for (const f of ['own.txt', 'sub', 'log.1']) fs.renameSync(path.join(out, f), path.join(`${t}.old`, f));
  fs.writeFileSync(path.join(out, 'own.txt'), 'v2');
  fs.writeFileSync(path.join(t, 'new.txt'), 'v2 only');
  recoverSwap(out);
  assert.equal(assertWhole(out), 'old');
  // a leftover TMP of a killed process alone is removed; one of a running process is not
  fs.mkdirSync(path.join(tmp, `.legacy.${dead}.5.tmp`));
  fs.mkdirSync(path.join(tmp, `.legacy.${process.pid}.5.tmp`));
  recoverSwap(out);
  assert.deepEqual(siblings(out), [`.legacy.${process.pid}.5.tmp`]);
});

test('a swap whose process still runs is refused; a journal growbert did not write is refused, not followed', async () => {
  const out = path.join(tmp, 'live');
  makeOld(out);
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  await new Promise((r) => sleeper.once('spawn', r));
  const t = path.join(tmp, `.live.${sleeper.pid}.5.tmp`);
  const j = {
    version: 1,
    pid: sleeper.pid,
    start: processStart(sleeper.pid!),
    out,
    tmp: t,
    old: `${t}.old`,
    moveOut: [],
    moveIn: [],
    phase: 'forward',
  };
  try {
    fs.writeFileSync(journalPath(out), JSON.stringify(j));
    assert.throws(() => recoverSwap(out), /growbert process \d+ is replacing .* right now/);
    // the same pid with another start time is a reused pid, not the writer
    fs.writeFileSync(journalPath(out), JSON.stringify({ ...j, start: '1' }));
    recoverSwap(out);
    assert.equal(assertWhole(out), 'old');
  } finally {
    sleeper.kill();
  }
  const victim = path.join(tmp, 'victim');
  fs.mkdirSync(victim);
  fs.writeFileSync(path.join(victim, 'keep.txt'), 'mine');
  const alien = [
    ['{"version": 1, "pid', /is not valid JSON/],
    [JSON.stringify({ ...j, pid: 1, old: victim }), /does not describe a replacement of that folder/],
    [JSON.stringify({ ...j, pid: 1, tmp: victim, old: `${victim}.old` }), /does not describe/],
    [JSON.stringify({ ...j, pid: 1, moveOut: ['../victim'] }), /does not describe/],
    [JSON.stringify({ ...j, pid: 1, out: victim }), /does not describe/],
  ] as const;
  for (const [text, re] of alien) {
    fs.writeFileSync(journalPath(out), text);
    assert.throws(
      () => recoverSwap(out),
      (e: Error) => e.name === 'GrowbertError' && re.test(e.message) && /move it away/.test(e.message),
    );
  }
  fs.rmSync(journalPath(out));
  execFileSync('mkfifo', [journalPath(out)]);
  assert.throws(() => recoverSwap(out), /is a FIFO \(named pipe\), so it is not a journal growbert wrote/);
  fs.rmSync(journalPath(out));
  assert.equal(fs.readFileSync(path.join(victim, 'keep.txt'), 'utf8'), 'mine');
  assert.equal(assertWhole(out), 'old');
});
