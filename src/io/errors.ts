import type { z } from 'zod';

/**
 * An error caused by the user's input (config, data, checkpoint, flags). The CLI prints its
 * message alone on one line and exits non-zero; the message names the problem and the fix.
 */
export class GrowbertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GrowbertError';
  }
}

/** 'a, b or c': the choices of an enum, for error messages and help texts built from its constant. */
export function oneOf(choices: readonly string[]): string {
  return choices.length <= 1
    ? choices.join('')
    : `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
}

/**
 * A zod validation failure as one line naming the field (or the unknown keys) and where to look.
 * Here, below every layer that validates a config (schedule, train, cli), so none imports upward.
 */
export function formatZodError(e: z.ZodError, what: string): string {
  const i = e.issues[0];
  const where = i.path.length ? i.path.join('.') : '(top level)';
  if (i.code === 'unrecognized_keys')
    return `${what}: unknown field(s) ${i.keys.map((k) => `'${k}'`).join(', ')} in ${where}; check the spelling (see docs/config.md)`;
  return `${what}: ${where}: ${i.message}`;
}
