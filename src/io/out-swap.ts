// Replacing the entries of an output folder so that a kill at any instant loses nothing, and the
// next run finishes or undoes what a killed one left. `export --force`, `import --force` and
// `grow --force` go through it (src/io/out-guard.ts builds the new output in a temp sibling first).
//
// Why it is safe by construction: before the first entry moves, a journal beside the folder
// (`.OUT.growbert-swap.json`, written to a temp name, fsynced, then linked into place) records
// the three folders involved and the names moving: the old entries go from OUT to OLD, then the
// new ones from TMP to OUT, one rename each. Every rename is atomic, so at every instant each
// entry sits whole in exactly one of OUT, OLD or TMP, and where it sits says how far the swap got
// ("OLD/n exists" iff old n has moved; "TMP/n missing" iff new n has been placed). `recoverSwap`
// reads the journal and finishes the swap (phase "forward") or puts the old entries back (phase
// "back", written before an in-process rollback starts); it is driven by that state alone, so a
// kill during recovery is recovered the same way. A journal growbert did not write (not a regular
// file, not JSON, paths other than OUT's own temp siblings) is refused, never followed. Only once
// every new entry is placed is OLD renamed to DONE and the journal removed; what is left then
// (DONE, an empty TMP) is deleted.
// Temp siblings of a killed run (TMP, OLD, DONE, named with its pid) are removed once that pid is
// no longer running; an OLD left without a journal (by growbert before this module) is undone.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from './errors.js';
import { fileKind } from './input-file.js';

/** What the journal records (paths are absolute). */
interface Journal {
  version: 1;
  pid: number;
  /** the process's start time (Linux: clock ticks since boot), so a reused pid is not taken for it */
  start: string | null;
  out: string;
  tmp: string;
  old: string;
  /** entries of OUT moved aside (own entries, and those the new output also has) */
  moveOut: string[];
  /** entries of the new output, moved from TMP into OUT */
  moveIn: string[];
  phase: 'forward' | 'back';
}

/** Where the swap journal of `out` lives (beside it, so the folder itself holds nothing foreign). */
export function journalPath(out: string): string {
  return path.join(path.dirname(out), `.${path.basename(out)}.growbert-swap.json`);
}

/** This process's start time as /proc gives it (null where there is no /proc). */
export function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** True when process `pid` runs (and, when `start` is known, is the same process, not a reuse of its pid). */
export function processAlive(pid: number, start: string | null = null): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (start === null) return true;
  const now = processStart(pid);
  return now === null || now === start;
}

// Tests kill the process at the Nth step (GROWBERT_FAULT_SWAP=N): every instant of a swap and of
// its recovery is a place a real kill -9 can land.
let steps = 0;
function step(): void {
  const at = Number(process.env.GROWBERT_FAULT_SWAP);
  if (at > 0 && ++steps === at) process.kill(process.pid, 'SIGKILL');
}

const exists = (p: string): boolean => fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;

function move(from: string, to: string): void {
  step();
  fs.renameSync(from, to);
}

function writeJournal(file: string, j: Journal, exclusive: boolean): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(j) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  step();
  try {
    if (!exclusive) fs.renameSync(tmp, file);
    else {
      try {
        fs.linkSync(tmp, file); // atomic and exclusive: two writers never both own the folder
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
        fs.renameSync(tmp, file); // a file system without hard links
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  syncDir(path.dirname(file));
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // some file systems cannot fsync a folder; the rename order still holds for a killed process
  }
}

/**
 * The journal of `out`, or null. It is written whole (a temp file, fsynced, then linked), so one
 * that is not a regular file, not JSON, or does not describe a replacement of `out` through its
 * own temp siblings was not written by growbert: it is refused, never followed (its paths would
 * name what recovery moves and removes).
 */
function readJournal(file: string, out: string): Journal | null {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st) return null;
  const alien = (why: string) =>
    new GrowbertError(`${file} ${why}, so it is not a journal growbert wrote for ${out}; move it away and run again`);
  if (!st.isFile()) throw alien(`is ${fileKind(st)}`);
  let j: Journal;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      j = JSON.parse(fs.readFileSync(fd, 'utf8')) as Journal;
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) throw e;
    throw alien('is not valid JSON');
  }
  const plain = (names: unknown) =>
    Array.isArray(names) &&
    names.every((n) => typeof n === 'string' && n !== '' && n !== '.' && n !== '..' && !n.includes('/'));
  const sibling = tempSiblings(out, [path.basename(j?.tmp ?? '')])[0];
  const ok =
    j?.version === 1 &&
    Number.isInteger(j.pid) &&
    j.out === out &&
    sibling?.kind === 'tmp' &&
    path.dirname(j.tmp) === path.dirname(out) &&
    j.old === `${j.tmp}.old` &&
    plain(j.moveOut) &&
    plain(j.moveIn) &&
    (j.phase === 'forward' || j.phase === 'back');
  if (!ok) throw alien('does not describe a replacement of that folder through its temp siblings');
  return j;
}

/**
 * Moves the entries `moveIn` of `tmp` into `out`, after moving `out`'s entries `moveOut` into
 * `old` (an empty folder beside it), under a journal. On a failure the old entries are put back
 * and the error rethrown; a kill is recovered by the next `recoverSwap(out)`.
 */
export function swapEntries(o: { out: string; tmp: string; old: string; moveOut: string[]; moveIn: string[] }): void {
  const file = journalPath(o.out);
  const j: Journal = { version: 1, pid: process.pid, start: processStart(process.pid), ...o, phase: 'forward' };
  try {
    writeJournal(file, j, true);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      removeAll([o.tmp, o.old]); // the new output is dropped; what is in `out` is not ours to touch now
      throw new GrowbertError(
        `another growbert is replacing ${o.out} right now (its journal ${file} exists); wait for it to finish, then run again`,
      );
    }
    throw e;
  }
  const failed = rollOrUndo(j, file);
  if (failed) throw failed;
}

