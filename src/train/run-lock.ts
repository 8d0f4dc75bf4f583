// Who writes a run now: RUN/.growbert-lock names the process (pid, host, when, and the process's
// start time as the kernel counts it), so a second pretrain or a --resume into a live run is
// refused naming it. The lock appears whole in one step: a temp file hard-linked into place
// (link(2) fails when a lock is there), or, on a file system without hard links (EPERM), an
// exclusive create whose body a reader waits a moment for. It goes when the run ends and on any
// exit. A lock whose process is gone, or whose pid now belongs to a process started after the
// lock (the pid was reused after a crash), is taken over. Anything else at the lock's path (a
// folder, a link) is never moved or removed: the user is told what it is.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GrowbertError } from '../io/errors.js';
import { fsStep, realPath } from '../io/out-guard.js';
import { RUN_LOCK } from './run.js';

interface LockBody {
  pid: number;
  host: string;
  started: string;
  /** the holder's start time (clock ticks since boot, Linux), which a process given the same pid later lacks */
  since?: string;
}

/** link(2)'s errors on a file system that has no hard links (FAT, some network and FUSE ones). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
const held = new Set<string>();
let exitHook = false;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** When process `pid` started (field 22 of /proc/PID/stat), or undefined where /proc does not say. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]; // after "pid (comm) ", field 3 is first
  } catch {
    return undefined;
  }
}

function readLock(file: string): LockBody | null {
  try {
    const b = JSON.parse(fs.readFileSync(file, 'utf8')) as LockBody;
    return Number.isInteger(b?.pid) ? b : null;
  } catch {
    return null;
  }
}

const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The lock's body; a lock created a moment ago without a hard link may still be empty: waited for (1 s at most). */
function readLockSettled(file: string): LockBody | null {
  for (let i = 0; ; i++) {
    const body = readLock(file);
    const young = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 2000;
    if (body || !young || i >= 20) return body;
    sleepMs(50);
  }
}

/** Refuses a lock path holding anything but a file: growbert never moves or removes what it did not write. */
function refuseOdd(file: string, runDir: string): void {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st || st.isFile()) return;
  const what = st.isDirectory() ? 'a folder' : st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
  throw new GrowbertError(
    `${file} is ${what}, not growbert's lock file; growbert leaves it alone: if no growbert run uses ${runDir}, remove it yourself and run again`,
  );
}

/** Creates the lock file holding `text`: true, or false when a lock is there already. */
function createLock(file: string, text: string, runDir: string): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  fsStep('lock', runDir, () => fs.writeFileSync(tmp, text));
  try {
    fs.linkSync(tmp, file); // atomic: fails when a lock is there, and the lock is never seen half-written
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code))
      return fsStep('lock', runDir, (): boolean => {
        throw e;
      });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  // No hard links here: an exclusive create (O_EXCL), then the body (readLockSettled waits for it).
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    return fsStep('lock', runDir, () => {
      throw e;
    });
  }
  try {
    fs.writeSync(fd, text);
  } catch (e) {
    fs.rmSync(file, { force: true });
    return fsStep('lock', runDir, () => {
      throw e;
    });
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** Throws when `holder` is a live process: on another machine, or this one's, and not a reuse of its pid. */
function refuseLive(holder: LockBody | null, file: string, runDir: string): void {
  if (!holder || holder.pid === process.pid) return; // unreadable or our own pid's: not a live run's
  if (holder.host !== os.hostname())
    throw new GrowbertError(
      `${runDir} is in use by process ${holder.pid} on ${holder.host} (since ${holder.started}); wait for it to end, or choose another --out (delete ${file} only if that process is gone)`,
    );
  if (!pidAlive(holder.pid)) return;
  const now = processStart(holder.pid);
  if (holder.since !== undefined && now !== undefined && now !== holder.since) return; // the pid was reused
  const hint =
    holder.since !== undefined && now !== undefined
      ? ''
      : `; if process ${holder.pid} is not a growbert run (ps -p ${holder.pid} -o args), it got the pid of one that crashed: delete ${file}`;
  throw new GrowbertError(
    `${runDir} is in use by process ${holder.pid} (since ${holder.started}); wait for it to end or stop it, or choose another --out${hint}`,
  );
}

/**
 * Takes the run's lock, or throws a one-line error naming the live holder. A stale lock (its
 * process gone, or its pid reused) is taken over. Released by releaseRunLock, and on any exit.
 */
export function lockRun(runDir: string): void {
  const real = realPath(runDir);
  const file = path.join(real, RUN_LOCK);
  if (held.has(real))
    throw new GrowbertError(`${runDir} is already being written by this process; choose another --out`);
  const since = processStart(process.pid);
  const me: LockBody = {
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    ...(since && { since }),
  };
  for (let attempt = 0; ; attempt++) {
    refuseOdd(file, runDir);
    if (createLock(file, JSON.stringify(me) + '\n', runDir)) break;
    if (attempt >= 5)
      throw new GrowbertError(
        `cannot lock ${runDir}: ${file} keeps coming back; another process is starting there: wait, or choose another --out`,
      );
    const holder = readLockSettled(file);
    refuseLive(holder, file, runDir);
    takeOverStale(file, holder);
  }
  held.add(real);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const r of [...held]) releaseRunLock(r);
    });
  }
}

/** Moves a stale lock away; if another process replaced it meanwhile, puts that one back. */
function takeOverStale(file: string, seen: LockBody | null): void {
  const aside = `${file}.${process.pid}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // gone already: try again
  }
  const moved = readLock(aside);
  const other = seen && moved && (moved.pid !== seen.pid || moved.started !== seen.started);
  if (other || !fs.lstatSync(aside).isFile()) {
    // a live process's fresh lock (or something not growbert's) came in meanwhile: put it back
    try {
      fs.linkSync(aside, file);
    } catch (e) {
      // EEXIST: a third one holds it now (the next attempt reads it); else no hard links here
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' && !fs.existsSync(file)) fs.renameSync(aside, file);
    }
  }
  if (fs.lstatSync(aside, { throwIfNoEntry: false })?.isFile()) fs.rmSync(aside, { force: true });
}

/** True when this process holds the lock of `runDir`. */
export function holdsRunLock(runDir: string): boolean {
  return held.has(realPath(runDir));
}

/** Releases the run's lock when this process holds it. */
export function releaseRunLock(runDir: string): void {
  const real = realPath(runDir);
  if (!held.delete(real)) return;
  const file = path.join(real, RUN_LOCK);
  if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
}
