// Several GLUE tasks on one pre-trained encoder, with a results table: glue.md (for people) and
// glue.json (for the comparison report and other tools), written atomically into the run folder
// unless told otherwise. The comparison of growth schedules calls runGlueSuite once per run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { GrowbertError } from '../io/errors.js';
import { guardOut } from '../io/out-guard.js';
import { GLUE_TASKS, type GlueTask } from './glue-data.js';
import { RunDir } from '../train/run-dir.js';
import { disposeEncoder, loadHfEncoder, loadRunEncoder, type PretrainedEncoder } from './encoder.js';
import { finetuneGlue, type FinetuneOptions, type TaskResult } from './finetune.js';

export interface GlueSuiteOptions extends Omit<FinetuneOptions, 'task'> {
  tasks: GlueTask[];
  /** a growbert run or checkpoint folder */
  run?: string;
  /** a Hugging Face BERT folder (instead of run) */
  model?: string;
  /** tokenizer for an HF folder that has none */
  tokenizer?: string;
  /** where glue.md and glue.json go; default the run (or model) folder; null writes nothing */
  outDir?: string | null;
}

export interface GlueSuiteResult {
  source: string;
  kind: 'run' | 'hf';
  checkpoint?: string;
  tasks: TaskResult[];
  /** mean of the task scores (each the mean over seeds), as GLUE's average */
  average: number;
  notes: string[];
  files?: { markdown: string; json: string };
}

/** Parses 'sst2,mrpc,cola' (a GrowbertError names an unknown task). */
export function parseTaskList(list: string): GlueTask[] {
  const tasks = list
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  if (tasks.length === 0)
    throw new GrowbertError('--tasks is empty; give a comma-separated list such as sst2,mrpc,cola');
  for (const t of tasks) {
    if (!Object.hasOwn(GLUE_TASKS, t))
      throw new GrowbertError(`unknown GLUE task '${t}'; use one of ${Object.keys(GLUE_TASKS).join(', ')}`);
  }
  return [...new Set(tasks)] as GlueTask[];
}

/** Loads the encoder named by exactly one of run / model. */
export function loadEncoder(o: { run?: string; model?: string; tokenizer?: string }): PretrainedEncoder {
  if ((o.run === undefined) === (o.model === undefined))
    throw new GrowbertError('pass exactly one of --run DIR (a growbert run) or --model DIR (a Hugging Face folder)');
  return o.run !== undefined ? loadRunEncoder(o.run) : loadHfEncoder(o.model!, o.tokenizer);
}

const pct = (v: number) => (100 * v).toFixed(2);
const pm = (m: number, s: number, n: number) => (n > 1 ? `${pct(m)} ± ${pct(s)}` : pct(m));

/** The results as a Markdown table (scores x 100; mean ± sample std over seeds). */
export function glueMarkdown(r: Omit<GlueSuiteResult, 'files'>): string {
  const t0 = r.tasks[0];
  const s = t0?.settings;
  const lines = [
    '# GLUE dev results',
    '',
    `Model: \`${r.source}\` (${r.kind === 'run' ? `growbert run${r.checkpoint ? `, ${path.basename(r.checkpoint)}` : ''}` : 'Hugging Face folder'}).`,
  ];
  if (s) {
    const seeds = s.seeds > 1 ? `seeds ${s.seed}..${s.seed + s.seeds - 1} (mean ± std)` : `seed ${s.seed}`;
    lines.push(
      `Fine-tuning: ${s.epochs} epoch${s.epochs === 1 ? '' : 's'}, lr ${s.lr}, batch ${s.batchSize}, seq ${s.seqLength}, ${seeds}${s.maxTrain ? `, at most ${s.maxTrain} training examples per task` : ''}; last-epoch dev metrics.`,
    );
  }
  lines.push('', '| task | score | metrics | train / dev examples |', '|---|---:|---|---:|');
  for (const t of r.tasks) {
    const n = t.seeds.length;
    const metrics = Object.keys(t.mean)
      .map((k) => `${k} ${pm(t.mean[k]!, t.std[k]!, n)}`)
      .join(', ');
    lines.push(
      `| ${GLUE_TASKS[t.task].dir} | ${pm(t.score.mean, t.score.std, n)} | ${metrics} | ${t.trainExamples} / ${t.devExamples} |`,
    );
  }
  lines.push(`| **average** | **${pct(r.average)}** | | |`, '');
  for (const note of r.notes) lines.push(`Note: ${note}`);
  return lines.join('\n') + (r.notes.length ? '\n' : '');
}

/**
 * Fine-tunes on every task in turn (one encoder load, a fresh classifier per task and seed),
 * then writes glue.md and glue.json. Pass `encoder` to reuse one already loaded (not freed here).
 */
/** Folders glue may write glue.md and glue.json into: a result of its own, a run, an HF model. */
function ownsGlueOut(dir: string): boolean {
  return (
    fs.existsSync(path.join(dir, 'glue.json')) ||
    new RunDir(dir).isRun() ||
    fs.existsSync(path.join(dir, 'config.json'))
  );
}

export function runGlueSuite(o: GlueSuiteOptions & { encoder?: PretrainedEncoder }): GlueSuiteResult {
  if (o.tasks.length === 0) throw new GrowbertError('no GLUE tasks given; pass e.g. --tasks sst2,mrpc,cola');
  // an explicit --out, checked before any work: new or empty, a run or model folder, or an earlier glue result's
  if (o.outDir)
    guardOut({
      out: o.outDir,
      inputs: [o.dataDir],
      kind: 'a GLUE result, run or model',
      owns: ownsGlueOut,
      reuse: true,
      forceHint: null,
      flag: 'out',
    });
  const enc = o.encoder ?? loadEncoder(o);
  try {
    const tasks: TaskResult[] = [];
    for (const task of o.tasks) tasks.push(finetuneGlue(enc, { ...o, task }));
    const average = tasks.reduce((a, t) => a + t.score.mean, 0) / tasks.length;
    const result: GlueSuiteResult = { source: enc.source, kind: enc.kind, tasks, average, notes: enc.notes };
    if (enc.checkpoint) result.checkpoint = enc.checkpoint;
    const outDir = o.outDir === undefined ? enc.source : o.outDir;
    if (outDir !== null) {
      const markdown = path.join(outDir, 'glue.md');
      const json = path.join(outDir, 'glue.json');
      atomicWriteFile(markdown, glueMarkdown(result));
      atomicWriteFile(json, JSON.stringify(result, null, 2) + '\n');
      result.files = { markdown, json };
    }
    return result;
  } finally {
    if (!o.encoder) disposeEncoder(enc);
  }
}
