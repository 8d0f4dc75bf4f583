// What every function of the library API (src/api/, exported by src/index.ts) shares: how it logs, how it
// is stopped, and how its options are checked. The CLI (src/cli/) turns flags into these same options and
// calls the same functions, so a command and its function cannot drift apart.
import { z } from 'zod';
import { GrowbertError, formatZodError } from '../io/errors.js';
import { GLUE_TASKS, type GlueTask } from '../eval/glue-data.js';
import { Interrupted } from '../train/signals.js';

/** Options every API function takes. */
export interface CallOptions {
  /**
   * Receives the lines the command line prints as notes and warnings (what was loaded, a precision
   * choice, a warning about the data). Default: none are printed; pass `console.error` to see them.
   */
  log?: (line: string) => void;
  /**
   * Stops the work. pretrain (and compare's run in progress) stop after the current step and save a
   * checkpoint; the dashboard closes; the others check it before they start and between parts of
   * their work. A stopped call rejects with an {@link Interrupted} whose `signal` is 'abort'.
   */
  signal?: AbortSignal;
}

export { Interrupted };

/** Throws Interrupted ('abort') when `signal` has fired: the check between parts of the work. */
export function checkAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new Interrupted(`${what}: aborted; nothing more was done`, 'abort');
}

/** Parses options with their schema; a problem is one GrowbertError line naming the field. */
export function parseOptions<S extends z.ZodTypeAny>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (!r.success) throw new GrowbertError(formatZodError(r.error, what));
  return r.data;
}

/** The log function to use: the caller's, or one that drops the lines. */
export function logTo(o: CallOptions): (line: string) => void {
  return o.log ?? (() => {});
}

/** Device names the API accepts: cpu, cuda or cuda:N (whether one is available is checked when used). */
export const DeviceSchema = z
  .string()
  .regex(/^(cpu|cuda(:\d+)?)$/, 'expected cpu, cuda or cuda:N')
  .default('cpu');

/** A positive integer option (sizes, counts, steps). */
export const posInt = z.number().int().positive();

/** A GLUE task's name (sst2, mrpc, ...). */
export const GlueTaskSchema = z.enum(Object.keys(GLUE_TASKS) as [GlueTask, ...GlueTask[]]);
