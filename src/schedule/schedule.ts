// Growth schedules: a list of stages, each with a budget, a model shape, its data shape, the
// operators that enter it, and its LR and optimizer policies. JSON, validated with zod; named
// presets are built for any target size.
import * as fs from 'node:fs';
import { z } from 'zod';
import { GrowbertError, formatZodError } from '../io/errors.js';
import { readInputText } from '../io/input-file.js';
import { DEPTH_OPS, FFN_OPS, HIDDEN_OPS, OPTIMIZER_POLICIES } from '../grow/index.js';
import { GrowableShapeSchema, type BertConfig } from '../model/index.js';
import { forwardFlopsPerSequence } from './cost.js';

const posInt = z.number().int().positive();

/**
 * The decay horizons of a restart stage (docs/schedules.md): the one list the schedule schema,
 * the run config (lrHorizon) and the CLI read. lemon: LEMON's policy (Wang et al. 2024) for a
 * grown model: straight back to the peak (no warmup unless the stage sets one), then a linear
 * decay to 0 at the run's end: faster than the run-long one, the peak kept.
 */
export const LR_HORIZONS = ['stage', 'run', 'none', 'lemon'] as const;
export type LrHorizon = (typeof LR_HORIZONS)[number];

export const StageSchema = z
  .object({
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
    ops: z
      .object({
        depth: z.enum(DEPTH_OPS),
        ffn: z.enum(FFN_OPS),
        hidden: z.enum(HIDDEN_OPS),
        noise: z.number().min(0),
        seed: z.number().int().nonnegative(),
        /** depth=identity: move output LayerNorm affines so the new layers are exact identities (default true) */
        lnTransfer: z.boolean(),
      })
      .partial()
      .strict()
      .default({}),
    lr: z
      .object({
        /** restart: the warmup restarts at the stage's start (the authors' code: a fresh optimizer per
         * stage), then the decay runs over `horizon`; continue: one schedule over the whole run;
         * rewind: back to the peak (after a short warmup), then decay to the run's end */
        policy: z.enum(['restart', 'continue', 'rewind']).default('restart'),
        /** restart's decay horizon: stage = to 0 at the stage's end; run = the one decay over the
         * whole run's steps (scaled by the stage's warmup); none = constant after the warmup (the
         * authors' default: decay_steps 1M, far beyond any stage); lemon = LEMON's: the peak at once
         * (no warmup unless `warmup` is given), then a linear decay to 0 at the run's end. Absent =
         * stage, as before this field existed, so saved schedules resume unchanged; the presets set
         * it explicitly. */
        horizon: z.enum(LR_HORIZONS).optional(),
        peak: z.number().positive().optional(),
        /** warmup as a fraction of the stage (restart) or in steps (rewind); default 5% / 2% */
        warmup: z.number().min(0).optional(),
      })
      .strict()
      .default({}),
    /** what happens to the Adam moments at entry: map them like the weights, or start fresh */
    optimizer: z.enum(OPTIMIZER_POLICIES).default('map'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const n = [s.steps, s.tokens, s.fraction].filter((v) => v !== undefined).length;
    if (n !== 1)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `give a stage exactly one budget: steps, tokens or fraction (it has ${n})`,
      });
  });

export const ScheduleSchema = z
  .object({
    name: z.string().default('custom'),
    description: z.string().optional(),
    /** a control that never grows into the target (small-only); exempt from the last-stage check */
    control: z.boolean().default(false),
    stages: z.array(StageSchema).min(1),
  })
  .strict()
  .superRefine((s, ctx) => {
    const fr = s.stages.filter((x) => x.fraction !== undefined).reduce((a, x) => a + x.fraction!, 0);
    if (fr > 1 + 1e-9)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `stage fractions add up to ${fr.toFixed(3)}, more than the whole budget; make them sum to at most 1`,
      });
  });

export type Stage = z.output<typeof StageSchema>;
export type Schedule = z.output<typeof ScheduleSchema>;
export type ScheduleInput = z.input<typeof ScheduleSchema>;

export function parseSchedule(input: unknown, what = 'schedule'): Schedule {
  const r = ScheduleSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new GrowbertError(
      i.code === z.ZodIssueCode.custom
        ? `${what}: ${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`
        : formatZodError(r.error, what),
    );
  }
  return r.data;
}

