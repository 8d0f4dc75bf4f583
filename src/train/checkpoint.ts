// Checkpoints: RUN/checkpoints/step-NNNNNNNN/ holding model.safetensors, optimizer.safetensors
// and trainer.json, plus manifest.json (sizes and sha256 of each file) written last. A
// checkpoint is built in a temp folder and renamed into place, then RUN/checkpoints/latest.json
// is replaced atomically: a crash at any moment leaves the previous checkpoint usable.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { GrowbertError } from '../io/errors.js';
import { loadSafetensors, saveSafetensors, type Tensor } from '../tensor/index.js';
import { runPaths } from './run.js';

export interface CheckpointData {
  model: Map<string, Tensor>;
  optimizer: Map<string, Tensor>;
  /** JSON-able trainer state: step, tokens, RNG and data positions, config, stage... */
  trainer: Record<string, unknown>;
}

const FILES = ['model.safetensors', 'optimizer.safetensors', 'trainer.json'] as const;

function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export function checkpointsDir(runDir: string): string {
  return runPaths(runDir).checkpoints;
}

/** Writes a checkpoint for `step` and points latest.json at it; keeps the newest `keep` ones. */
export function saveCheckpoint(runDir: string, step: number, data: CheckpointData, keep = 2): string {
  const root = checkpointsDir(runDir);
  fs.mkdirSync(root, { recursive: true });
  const name = `step-${String(step).padStart(8, '0')}`;
  const final = path.join(root, name);
  const tmp = path.join(root, `.${name}.${process.pid}.tmp`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    saveSafetensors(path.join(tmp, 'model.safetensors'), data.model, { format: 'pt', producer: 'growbert' });
    saveSafetensors(path.join(tmp, 'optimizer.safetensors'), data.optimizer, { producer: 'growbert' });
    atomicWriteFile(path.join(tmp, 'trainer.json'), JSON.stringify(data.trainer, null, 1));
    const manifest = Object.fromEntries(
      FILES.map((f) => {
        const p = path.join(tmp, f);
        return [f, { bytes: fs.statSync(p).size, sha256: sha256File(p) }];
      }),
    );
    atomicWriteFile(path.join(tmp, 'manifest.json'), JSON.stringify({ step, files: manifest }, null, 1));
    fs.rmSync(final, { recursive: true, force: true });
    fs.renameSync(tmp, final);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  atomicWriteFile(runPaths(runDir).latest, JSON.stringify({ step, dir: name }) + '\n');
  prune(root, keep, name);
  return final;
}

/**
 * Keeps the newest `keep` checkpoints, and also the newest good one (see isGood) when none of
 * those is: after a loss blow-up the checkpoint a user resumes from must be one worth resuming.
 */
function prune(root: string, keep: number, latest: string): void {
  const all = stepDirs(root);
  const drop = all.slice(0, Math.max(0, all.length - keep));
  const kept = all.slice(drop.length);
  if (!kept.some((d) => isGood(path.join(root, d)))) {
    const good = [...drop].reverse().find((d) => isGood(path.join(root, d)));
    if (good) drop.splice(drop.indexOf(good), 1);
  }
  for (const d of drop) {
    if (d !== latest) fs.rmSync(path.join(root, d), { recursive: true, force: true });
  }
}

const STEP_DIR = /^step-\d{8}$/;
/** The step-NNNNNNNN folders of a checkpoints folder, oldest first. */
function stepDirs(root: string): string[] {
  return fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((d) => STEP_DIR.test(d))
        .sort()
    : [];
}

/** Complete (cheaply checked): manifest.json readable, and every file it lists there with its size. */
export function isComplete(dir: string): boolean {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
      files: Record<string, { bytes: number }>;
    };
    return FILES.every((f) => m.files?.[f] && fs.statSync(path.join(dir, f)).size === m.files[f].bytes);
  } catch {
    return false;
  }
}

/**
 * A checkpoint worth resuming: its loss at save time (the last validation loss in trainer.json)
 * is finite and not exploding, i.e. below 1.5x that of guessing uniformly over the vocabulary
 * (ln V), which no training that works stays above. A checkpoint with no loss recorded counts.
 */
export function isGood(dir: string): boolean {
  try {
    const t = JSON.parse(fs.readFileSync(path.join(dir, 'trainer.json'), 'utf8')) as {
      lastEval?: { valLoss?: number | null };
      modelConfig?: { vocabSize?: number };
    };
    const loss = t.lastEval?.valLoss;
    if (loss === undefined) return true;
    if (loss === null || !Number.isFinite(loss)) return false;
    const vocab = t.modelConfig?.vocabSize;
    return !vocab || loss <= 1.5 * Math.log(vocab);
  } catch {
    return false;
  }
}

/** How to go on from a damaged checkpoint, said by every message about one. */
const EARLIER =
  'pass an earlier checkpoint folder (RUN/checkpoints/step-N) instead (pretrain --resume falls back to one by itself)';

const warnDefault = (line: string) => console.error(`growbert: warning: ${line}`);

/**
 * The latest checkpoint folder of a run, or null when it has none. latest.json must name a
 * complete checkpoint inside this run's checkpoints/ folder; when it is missing, unreadable,
 * names anything else, or names a missing or incomplete checkpoint (a save cut off by a kill or
 * a full disk), the newest complete checkpoint is used instead, with a warning.
 */
