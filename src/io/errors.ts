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
