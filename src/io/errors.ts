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
  return choices.length <= 1 ? choices.join('') : `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
}
