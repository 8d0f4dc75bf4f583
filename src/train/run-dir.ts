// The run folder's one owner: what makes a folder a growbert run, what growbert may remove from
// it, who may write it now, and what `pretrain --out DIR` may do with DIR, decided before any work.
// - A run is recognised only by the marker growbert writes into it (RUN/.growbert-run, JSON
//   {kind, version, created, files}), never by fields a user's own config.json also has. A run
//   made before the marker existed counts as one only when it holds a checkpoint.
// - `files` lists the entries growbert claimed when it created the run (those that were not there
//   yet): starting over removes only these, so a user's file beside them is never touched.
// - RUN/.growbert-lock (created atomically with link(2)) names the process writing the run: a
//   second pretrain or a --resume into a live run is refused naming its pid; the lock goes on exit,
//   and a dead holder's lock is taken over.
// - a fresh run needs a new or empty folder, or a marked run with no checkpoint yet (it is started
//   over); a folder with a checkpoint is continued with --resume, never overwritten;
// - temp files of a save cut off by a kill are removed, and a latest.json that points nowhere
//   falls back to the newest complete checkpoint (src/train/checkpoint.ts).
// The layout itself (config.json, tokenizer/, ...) is runPaths in src/train/run.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { GrowbertError } from '../io/errors.js';
import { fsStep, guardOut, ownedName, realPath } from '../io/out-guard.js';
import { latestCheckpoint, removeStaleTemps } from './checkpoint.js';
import { MetricsLog } from './metrics-log.js';
import { runPaths } from './run.js';
import type { BertConfig } from '../model/index.js';

/** The entries growbert writes in a run folder (see src/train/run.ts); a '*' ends a prefix. */
export const RUN_ENTRIES = [
  'config.json',
  'tokenizer',
  'metrics.jsonl',
  'checkpoints',
  'schedule.json',
  'events.out.tfevents.*',
] as const;
export const RUN_MARKER = '.growbert-run';
export const RUN_LOCK = '.growbert-lock';
const MARKER_KIND = 'growbert-run';

export interface RunMarker {
  kind: typeof MARKER_KIND;
  version: 1;
  created: string;
  /** the entries growbert claimed (RUN_ENTRIES names): the only ones it ever removes */
  files: string[];
}

/** The run's marker, or null when the folder has none (or an unreadable one: then it is not vouched for). */
export function readRunMarker(dir: string): RunMarker | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, RUN_MARKER), 'utf8')) as Partial<RunMarker>;
    if (m?.kind !== MARKER_KIND || !Array.isArray(m.files)) return null;
    return { kind: MARKER_KIND, version: 1, created: String(m.created), files: m.files.map(String) };
  } catch {
    return null;
  }
}

/**
 * Marks `dir` as a run and claims every growbert entry not there yet (plus those `all` says
 * growbert wrote, as in a folder it built itself). Entries already claimed stay claimed.
 */
export function claimRun(dir: string, all = false): void {
  const present = fs.readdirSync(dir);
  const m = readRunMarker(dir);
  const free = RUN_ENTRIES.filter((e) => all || !present.some((n) => ownedName(n, [e])));
  const files = [...new Set([...(m?.files ?? []), ...free])];
  const marker: RunMarker = { kind: MARKER_KIND, version: 1, created: m?.created ?? new Date().toISOString(), files };
  atomicWriteFile(path.join(dir, RUN_MARKER), JSON.stringify(marker, null, 2) + '\n');
}

/** A run made before the marker existed: it holds a checkpoint (latest.json or a step folder with trainer.json). */
function isLegacyRun(dir: string): boolean {
  const ck = runPaths(dir).checkpoints;
  try {
    if (fs.existsSync(path.join(ck, 'latest.json'))) return true;
    return fs.readdirSync(ck).some((n) => /^step-\d{8}$/.test(n) && fs.existsSync(path.join(ck, n, 'trainer.json')));
  } catch {
    return false;
  }
}

/** True when `dir` is a growbert run: it has growbert's marker, or (an older run) a checkpoint. */
export function looksLikeRun(dir: string): boolean {
  return readRunMarker(dir) !== null || isLegacyRun(dir);
}

/** The entries of the run in `dir` that growbert may replace or remove (with the marker and lock). */
export function ownedRunEntries(dir: string): string[] {
  const m = readRunMarker(dir);
  const files = m ? m.files : isLegacyRun(dir) ? [...RUN_ENTRIES] : [];
  return files.length ? [...files, RUN_MARKER] : [];
}

