// compare(): what `growbert compare` does. The full baseline, growth schedules and the small-only control
// at equal budgets, one after another or side by side; writes results.json, report.md and the plots into
// `out` and returns the results (src/report/compare.ts, docs/schedules.md).
import { z } from 'zod';
import { compare as runCompare } from '../report/compare.js';
import type { BudgetResult, SeededBudgetResult } from '../report/analysis.js';
import { CLOCKS } from '../train/budget-clock.js';
import { PRESET_NAMES, parseConfig, type PretrainConfigInput } from '../train/config.js';
import { checkAborted, logTo, parseOptions, type CallOptions, posInt, GlueTaskSchema } from './common.js';

/** The options of compare(): `growbert compare`'s flags as fields. */
export const CompareOptionsSchema = z
  .object({
    /** target size preset */
    target: z.enum(PRESET_NAMES).default('tiny'),
    /** schedules to compare with full (presets or JSON files); full and small-only always run */
    schedules: z.array(z.string().min(1)).min(1).default(['stack', 'length', 'width', 'compound']),
    /** budgets: steps (600), tokens (2Mtok), time (5m) or FLOPs (1e13flops) */
    budgets: z.array(z.string().min(1)).min(1),
    /** folder for the runs and the report: new, empty, or an earlier compare's (continued) */
    out: z.string().min(1),
    /** seeds every schedule runs with (default: base.train.seed, else 0) */
    seeds: z.array(z.number().int().min(0)).min(1).optional(),
    /** runs side by side, each a process of its own with one thread (unless base.runtime.threads) */
    parallel: posInt.default(1),
    /** the clock time budgets charge (default: cpu with parallel above 1, else wall) */
    clock: z.enum(CLOCKS).optional(),
    /** the pre-training config every run shares (data, batch, lr, device, threads...): pretrain's config */
    base: z.record(z.unknown()).default({}),
    /** also fine-tune each schedule's final model (largest budget) on GLUE tasks */
    glue: z
      .object({
        tasks: z.array(GlueTaskSchema).min(1),
        dataDir: z.string().min(1),
        maxTrain: posInt.optional(),
        epochs: posInt.optional(),
      })
      .strict()
      .optional(),
    /** draw progress bars (on stderr) */
    progress: z.boolean().default(false),
    /** how report.md names the command that made it */
    command: z.string().default('compare() from the growbert library'),
  })
  .strict();
export type CompareOptions = Omit<z.input<typeof CompareOptionsSchema>, 'base'> & { base?: PretrainConfigInput };

export type CompareResult = (BudgetResult & { seeded: SeededBudgetResult })[];

/** Runs the comparison (see the file's header); one result per budget. */
export async function compare(options: CompareOptions, call: CallOptions = {}): Promise<CompareResult> {
  const o = parseOptions(CompareOptionsSchema, options, 'compare options');
  parseConfig(o.base, 'compare options: base'); // the same checks as pretrain's config, before any run
  checkAborted(call.signal, 'compare');
  return runCompare({ ...o, base: o.base as PretrainConfigInput, say: logTo(call), signal: call.signal });
}