export function latestCheckpoint(runDir: string, warn: (line: string) => void = warnDefault): string | null {
  const root = checkpointsDir(runDir);
  const pointer = runPaths(runDir).latest;
  let problem: string;
  if (!fs.existsSync(pointer)) {
    problem = 'is missing';
  } else {
    let dir: unknown;
    try {
      dir = (JSON.parse(fs.readFileSync(pointer, 'utf8')) as { dir?: unknown }).dir;
    } catch {
      dir = undefined;
    }
    if (dir === undefined) problem = 'is unreadable';
    else if (typeof dir !== 'string' || !STEP_DIR.test(dir))
      problem = `names ${JSON.stringify(dir)}, which is not a checkpoint folder of this run`;
    else if (!isComplete(path.join(root, dir))) problem = `names ${dir}, which is missing or incomplete`;
    else return path.join(root, dir);
  }
  const complete = stepDirs(root)
    .reverse()
    .find((d) => isComplete(path.join(root, d)));
  if (complete) warn(`${pointer} ${problem}; using the newest complete checkpoint, ${path.join(root, complete)}`);
  else if (problem !== 'is missing') warn(`${pointer} ${problem}, and the run has no complete checkpoint`);
  return complete ? path.join(root, complete) : null;
}

/**
 * Checkpoints worth resuming from, best first: the latest, then older complete ones. A resume
 * loads the first that passes its hash check (loadCheckpoint), warning about any that does not.
 */
export function loadLatestGood(
  runDir: string,
  warn: (line: string) => void = warnDefault,
): { dir: string; data: CheckpointData } | null {
  const root = checkpointsDir(runDir);
  const first = latestCheckpoint(runDir, () => {}); // its fallback was reported when the run folder was checked
  if (!first) return null;
  const older = stepDirs(root)
    .reverse()
    .map((d) => path.join(root, d))
    .filter((d) => d < first && isComplete(d));
  let firstError: unknown;
  for (const dir of [first, ...older]) {
    try {
      const data = loadCheckpoint(dir);
      if (dir !== first) warn(`resuming from the older checkpoint ${dir} instead`);
      return { dir, data };
    } catch (e) {
      if (!(e instanceof GrowbertError)) throw e;
      firstError ??= e;
      warn(e.message.replace(`; ${EARLIER}`, ''));
    }
  }
  throw firstError;
}

/** The newest good checkpoint (isGood), pointed at by latest.json from now on; null when none. */
export function fallBackToGood(runDir: string): string | null {
  const root = checkpointsDir(runDir);
  const good = stepDirs(root)
    .reverse()
    .find((d) => isComplete(path.join(root, d)) && isGood(path.join(root, d)));
  if (!good) return null;
  const step = Number(good.slice('step-'.length));
  atomicWriteFile(runPaths(runDir).latest, JSON.stringify({ step, dir: good }) + '\n');
  return path.join(root, good);
}

/**
 * Removes what a killed save leaves behind: temp checkpoint folders (.step-N.PID.tmp) and temp
 * files (.NAME.PID.TIME.tmp) of processes that no longer run.
 */
export function removeStaleTemps(runDir: string): string[] {
  const root = checkpointsDir(runDir);
  if (!fs.existsSync(root)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(root)) {
    const m = /^\.(?:step-\d{8}\.(\d+)|.+?\.(\d+)\.\d{10,})\.tmp$/.exec(name);
    if (!m || alive(Number(m[1] ?? m[2]))) continue;
    fs.rmSync(path.join(root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // our own earlier attempt in this process is over
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Accepts a run folder (its latest checkpoint) or a checkpoint folder. */
export function resolveCheckpoint(runOrCkpt: string): string {
  if (!fs.existsSync(runOrCkpt))
    throw new GrowbertError(`${runOrCkpt} does not exist; pass a run folder or a checkpoint folder`);
  if (fs.existsSync(path.join(runOrCkpt, 'manifest.json'))) return runOrCkpt;
  const latest = latestCheckpoint(runOrCkpt);
  if (!latest)
    throw new GrowbertError(
      `${runOrCkpt} holds no checkpoint (no complete checkpoints/step-N with a manifest.json); train first or pass a checkpoint folder`,
    );
  return latest;
}

/** Verifies sizes and hashes, then loads. A corrupted checkpoint is an error, never half-loaded. */
export function loadCheckpoint(dir: string, opts: { skipOptimizer?: boolean } = {}): CheckpointData {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestPath))
    throw new GrowbertError(`${dir} is not a complete checkpoint (no manifest.json); ${EARLIER}`);
  let manifest: { files: Record<string, { bytes: number; sha256: string }> };
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch {
    throw new GrowbertError(`${manifestPath} is corrupted (not JSON); ${EARLIER}`);
  }
  for (const f of FILES) {
    const p = path.join(dir, f);
    const want = manifest.files?.[f];
    if (!want) throw new GrowbertError(`${manifestPath} does not list ${f}; the checkpoint is incomplete; ${EARLIER}`);
    if (!fs.existsSync(p)) throw new GrowbertError(`checkpoint ${dir} is missing ${f}; ${EARLIER}`);
    const size = fs.statSync(p).size;
    if (size !== want.bytes)
      throw new GrowbertError(`checkpoint file ${p} is corrupted (${size} bytes, expected ${want.bytes}); ${EARLIER}`);
    if (sha256File(p) !== want.sha256)
      throw new GrowbertError(`checkpoint file ${p} is corrupted (sha256 mismatch); ${EARLIER}`);
  }
  const model = loadSafetensors(path.join(dir, 'model.safetensors')).tensors;
  const optimizer = opts.skipOptimizer
    ? new Map<string, Tensor>()
    : loadSafetensors(path.join(dir, 'optimizer.safetensors')).tensors;
  const trainer = JSON.parse(fs.readFileSync(path.join(dir, 'trainer.json'), 'utf8')) as Record<string, unknown>;
  return { model, optimizer, trainer };
}