/** Removes the entries growbert claimed in run `dir` (and `extra` of its own); the user's files stay. */
export function removeRunOutputs(dir: string, extra: string[] = []): void {
  const owned = [...ownedRunEntries(dir), ...extra];
  for (const n of fs.readdirSync(dir))
    if (ownedName(n, owned) && n !== RUN_MARKER) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
}

// ---- the lock ----

interface LockBody {
  pid: number;
  host: string;
  started: string;
}
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

function readLock(file: string): LockBody | null {
  try {
    const b = JSON.parse(fs.readFileSync(file, 'utf8')) as LockBody;
    return Number.isInteger(b.pid) ? b : null;
  } catch {
    return null;
  }
}

/**
 * Takes the run's lock, or throws a one-line error naming the live holder. A lock whose process
 * is gone (killed, crashed) is taken over. Released by releaseRunLock, and on any exit.
 */
export function lockRun(runDir: string): void {
  const real = realPath(runDir);
  const file = path.join(real, RUN_LOCK);
  if (held.has(real))
    throw new GrowbertError(`${runDir} is already being written by this process; choose another --out`);
  const me: LockBody = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  fsStep('lock', runDir, () => fs.writeFileSync(tmp, JSON.stringify(me) + '\n'));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(tmp, file); // atomic: fails when a lock is there, and the lock is never seen half-written
        held.add(real);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5)
          return fsStep('lock', runDir, () => {
            throw e;
          });
      }
      const holder = readLock(file);
      if (holder && holder.host !== me.host)
        throw new GrowbertError(
          `${runDir} is in use by process ${holder.pid} on ${holder.host} (since ${holder.started}); wait for it to end, or choose another --out (delete ${file} only if that process is gone)`,
        );
      if (holder && holder.pid !== process.pid && pidAlive(holder.pid))
        throw new GrowbertError(
          `${runDir} is in use by process ${holder.pid} (since ${holder.started}); wait for it to end or stop it, or choose another --out`,
        );
      takeOverStale(file, holder);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const r of [...held]) releaseRunLock(r);
    });
  }
}