// ---- Presets -----------------------------------------------------------------------------------
export const SCHEDULE_PRESETS = [
  'full',
  'stack',
  'length',
  'width',
  'compound',
  'compound-1',
  'compound-narrow',
  'truncate',
  'small-only',
  'stack-matched',
  'length-matched',
  'width-matched',
] as const;
export type SchedulePreset = (typeof SCHEDULE_PRESETS)[number];

/**
 * The growth policy every growing preset uses, chosen by the growth-step experiment
 * (docs/results/cpu-growth-step/; docs/schedules.md says which numbers chose them):
 * the LR decay horizon of each stage (warmup restarts per stage) and the optimizer policy.
 */
export const PRESET_LR_HORIZON: LrHorizon = 'stage';
export const PRESET_OPTIMIZER: 'map' | 'grad' | 'reset' = 'map';
/** compound's stage fractions: small model, full depth stacked (other reductions kept), full model */
export const COMPOUND_FRACTIONS = [0.5, 0.2, 0.3] as const;

const half = (n: number) => Math.max(1, Math.floor(n / 2));
const quarter = (n: number) => Math.max(1, Math.floor(n / 4));
type Model = NonNullable<ScheduleInput['stages'][number]['model']>;

/** A model's step cost relative to the target's (per sequence; the cost model of cost.ts). */
function relCost(target: BertConfig, seqLength: number, model: Model): number {
  const P = Math.max(1, Math.round(seqLength * 0.15));
  const f = (m: Model) =>
    forwardFlopsPerSequence({ config: { ...target, ...m }, batchSize: 1, seqLength, maxPredictions: P });
  return f(model) / f({});
}

/**
 * The single-dimension reduction whose step cost is closest to `cost` (a fraction of the
 * target's): layers 1..N-1, pooling 2..8, or FFN F/k for whole k <= 16 (share needs a divisor).
 */
function matched(dim: 'stack' | 'length' | 'width', target: BertConfig, seqLength: number, cost: number): Model {
  const N = target.numHiddenLayers,
    F = target.intermediateSize;
  // pooling beyond 8 and FFN below F/16 are no longer a model worth growing from; where even
  // those cannot get down to `cost` (the attention, embeddings and MLM head stay), the closest is
  // taken and `growbert plan` shows the cost it really has
  const options: Model[] =
    dim === 'stack'
      ? Array.from({ length: Math.max(1, N - 1) }, (_, i) => ({ numHiddenLayers: i + 1 }))
      : dim === 'length'
        ? Array.from({ length: 7 }, (_, i) => ({ poolingSize: i + 2 }))
        : Array.from({ length: 16 }, (_, i) => i + 2)
            .filter((k) => F % k === 0)
            .map((k) => ({ intermediateSize: F / k }));
  let best = options[0];
  for (const m of options)
    if (Math.abs(relCost(target, seqLength, m) - cost) < Math.abs(relCost(target, seqLength, best) - cost)) best = m;
  return best;
}

/**
 * A named schedule for a target model. Budgets are fractions of the run's budget (steps, tokens
 * or seconds): see docs/schedules.md for why these fractions.
 *   full         the target model throughout (the baseline)
 *   stack        half depth for 50%, then stacked to full depth (Gong et al.)
 *   length       length pooled by 2 for 50%, then full length (the authors' embedding pooling)
 *   truncate     half-length sequences for 50%, then full length (the paper's rejected alternative)
 *   width        FFN/4 for 50%, then shared out to the full width
 *   compound     CompoundGrow in three stages (method.md): half depth + FFN/4 + pooling by 2; then
 *                full depth (stacked) with the same FFN and pooling; then the full model
 *   compound-1   the same first model, grown to the full model in one jump at 70%
 *   compound-narrow  compound with half the heads (half the hidden size at the same head size) in
 *                its first two stages; the last stage widens the hidden size with the FFN
 *   small-only   compound's first-stage model for the whole budget: the control growth must beat
 *   *-matched    one dimension reduced so that its low-cost stage costs what compound's low-cost
 *                stages cost on average per step, for the same share of the budget (so "compound
 *                beats stack" is about compound-ness, not a bigger saving)
 * Every growing preset restarts the warmup at each stage with decay horizon PRESET_LR_HORIZON
 * (or `o.lrHorizon`) and maps the optimizer by PRESET_OPTIMIZER.
 */
