// What the dashboard reads from a runs folder, read-only: which run and compare folders it holds,
// and each run's config and plan (its metrics: metrics-index.ts). Everything tolerates folders that
// are half-written or removed meanwhile. Every file is read through safe-path.ts (regular files
// inside the runs folder only); where a run keeps each file is the run folder's layout (RunDir's
// paths, src/train/run.ts: that module alone, so the dashboard never loads the tensor addon).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runPaths } from '../../train/run.js';
import { readTextInside } from './safe-path.js';

export interface RunEntry {
  /** path relative to the runs folder, '/'-separated ('.' for the folder itself) */
  id: string;
  kind: 'run' | 'compare';
  /** last change (ms since the epoch) of the metrics log, or of the folder */
  updated: number;
}

const SKIP = new Set(['checkpoints', 'tokenizer', 'schedules', 'node_modules']);
const MAX_DEPTH = 4;

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p); // a link is not followed: its target may lie outside the runs folder
  } catch {
    return null;
  }
}

function kindOf(dir: string): RunEntry['kind'] | null {
  if (statOrNull(path.join(dir, 'results.json')) || statOrNull(path.join(dir, 'report.md'))) return 'compare';
  const run = runPaths(dir);
  if (statOrNull(run.metrics) || statOrNull(run.config)) return 'run';
  return null;
}

/** The run and compare folders under `root` (itself included), newest first. */
export function listRuns(root: string): RunEntry[] {
  const out: RunEntry[] = [];
  const walk = (dir: string, id: string, depth: number) => {
    const kind = kindOf(dir);
    if (kind) {
      const s = statOrNull(runPaths(dir).metrics) ?? statOrNull(dir);
      if (s) out.push({ id, kind, updated: s.mtimeMs });
      if (kind === 'run') return; // a run's own subfolders hold no runs
    }
    if (depth >= MAX_DEPTH) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // removed meanwhile, or unreadable
    }
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.') || SKIP.has(e.name)) continue;
      walk(path.join(dir, e.name), id === '.' ? e.name : `${id}/${e.name}`, depth + 1);
    }
  };
  walk(root, '.', 0);
  return out.sort((a, b) => b.updated - a.updated || a.id.localeCompare(b.id));
}

/** A JSON file of the run, or null when it is missing, half-written, not a regular file or outside the runs folder. */
export function readJson(root: string, file: string): unknown {
  const text = readTextInside(root, file);
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A compare folder's report: results.json, report.md and its plot images. */
export function readCompare(root: string, dir: string): { results: unknown; report: string | null; images: string[] } {
  const report = readTextInside(root, path.join(dir, 'report.md')); // null: not written yet
  let images: string[] = [];
  try {
    images = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.png'))
      .sort();
  } catch {
    /* removed */
  }
  return { results: readJson(root, path.join(dir, 'results.json')), report, images };
}
