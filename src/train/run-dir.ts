// What `pretrain --out DIR` may do with DIR, decided before any work:
// - a fresh run needs a new or empty folder, or a growbert run folder with no checkpoint yet (a
//   run that died before its first checkpoint: it is started over); a folder holding anything
//   else is refused, as is an --out that is, holds or lies inside an input (src/io/out-guard.ts);
// - a folder with a checkpoint is continued with --resume, never overwritten;
// - --resume on a run with no checkpoint starts it from step 0 and says so;
// - temp files of a save cut off by a kill are removed, and a latest.json that points nowhere
//   falls back to the newest complete checkpoint (src/train/checkpoint.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from '../io/errors.js';
import { guardOut, looksLikeRun } from '../io/out-guard.js';
import { latestCheckpoint, removeStaleTemps } from './checkpoint.js';
import { MetricsLog } from './metrics-log.js';
import { runPaths } from './run.js';

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
  });
  if (!fs.existsSync(runDir)) {
    if (resume)
      throw new GrowbertError(`nothing to resume: ${runDir} does not exist; drop --resume to start a new run there`);
    return null;
  }
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
  if (!looksLikeRun(runDir)) {
    if (resume)
      throw new GrowbertError(`nothing to resume in ${runDir} (no run there); drop --resume to start a new run`);
    return null; // an empty folder
  }
  // A run that stopped before its first checkpoint: nothing in it can be continued, so it starts over.
  say(
    resume
      ? `${runDir} has no checkpoint yet (the run stopped before its first one): starting it from step 0 with its saved config`
      : `${runDir} holds a run that stopped before its first checkpoint: starting it over`,
  );
  new MetricsLog(runDir).truncateAfter(-1);
  // a fresh start may use other data: its tokenizer, plan and event files are made again
  if (!resume) {
    const old = fs.readdirSync(runDir).filter((n) => n.startsWith('events.out.tfevents.')); // TensorBoard's copy of the metrics
    for (const p of [
      runPaths(runDir).tokenizerDir,
      path.join(runDir, 'schedule.json'),
      ...old.map((n) => path.join(runDir, n)),
    ])
      fs.rmSync(p, { recursive: true, force: true });
  }
  return null;
}