/**
 * Rolls `j` as its phase says; when finishing fails, undoes instead (phase "back", written first)
 * and returns what made finishing fail. Throws when even undoing fails (nothing is lost then
 * either: the journal stays and says where every entry is).
 */
function rollOrUndo(j: Journal, file: string): unknown {
  try {
    roll(j, file);
    return null;
  } catch (e) {
    if (j.phase === 'back') throw stuck(j, file, e);
    j.phase = 'back';
    try {
      writeJournal(file, j, false);
      roll(j, file);
    } catch (e2) {
      throw stuck(j, file, e2);
    }
    return e;
  }
}

/**
 * Finishes (forward) or undoes (back) the swap `j` from whatever state it is in, removes the
 * journal, then what is left of the temp folders (a failure there is only a leftover, removed
 * by the next run: it never turns into a rollback).
 */
function roll(j: Journal, file: string): void {
  const done = `${j.old}.done`;
  if (exists(done)) {
    // every new entry was placed (OLD became DONE before the journal went): only clean-up is left
    step();
    fs.rmSync(file, { force: true });
    return removeAll([done, j.tmp, j.old]);
  }
  if (!exists(j.old)) fs.mkdirSync(j.old); // made before the journal; gone only if someone removed it
  if (j.phase === 'forward') {
    for (const n of j.moveOut)
      if (!exists(path.join(j.old, n)) && exists(path.join(j.out, n))) move(path.join(j.out, n), path.join(j.old, n));
    for (const n of j.moveIn) if (exists(path.join(j.tmp, n))) move(path.join(j.tmp, n), path.join(j.out, n));
    move(j.old, done);
  } else {
    for (const n of j.moveIn)
      if (!exists(path.join(j.tmp, n)) && exists(path.join(j.out, n))) move(path.join(j.out, n), path.join(j.tmp, n));
    for (const n of j.moveOut) if (exists(path.join(j.old, n))) move(path.join(j.old, n), path.join(j.out, n));
  }
  step();
  fs.rmSync(file, { force: true });
  removeAll([done, j.tmp, j.old]);
}

function removeAll(dirs: string[]): void {
  for (const d of dirs) {
    step();
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      // a leftover: recoverSwap removes it once this process has ended
    }
  }
}

function stuck(j: Journal, file: string, e: unknown): GrowbertError {
  const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new GrowbertError(
    `cannot finish or undo the replacement of ${j.out} (${why}): nothing is lost, the old entries are in ${j.old} and the new ones in ${j.tmp} or ${j.out}, as ${file} records; fix the cause and run the command again`,
  );
}

/**
 * Temp siblings of `out` a writer of it makes: `.OUT.<pid>.<ms>.tmp`, `.old`, `.old.done`, and
 * the journal's own temp file `.OUT.growbert-swap.json.<pid>.tmp`.
 */
function tempSiblings(out: string, only?: string[]): { name: string; pid: number; kind: 'tmp' | 'old' | 'done' }[] {
  const base = path.basename(out).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^\\.${base}\\.(?:(\\d+)\\.\\d+|growbert-swap\\.json\\.(\\d+))\\.tmp(\\.old(\\.done)?)?$`);
  let names: string[];
  try {
    names = only ?? fs.readdirSync(path.dirname(out));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const m = re.exec(name);
    return m ? [{ name, pid: Number(m[1] ?? m[2]), kind: m[4] ? 'done' : m[3] ? 'old' : 'tmp' } as const] : [];
  });
}

/**
 * Before writing `out`: finishes or undoes a replacement a killed growbert left (its journal),
 * undoes one left by an older growbert (an OLD folder without a journal: its entries go back
 * where they were), and removes the temp siblings of processes that no longer run. A swap whose
 * process still runs is refused.
 */
export function recoverSwap(out: string, say?: (line: string) => void): void {
  const file = journalPath(out);
  const j = readJournal(file, out);
  if (j) {
    if (j.pid !== process.pid && processAlive(j.pid, j.start))
      throw new GrowbertError(
        `growbert process ${j.pid} is replacing ${out} right now (journal ${file}); wait for it to finish, then run again`,
      );
    say?.(`${out}: ${j.phase === 'forward' ? 'finishing' : 'undoing'} a replacement a killed growbert left`);
    rollOrUndo(j, file); // a replacement that cannot be finished now is undone: the old output comes back
  }
  for (const s of tempSiblings(out)) {
    if (processAlive(s.pid)) continue;
    const p = path.join(path.dirname(out), s.name);
    if (s.kind === 'old') undoLegacy(out, p);
    else fs.rmSync(p, { recursive: true, force: true });
  }
}

/**
 * An OLD folder without a journal: growbert before the journal moved the old entries there, then
 * the new ones in, and was killed. The old output is put back whole (a new entry in its place
 * goes back to the temp folder); the new one is dropped: the command that was killed is rerun.
 */
function undoLegacy(out: string, old: string): void {
  const tmp = old.slice(0, -'.old'.length);
  for (const n of fs.readdirSync(old)) {
    // OUT/n beside OLD/n is the new entry placed there (the old one moved exactly once): it goes
    if (exists(path.join(out, n))) fs.rmSync(path.join(out, n), { recursive: true, force: true });
    fs.renameSync(path.join(old, n), path.join(out, n));
  }
  fs.rmSync(old, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
}
