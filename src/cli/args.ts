// Parsing numeric flag values, with the one-line errors every command gives for bad input.
import { GrowbertError } from '../io/errors.js';

/** A positive integer (or number, with int false) from a flag's text; undefined stays undefined. */
export function positive(v: string | undefined, flag: string, int = true): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0 || (int && !Number.isInteger(x))) throw new GrowbertError(`--${flag} ${v}: expected a positive ${int ? 'integer' : 'number'}`);
  return x;
}

/** A positive integer that must be given (or has a default). */
export function positiveInt(v: string | undefined, flag: string, dflt?: number): number {
  const x = positive(v, flag) ?? dflt;
  if (x === undefined) throw new GrowbertError(`--${flag} is required`);
  return x;
}
