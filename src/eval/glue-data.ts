/**
 * Loaders for GLUE tasks in the standard tsv layout made by GLUE's download script.
 * Rows are split on tabs with no quote handling: several files hold unmatched `"` that a
 * CSV parser would treat as opening a multi-line field, silently merging examples.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from '../io/errors.js';
import { readInputText } from '../io/input-file.js';

export type GlueTask = 'sst2' | 'mrpc' | 'cola' | 'rte' | 'stsb' | 'qnli' | 'mnli';

export interface GlueTaskSpec {
  task: GlueTask;
  /** Folder under the GLUE root, e.g. 'SST-2'. */
  dir: string;
  /** Label strings in class-index order; null for regression (STS-B). */
  labels: string[] | null;
  metric: 'accuracy' | 'f1_accuracy' | 'matthews' | 'pearson_spearman';
  devFile: string;
}

export interface GlueExample {
  textA: string;
  textB?: string;
  /** Class index, or the float similarity score for stsb. */
  label: number;
}

export const GLUE_TASKS: Record<GlueTask, GlueTaskSpec> = {
  sst2: { task: 'sst2', dir: 'SST-2', labels: ['0', '1'], metric: 'accuracy', devFile: 'dev.tsv' },
  mrpc: { task: 'mrpc', dir: 'MRPC', labels: ['0', '1'], metric: 'f1_accuracy', devFile: 'dev.tsv' },
  cola: { task: 'cola', dir: 'CoLA', labels: ['0', '1'], metric: 'matthews', devFile: 'dev.tsv' },
  rte: { task: 'rte', dir: 'RTE', labels: ['entailment', 'not_entailment'], metric: 'accuracy', devFile: 'dev.tsv' },
  stsb: { task: 'stsb', dir: 'STS-B', labels: null, metric: 'pearson_spearman', devFile: 'dev.tsv' },
  qnli: { task: 'qnli', dir: 'QNLI', labels: ['entailment', 'not_entailment'], metric: 'accuracy', devFile: 'dev.tsv' },
  mnli: {
    task: 'mnli',
    dir: 'MNLI',
    labels: ['contradiction', 'entailment', 'neutral'],
    metric: 'accuracy',
    devFile: 'dev_matched.tsv',
  },
};

/** Where each field lives: header column names, or fixed indexes for header-less files (CoLA). */
type Columns =
  | { header: true; textA: string; textB?: string; label: string }
  | { header: false; textA: number; textB?: number; label: number };

const COLUMNS: Record<GlueTask, Columns> = {
  sst2: { header: true, textA: 'sentence', label: 'label' },
  mrpc: { header: true, textA: '#1 String', textB: '#2 String', label: 'Quality' },
  // source, label, original mark, sentence
  cola: { header: false, textA: 3, label: 1 },
  rte: { header: true, textA: 'sentence1', textB: 'sentence2', label: 'label' },
  // index genre filename year old_index source1 source2 sentence1 sentence2 score
  stsb: { header: true, textA: 'sentence1', textB: 'sentence2', label: 'score' },
  qnli: { header: true, textA: 'question', textB: 'sentence', label: 'label' },
  // sentence1 at column 8, sentence2 at 9, gold_label last (dev also has label1..label5)
  mnli: { header: true, textA: 'sentence1', textB: 'sentence2', label: 'gold_label' },
};

function isGlueTask(t: string): t is GlueTask {
  return Object.prototype.hasOwnProperty.call(GLUE_TASKS, t);
}

/** Lines of the file with BOM and CR stripped, and trailing empty lines dropped. */
function readLines(file: string): string[] {
  const text = readInputText(file, 'GLUE data file'); // BOM removed; a FIFO refused before it is opened
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** dataDir is the GLUE root holding SST-2/, MRPC/, ...; split is 'train' or 'dev'. */
export function loadGlue(task: GlueTask, dataDir: string, split: 'train' | 'dev'): GlueExample[] {
  if (!isGlueTask(task)) {
    throw new GrowbertError(
      `unknown GLUE task "${String(task)}"; expected one of ${Object.keys(GLUE_TASKS).join(', ')}`,
    );
  }
  const spec = GLUE_TASKS[task];
  const fileName = split === 'train' ? 'train.tsv' : spec.devFile;
  const file = path.join(dataDir, spec.dir, fileName);
  if (!fs.existsSync(file)) {
    throw new GrowbertError(
      `${file}: GLUE ${task} ${split} file not found (expected ${spec.dir}/${fileName} under ${dataDir}); --data should point at the GLUE root holding SST-2/, MRPC/, CoLA/, ...`,
    );
  }
  const lines = readLines(file);
  const cols = COLUMNS[task];
  let first = 0;
  let idxA: number;
  let idxB: number | undefined;
  let idxLabel: number;
  if (cols.header) {
    if (lines.length === 0) throw new GrowbertError(`${file}:1: file is empty; expected a header line and examples`);
    const header = lines[0]!.split('\t');
    const find = (name: string): number => {
      const i = header.indexOf(name);
      if (i < 0) {
        throw new GrowbertError(
          `${file}:1: header has no "${name}" column (found: ${header.join(' | ')}); is this the ${spec.dir} ${split} file?`,
        );
      }
      return i;
    };
    idxA = find(cols.textA);
    idxB = cols.textB === undefined ? undefined : find(cols.textB);
    idxLabel = find(cols.label);
    first = 1;
  } else {
    idxA = cols.textA;
    idxB = cols.textB;
    idxLabel = cols.label;
  }
  if (lines.length <= first) {
    throw new GrowbertError(`${file}:${first + 1}: file is empty; expected ${task} examples`);
  }
  const needed = Math.max(idxA, idxB ?? 0, idxLabel) + 1;
  const labelIndex = new Map((spec.labels ?? []).map((l, i) => [l, i] as const));

  const out: GlueExample[] = [];
  for (let i = first; i < lines.length; i++) {
    const lineNo = i + 1;
    const cells = lines[i]!.split('\t');
    if (cells.length < needed) {
      throw new GrowbertError(
        `${file}:${lineNo}: row has ${cells.length} tab-separated columns, ${task} needs at least ${needed}`,
      );
    }
    const raw = cells[idxLabel]!.trim();
    let label: number;
    if (spec.labels === null) {
      label = raw === '' ? NaN : Number(raw);
      if (!Number.isFinite(label)) throw new GrowbertError(`${file}:${lineNo}: score "${raw}" is not a number`);
    } else {
      const li = labelIndex.get(raw);
      if (li === undefined) {
        throw new GrowbertError(
          `${file}:${lineNo}: unknown label "${raw}"; ${task} labels are ${spec.labels.join(', ')}`,
        );
      }
      label = li;
    }
    const ex: GlueExample = { textA: cells[idxA]!, label };
    if (idxB !== undefined) ex.textB = cells[idxB]!;
    out.push(ex);
  }
  return out;
}
