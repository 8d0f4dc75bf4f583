// Growth schedules: a list of stages, each with a budget, a model shape, its data shape, the
// operators that enter it, and its LR and optimizer policies. JSON, validated with zod; named
// presets are built for any target size.
import * as fs from 'node:fs';
import { z } from 'zod';
import { GrowbertError, formatZodError } from '../io/errors.js';
import { DEPTH_OPS, FFN_OPS, HIDDEN_OPS, OPTIMIZER_POLICIES } from '../grow/index.js';
import { GrowableShapeSchema, type BertConfig } from '../model/index.js';

const posInt = z.number().int().positive();

export const StageSchema = z.object({
  name: z.string().optional(),
  /** budget: exactly one of steps, tokens, or a fraction of the run's budget */
  steps: posInt.optional(),
  tokens: posInt.optional(),
  fraction: z.number().gt(0).lte(1).optional(),
  /** the stage's model shape; a field left out is the target's */
  model: GrowableShapeSchema.default({}),
  /** sequence length (default: the run's); shorter = data truncation */
  seqLength: posInt.optional(),
  /** sequences per step (default: the run's) */
  batchSize: posInt.optional(),
  /** operators that grow the previous stage's model into this one */
  ops: z.object({
    depth: z.enum(DEPTH_OPS), ffn: z.enum(FFN_OPS), hidden: z.enum(HIDDEN_OPS),
    noise: z.number().min(0), seed: z.number().int().nonnegative(),
    /** depth=identity: move output LayerNorm affines so the new layers are exact identities (default true) */
    lnTransfer: z.boolean(),
  }).partial().strict().default({}),
  lr: z.object({
    /** restart: warmup and decay within the stage (the authors' code); continue: one schedule over
     * the whole run; rewind: back to the peak (after a short warmup), then decay to the run's end */
    policy: z.enum(['restart', 'continue', 'rewind']).default('restart'),
    peak: z.number().positive().optional(),
    /** warmup as a fraction of the stage (restart) or in steps (rewind); default 5% / 2% */
    warmup: z.number().min(0).optional(),
  }).strict().default({}),
  /** what happens to the Adam moments at entry: map them like the weights, or start fresh */
  optimizer: z.enum(OPTIMIZER_POLICIES).default('map'),
}).strict().superRefine((s, ctx) => {
  const n = [s.steps, s.tokens, s.fraction].filter((v) => v !== undefined).length;
  if (n !== 1) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `give a stage exactly one budget: steps, tokens or fraction (it has ${n})` });
});

export const ScheduleSchema = z.object({
  name: z.string().default('custom'),
  description: z.string().optional(),
  /** a control that never grows into the target (small-only); exempt from the last-stage check */
  control: z.boolean().default(false),
  stages: z.array(StageSchema).min(1),
}).strict().superRefine((s, ctx) => {
  const fr = s.stages.filter((x) => x.fraction !== undefined).reduce((a, x) => a + x.fraction!, 0);
  if (fr > 1 + 1e-9) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `stage fractions add up to ${fr.toFixed(3)}, more than the whole budget; make them sum to at most 1` });
});

export type Stage = z.output<typeof StageSchema>;
export type Schedule = z.output<typeof ScheduleSchema>;
export type ScheduleInput = z.input<typeof ScheduleSchema>;

export function parseSchedule(input: unknown, what = 'schedule'): Schedule {
  const r = ScheduleSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new GrowbertError(i.code === z.ZodIssueCode.custom ? `${what}: ${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}` : formatZodError(r.error, what));
  }
  return r.data;
}

// ---- Presets -----------------------------------------------------------------------------------
export const SCHEDULE_PRESETS = ['full', 'stack', 'length', 'width', 'compound', 'truncate', 'small-only'] as const;
export type SchedulePreset = (typeof SCHEDULE_PRESETS)[number];

const half = (n: number) => Math.max(1, Math.floor(n / 2));
const quarter = (n: number) => Math.max(1, Math.floor(n / 4));

/**
 * A named schedule for a target model. Budgets are fractions of the run's budget (steps, tokens
 * or seconds): see docs/schedules.md for why these fractions.
 *   full       the target model throughout (the baseline)
 *   stack      half depth for 50%, then stacked to full depth (Gong et al.)
 *   length     length pooled by 2 for 50%, then full length (the authors' embedding pooling)
 *   truncate   half-length sequences for 50%, then full length (the paper's rejected alternative)
 *   width      FFN/4 for 50%, then shared out to the full width
 *   compound   half depth + FFN/4 + pooling by 2 for 70%, then the full model (CompoundGrow)
 *   small-only compound's first-stage model for the whole budget: the control growth must beat
 */
export function presetSchedule(name: string, target: BertConfig, seqLength: number): Schedule {
  const N = target.numHiddenLayers, F = target.intermediateSize;
  const full = { fraction: 1, model: {} };
  const stages: Record<SchedulePreset, ScheduleInput['stages']> = {
    full: [full],
    stack: [{ fraction: 0.5, model: { numHiddenLayers: half(N) } }, { fraction: 0.5, ops: { depth: 'stack' } }],
    length: [{ fraction: 0.5, model: { poolingSize: 2 } }, { fraction: 0.5 }],
    truncate: [{ fraction: 0.5, seqLength: half(seqLength) }, { fraction: 0.5 }],
    width: [{ fraction: 0.5, model: { intermediateSize: quarter(F) } }, { fraction: 0.5, ops: { ffn: 'share' } }],
    compound: [
      { fraction: 0.7, model: { numHiddenLayers: half(N), intermediateSize: quarter(F), poolingSize: 2 } },
      { fraction: 0.3, ops: { depth: 'stack', ffn: 'share' } },
    ],
    'small-only': [{ fraction: 1, model: { numHiddenLayers: half(N), intermediateSize: quarter(F), poolingSize: 2 } }],
  };
  if (!(SCHEDULE_PRESETS as readonly string[]).includes(name)) {
    throw new GrowbertError(`unknown schedule '${name}'; use one of ${SCHEDULE_PRESETS.join(', ')} or a JSON file`);
  }
  return parseSchedule({ name, control: name === 'small-only', stages: stages[name as SchedulePreset] }, `schedule ${name}`);
}

/** A preset name or a JSON file. */
export function loadSchedule(nameOrFile: string, target: BertConfig, seqLength: number): Schedule {
  if (nameOrFile.endsWith('.json') || fs.existsSync(nameOrFile)) {
    if (!fs.existsSync(nameOrFile)) throw new GrowbertError(`schedule file ${nameOrFile} does not exist; give a preset (${SCHEDULE_PRESETS.join(', ')}) or a JSON file`);
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(nameOrFile, 'utf8'));
    } catch (e) {
      throw new GrowbertError(`schedule file ${nameOrFile} is not valid JSON (${(e as Error).message})`);
    }
    return parseSchedule(raw, `schedule ${nameOrFile}`);
  }
  return presetSchedule(nameOrFile, target, seqLength);
}