export function presetSchedule(name: string, target: BertConfig, seqLength: number, o: ScheduleOptions = {}): Schedule {
  if (!(SCHEDULE_PRESETS as readonly string[]).includes(name)) {
    throw new GrowbertError(`unknown schedule '${name}'; use one of ${SCHEDULE_PRESETS.join(', ')} or a JSON file`);
  }
  const N = target.numHiddenLayers,
    F = target.intermediateSize;
  const small: Model = { numHiddenLayers: half(N), intermediateSize: quarter(F), poolingSize: 2 };
  const deep: Model = { intermediateSize: quarter(F), poolingSize: 2 };
  const narrow: Model = { numAttentionHeads: half(target.numAttentionHeads) };
  narrow.hiddenSize = narrow.numAttentionHeads! * (target.hiddenSize / target.numAttentionHeads);
  const [f1, f2, f3] = COMPOUND_FRACTIONS;
  // compound's low-cost steps cost this much of a full step on average
  const lowCost = (f1 * relCost(target, seqLength, small) + f2 * relCost(target, seqLength, deep)) / (f1 + f2);
  const two = (model: Model, ops: object, fraction = 0.5) => [
    { fraction, model },
    { fraction: 1 - fraction, ops },
  ];
  const stages: Record<SchedulePreset, ScheduleInput['stages']> = {
    full: [{ fraction: 1, model: {} }],
    stack: two({ numHiddenLayers: half(N) }, { depth: 'stack' }),
    length: two({ poolingSize: 2 }, {}),
    truncate: [{ fraction: 0.5, seqLength: half(seqLength) }, { fraction: 0.5 }],
    width: two({ intermediateSize: quarter(F) }, { ffn: 'share' }),
    compound: [
      { fraction: f1, model: small },
      { fraction: f2, model: deep, ops: { depth: 'stack' } },
      { fraction: f3, ops: { ffn: 'share' } },
    ],
    'compound-1': two(small, { depth: 'stack', ffn: 'share' }, 0.7),
    'compound-narrow': [
      { fraction: f1, model: { ...small, ...narrow } },
      { fraction: f2, model: { ...deep, ...narrow }, ops: { depth: 'stack' } },
      { fraction: f3, ops: { ffn: 'share' } },
    ],
    'small-only': [{ fraction: 1, model: small }],
    'stack-matched': two(matched('stack', target, seqLength, lowCost), { depth: 'stack' }, f1 + f2),
    'length-matched': two(matched('length', target, seqLength, lowCost), {}, f1 + f2),
    'width-matched': two(matched('width', target, seqLength, lowCost), { ffn: 'share' }, f1 + f2),
  };
  const grows = stages[name as SchedulePreset].length > 1;
  const policy = (st: ScheduleInput['stages'][number], i: number) =>
    grows
      ? { ...st, lr: { horizon: o.lrHorizon ?? PRESET_LR_HORIZON }, ...(i > 0 ? { optimizer: PRESET_OPTIMIZER } : {}) }
      : st;
  return parseSchedule(
    { name, control: name === 'small-only', stages: stages[name as SchedulePreset].map(policy) },
    `schedule ${name}`,
  );
}

/** Run-level choices a schedule takes: the run config's lrHorizon. */
export interface ScheduleOptions {
  /** the decay horizon of a preset's stages, and of a JSON schedule's stages that leave it out */
  lrHorizon?: LrHorizon;
}

/** A preset name or a JSON file. */
export function loadSchedule(
  nameOrFile: string,
  target: BertConfig,
  seqLength: number,
  o: ScheduleOptions = {},
): Schedule {
  // a name with a folder in it is a file the user meant, not a misspelt preset
  if (nameOrFile.endsWith('.json') || /[\\/]/.test(nameOrFile) || fs.existsSync(nameOrFile)) {
    const text = readInputText(
      nameOrFile,
      'schedule file',
      `give a preset (${SCHEDULE_PRESETS.join(', ')}) or a JSON file`,
    );
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new GrowbertError(`schedule file ${nameOrFile} is not valid JSON (${(e as Error).message})`);
    }
    const sched = parseSchedule(raw, `schedule ${nameOrFile}`);
    if (o.lrHorizon) for (const st of sched.stages) if (st.lr.horizon === undefined) st.lr.horizon = o.lrHorizon;
    return sched;
  }
  return presetSchedule(nameOrFile, target, seqLength, o);
}
