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
  return path.join(runDir, 'checkpoints');
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
    const manifest = Object.fromEntries(FILES.map((f) => {
      const p = path.join(tmp, f);
      return [f, { bytes: fs.statSync(p).size, sha256: sha256File(p) }];
    }));
    atomicWriteFile(path.join(tmp, 'manifest.json'), JSON.stringify({ step, files: manifest }, null, 1));
    fs.rmSync(final, { recursive: true, force: true });
    fs.renameSync(tmp, final);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  atomicWriteFile(path.join(root, 'latest.json'), JSON.stringify({ step, dir: name }) + '\n');
  prune(root, keep, name);
  return final;
}

function prune(root: string, keep: number, latest: string): void {
  const all = fs.readdirSync(root).filter((d) => /^step-\d{8}$/.test(d)).sort();
  for (const d of all.slice(0, Math.max(0, all.length - keep))) {
    if (d !== latest) fs.rmSync(path.join(root, d), { recursive: true, force: true });
  }
}

/** The latest checkpoint folder of a run, or null when it has none. */
export function latestCheckpoint(runDir: string): string | null {
  const pointer = path.join(checkpointsDir(runDir), 'latest.json');
  if (!fs.existsSync(pointer)) return null;
  let dir: string;
  try {
    dir = (JSON.parse(fs.readFileSync(pointer, 'utf8')) as { dir: string }).dir;
  } catch {
    throw new GrowbertError(`${pointer} is unreadable; delete it to start over, or pass a checkpoint folder explicitly`);
  }
  return path.join(checkpointsDir(runDir), dir);
}

/** Accepts a run folder (its latest checkpoint) or a checkpoint folder. */
export function resolveCheckpoint(runOrCkpt: string): string {
  if (!fs.existsSync(runOrCkpt)) throw new GrowbertError(`${runOrCkpt} does not exist; pass a run folder or a checkpoint folder`);
  if (fs.existsSync(path.join(runOrCkpt, 'manifest.json'))) return runOrCkpt;
  const latest = latestCheckpoint(runOrCkpt);
  if (!latest) throw new GrowbertError(`${runOrCkpt} holds no checkpoint (no checkpoints/latest.json or manifest.json); train first or pass a checkpoint folder`);
  return latest;
}

/** Verifies sizes and hashes, then loads. A corrupted checkpoint is an error, never half-loaded. */
export function loadCheckpoint(dir: string, opts: { skipOptimizer?: boolean } = {}): CheckpointData {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestPath)) throw new GrowbertError(`${dir} is not a complete checkpoint (no manifest.json); use an earlier checkpoint`);
  let manifest: { files: Record<string, { bytes: number; sha256: string }> };
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch {
    throw new GrowbertError(`${manifestPath} is corrupted (not JSON); use an earlier checkpoint`);
  }
  for (const f of FILES) {
    const p = path.join(dir, f);
    const want = manifest.files?.[f];
    if (!want) throw new GrowbertError(`${manifestPath} does not list ${f}; the checkpoint is incomplete, use an earlier one`);
    if (!fs.existsSync(p)) throw new GrowbertError(`checkpoint ${dir} is missing ${f}; use an earlier checkpoint`);
    const size = fs.statSync(p).size;
    if (size !== want.bytes) throw new GrowbertError(`checkpoint file ${p} is corrupted (${size} bytes, expected ${want.bytes}); use an earlier checkpoint`);
    if (sha256File(p) !== want.sha256) throw new GrowbertError(`checkpoint file ${p} is corrupted (sha256 mismatch); use an earlier checkpoint`);
  }
  const model = loadSafetensors(path.join(dir, 'model.safetensors')).tensors;
  const optimizer = opts.skipOptimizer ? new Map<string, Tensor>() : loadSafetensors(path.join(dir, 'optimizer.safetensors')).tensors;
  const trainer = JSON.parse(fs.readFileSync(path.join(dir, 'trainer.json'), 'utf8')) as Record<string, unknown>;
  return { model, optimizer, trainer };
}
