// exportToHf() and importFromHf(): what `growbert export` and `growbert import` do. A run's latest
// checkpoint as a Hugging Face BertForMaskedLM folder, and such a folder as a growbert run that can be grown
// and trained further (src/export/, docs/export.md).
import { z } from 'zod';
import { exportRunToHf, type ExportResult } from '../export/hf.js';
import { importHfToRun, type ImportResult } from '../export/hf-import.js';
import { checkAborted, logTo, parseOptions, type CallOptions } from './common.js';

/** The options of exportToHf(): `growbert export`'s flags as fields. */
export const ExportOptionsSchema = z
  .object({
    /** a growbert run (its latest checkpoint) or checkpoint folder */
    run: z.string().min(1),
    /** the Hugging Face folder to write (must be empty or absent) */
    out: z.string().min(1),
    /** replace an earlier export in `out` (its files only; other files there stay) */
    force: z.boolean().default(false),
  })
  .strict();
export type ExportOptions = z.input<typeof ExportOptionsSchema>;

/** The options of importFromHf(): `growbert import`'s flags as fields. */
export const ImportOptionsSchema = z
  .object({
    /** a Hugging Face folder: config.json + model.safetensors (+ tokenizer files) */
    hf: z.string().min(1),
    /** the run folder to create (must be empty or absent) */
    out: z.string().min(1),
    /** vocab.txt / tokenizer.json to use when the folder has none */
    tokenizer: z.string().min(1).optional(),
    /** seed for weights the folder lacks (an absent MLM head) */
    seed: z.number().int().min(0).default(0),
    /** replace an earlier growbert run in `out` (its run files only; other files there stay) */
    force: z.boolean().default(false),
  })
  .strict();
export type ImportOptions = z.input<typeof ImportOptionsSchema>;

export type { ExportResult, ImportResult };

/** Writes a run's latest checkpoint as a Hugging Face BertForMaskedLM folder (atomically). */
export async function exportToHf(options: ExportOptions, call: CallOptions = {}): Promise<ExportResult> {
  const o = parseOptions(ExportOptionsSchema, options, 'export options');
  checkAborted(call.signal, 'export');
  const r = exportRunToHf(o.run, o.out, { force: o.force });
  for (const n of r.notes) logTo(call)(`note: ${n}`);
  return r;
}

/** Turns a Hugging Face BERT folder into a growbert run (config, tokenizer, step-0 checkpoint). */
export async function importFromHf(options: ImportOptions, call: CallOptions = {}): Promise<ImportResult> {
  const o = parseOptions(ImportOptionsSchema, options, 'import options');
  checkAborted(call.signal, 'import');
  const r = importHfToRun(o.hf, o.out, { tokenizer: o.tokenizer, force: o.force, seed: o.seed });
  for (const n of r.notes) logTo(call)(`note: ${n}`);
  return r;
}
