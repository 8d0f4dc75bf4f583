/**
 * Learning-rate schedules as pure functions of the optimizer step.
 *
 * `step` is the 0-based index of the optimizer step about to be taken (the number of steps done
 * so far), as Hugging Face's LambdaLR schedules and BERT's TF code count it: with warmup, step 0
 * gets lr 0 and step warmupSteps gets the peak.
 *   warmup (step < W):   peak * step / W
 *   then, progress q = (step - W) / (T - W) clamped to [0, 1]:
 *     linear    end + (peak - end) * (1 - q)            (HF get_linear_schedule_with_warmup)
 *     poly      end + (peak - end) * (1 - q)^power      (HF polynomial decay; power 1 = linear)
 *     cosine    end + (peak - end) * (1 + cos(pi q)) / 2
 *     constant  peak
 * BERT's own TF schedule decays over all T steps, peak * (1 - step / T), and lets warmup override
 * it, so it drops to peak * (1 - W/T) right after warmup; HF's (ours) decays from the peak over
 * the T - W post-warmup steps, which is continuous.
 *
 * Multi-stage training (a restart per growth stage, as the authors' code does) is
 * src/schedule/plan.ts's stageLr, built on lrAt.
 */
import { z } from 'zod';
import { GrowbertError } from '../io/errors.js';

/** The LR decays: the one list the run config, the stage schedules and the CLI help read. */
export const LR_DECAYS = ['linear', 'poly', 'constant', 'cosine'] as const;
export type LrDecay = (typeof LR_DECAYS)[number];

export const LrScheduleConfigSchema = z
  .object({
    peak: z.number().positive(),
    warmupSteps: z.number().int().nonnegative().default(0),
    totalSteps: z.number().int().positive(),
    decay: z.enum(LR_DECAYS).default('linear'),
    /** Exponent of 'poly' (ignored otherwise). */
    power: z.number().positive().default(1),
    /** Final learning rate of the decays (not of 'constant'); at most peak. */
    endLr: z.number().nonnegative().default(0),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.warmupSteps > c.totalSteps)
      ctx.addIssue({
        code: 'custom',
        path: ['warmupSteps'],
        message: `warmupSteps (${c.warmupSteps}) exceeds totalSteps (${c.totalSteps})`,
      });
    if (c.endLr > c.peak)
      ctx.addIssue({ code: 'custom', path: ['endLr'], message: `endLr (${c.endLr}) exceeds peak (${c.peak})` });
  });
export type LrScheduleConfig = z.output<typeof LrScheduleConfigSchema>;
export type LrScheduleInput = z.input<typeof LrScheduleConfigSchema>;

export interface Schedule {
  /** Learning rate for the step with this 0-based index. */
  lrAt(step: number): number;
  /** Steps the schedule spans (after them it stays at its final value). */
  readonly totalSteps: number;
}

/** Validates a config (defaults filled in); a bad one is a GrowbertError naming the field. */
export function parseLrConfig(input: unknown): LrScheduleConfig {
  const r = LrScheduleConfigSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new GrowbertError(`lr schedule: ${i.path.join('.') || 'config'}: ${i.message}`);
  }
  return r.data;
}

/** The schedule's learning rate at `step` (pure; steps past totalSteps keep the final value). */
export function lrAt(c: LrScheduleConfig, step: number): number {
  if (!(step >= 0)) throw new Error(`lrAt: step must be >= 0, got ${step}`);
  const W = c.warmupSteps;
  if (step < W) return (c.peak * step) / W;
  if (c.decay === 'constant') return c.peak;
  const span = c.totalSteps - W;
  const q = span > 0 ? Math.min(1, (step - W) / span) : 1;
  const range = c.peak - c.endLr;
  switch (c.decay) {
    case 'linear':
      return c.endLr + range * (1 - q);
    case 'poly':
      return c.endLr + range * (1 - q) ** c.power;
    case 'cosine':
      return c.endLr + (range * (1 + Math.cos(Math.PI * q))) / 2;
  }
}

/** A schedule from a (validated here) config. */
export function schedule(input: LrScheduleInput | LrScheduleConfig): Schedule & { readonly config: LrScheduleConfig } {
  const config = parseLrConfig(input);
  return { config, totalSteps: config.totalSteps, lrAt: (step: number) => lrAt(config, step) };
}