/** Moves a dead holder's lock away; if another process replaced it meanwhile, puts that one back. */
function takeOverStale(file: string, seen: LockBody | null): void {
  const aside = `${file}.${process.pid}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // gone already: try again
  }
  const moved = readLock(aside);
  if (seen && moved && (moved.pid !== seen.pid || moved.started !== seen.started)) {
    try {
      fs.linkSync(aside, file); // a live process's fresh lock: restore it
    } catch {
      /* a third one holds it now; the next attempt reads it */
    }
  }
  fs.rmSync(aside, { force: true });
}

/** Releases the run's lock when this process holds it. */
export function releaseRunLock(runDir: string): void {
  const real = realPath(runDir);
  if (!held.delete(real)) return;
  const file = path.join(real, RUN_LOCK);
  if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
}

// ---- what pretrain may do with --out ----

export interface RunDirOptions {
  /** the run's inputs (corpus paths, tokenizer file): --out must stay clear of them */
  inputs?: (string | undefined)[];
  say?: (line: string) => void;
  /** this process writes the run (rank 0 of a data-parallel run, or the only process) */
  leader?: boolean;
}

/** Checks (and tidies) the run folder; returns the checkpoint to resume from, or null for a start from step 0. */
export function prepareRunDir(runDir: string, resume: boolean, o: RunDirOptions = {}): string | null {
  const say = o.say ?? ((l: string) => console.error(l));
  // Data parallel: rank 0 decides for the run (and may already be writing into the folder, so
  // other ranks must not judge its contents); they only need the checkpoint to resume from.
  if (o.leader === false) return resume && fs.existsSync(runDir) ? latestCheckpoint(runDir, () => {}) : null;
  // reuse: a run folder is this command's own; whether it may be written is decided below
  guardOut({
    out: runDir,
    inputs: resume ? [] : (o.inputs ?? []),
    kind: 'a growbert run',
    owns: looksLikeRun,
    reuse: true,
    forceHint: null,
    ignore: [RUN_LOCK],
  });
  if (!fs.existsSync(runDir)) {
    if (resume)
      throw new GrowbertError(`nothing to resume: ${runDir} does not exist; drop --resume to start a new run there`);
    return null;
  }
  lockRun(runDir); // before anything is tidied: a live run's folder is refused here
  const removed = removeStaleTemps(runDir);
  if (removed.length)
    say(`removed ${removed.length} temp file(s) of an interrupted checkpoint save in ${runPaths(runDir).checkpoints}`);
  const latest = latestCheckpoint(runDir, (l) => say(`warning: ${l}`));
  if (latest) {
    if (!resume)
      throw new GrowbertError(
        `${runDir} already holds a run; pass --resume to continue it (from ${path.basename(latest)}), or choose another --out`,
      );
    return latest;
  }
  if (!readRunMarker(runDir)) {
    if (fs.readdirSync(runDir).some((n) => n !== RUN_LOCK))
      throw new GrowbertError(
        `${runDir} holds a run of an older growbert with no usable checkpoint; growbert never deletes what it cannot vouch for: choose another --out`,
      );
    if (resume)
      throw new GrowbertError(`nothing to resume in ${runDir} (no run there); drop --resume to start a new run`);
    return null; // an empty folder
  }
  return startOver(runDir, resume, say);
}

/** A marked run that stopped before its first checkpoint: nothing in it can be continued. */
function startOver(runDir: string, resume: boolean, say: (l: string) => void): null {
  say(
    resume
      ? `${runDir} has no checkpoint yet (the run stopped before its first one): starting it from step 0 with its saved config`
      : `${runDir} holds a run that stopped before its first checkpoint: starting it over`,
  );
  const owned = ownedRunEntries(runDir);
  // a fresh start may use other data: all growbert wrote is made again; a resume keeps config and tokenizer
  if (!resume) removeRunOutputs(runDir);
  else if (ownedName('metrics.jsonl', owned)) new MetricsLog(runDir).truncateAfter(-1);
  return null;
}

/**
 * Creates the run folder when needed, marks it as growbert's (claiming the entries it will
 * write) and takes its lock: called by the process that writes the run, once the run's config
 * passed every check.
 */
export function openRunDir(runDir: string): void {
  fsStep('create the run folder', runDir, () => fs.mkdirSync(runDir, { recursive: true }));
  if (!readRunMarker(runDir) && !isLegacyRun(runDir)) fsStep('mark', runDir, () => claimRun(runDir));
  if (!held.has(realPath(runDir))) lockRun(runDir);
}

// ---- a run resumes the same from anywhere ----

/** Paths (not stdlib:, hf: and the like) as absolute ones: the saved config resumes from any folder. */
export function absoluteDataPaths<D extends { specs: string[]; cacheDir?: string; tokenizer?: string }>(data: D): D {
  const abs = (p: string) => (/^[a-z][a-z0-9+.-]*:/i.test(p) && !fs.existsSync(p) ? p : path.resolve(p));
  return {
    ...data,
    specs: data.specs.map(abs),
    ...(data.cacheDir !== undefined && { cacheDir: abs(data.cacheDir) }),
    ...(data.tokenizer !== undefined && { tokenizer: abs(data.tokenizer) }),
  };
}

/**
 * The tokenizer a run continues with: its own (RUN/tokenizer), whatever the cache or --tokenizer
 * now say, so a resume does not depend on the cache folder or on retraining. Undefined when the
 * run has none yet (it stopped before saving one).
 */
export function resumeTokenizer(
  runDir: string,
  given: string | undefined,
  say: (l: string) => void,
): string | undefined {
  const own = path.resolve(runPaths(runDir).tokenizerDir, 'tokenizer.json');
  if (!fs.existsSync(own)) return given;
  if (given && realPath(given) !== realPath(own) && realPath(given) !== path.dirname(realPath(own)))
    say(`note: --tokenizer ${given} not used: a run resumes with its own tokenizer, ${own}`);
  return own;
}

/**
 * A resume builds the model from the checkpoint; a config.json edited since (say model.hiddenSize)
 * would silently plan, log and count FLOPs for another shape. Refused, naming the field.
 */
export function checkConfigMatches(saved: BertConfig, planned: BertConfig | undefined, runDir: string): void {
  if (!planned) return;
  const fields = ['hiddenSize', 'numHiddenLayers', 'numAttentionHeads', 'intermediateSize', 'vocabSize'] as const;
  for (const f of fields) {
    if (saved[f] === planned[f]) continue;
    const name = f === 'vocabSize' ? 'the vocabulary size (data.vocabSize or --tokenizer)' : `model.${f}`;
    throw new GrowbertError(
      `${runDir}/config.json (or a flag) gives ${name} ${planned[f]}, but the checkpoint has ${saved[f]}; a run keeps its shape: undo the change, or start a new run (or grow this one) for the new shape`,
    );
  }
}
