// Stopping a run by signal, in one place. SIGINT (Ctrl-C), SIGTERM (Slurm, Kubernetes, `kill`)
// and SIGHUP (a closed terminal or SSH session) all mean "stop soon": the current step finishes,
// a checkpoint is written, a one-line message says where, and the process exits 128 + the
// signal's number (130, 143, 129), as a shell reports a process killed by it.
// Only a second Ctrl-C stops at once (a person insisting). A repeated SIGTERM or SIGHUP is
// ignored: schedulers often signal every process of a job, and the launcher passes signals on
// to its workers too, so one worker may get the same request twice; it must still checkpoint.
// The handlers are installed while some caller is inside withStopSignals (it nests: the command
// installs them for its whole run, the training loop again for its part).

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The exit code of a run stopped by `signal`: 128 + its number, as shells report it. */
export const SIGNAL_EXIT_CODE: Record<StopSignal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/** Thrown when a run stopped because of a signal (after saving what it could). */
export class Interrupted extends Error {
  constructor(message: string, readonly signal: StopSignal = 'SIGINT') {
    super(message);
    this.name = 'Interrupted';
  }
  get exitCode(): number {
    return SIGNAL_EXIT_CODE[this.signal];
  }
}

let requested: StopSignal | null = null;
let depth = 0;

/** The signal that asked this process to stop, or null. */
export function stopRequested(): StopSignal | null {
  return requested;
}

function onSignal(sig: StopSignal): void {
  if (requested === 'SIGINT' && sig === 'SIGINT') process.exit(SIGNAL_EXIT_CODE.SIGINT); // a second Ctrl-C stops at once
  if (requested) return;
  requested = sig;
}
const handlers = new Map(STOP_SIGNALS.map((s) => [s, () => onSignal(s)] as const));

/** Runs fn with the stop-signal handlers installed; a signal sets stopRequested() for the loop to see. */
export async function withStopSignals<T>(fn: () => Promise<T>): Promise<T> {
  if (depth++ === 0) {
    requested = null;
    for (const [s, h] of handlers) process.on(s, h);
  }
  try {
    return await fn();
  } finally {
    if (--depth === 0) for (const [s, h] of handlers) process.off(s, h);
  }
}

/**
 * Data parallelism: every rank must stop after the same step, so the request travels with the
 * step's sums as one number per signal (flags, summed over the ranks); agreedStop reads them back.
 */
export function stopFlags(): number[] {
  return STOP_SIGNALS.map((s) => (requested === s ? 1 : 0));
}

/** The signal some rank received, from the summed flags (a termination outranks an interrupt). */
export function agreedStop(summed: readonly number[] | undefined): StopSignal | null {
  if (!summed) return null;
  for (const s of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) if ((summed[STOP_SIGNALS.indexOf(s)] ?? 0) > 0) return s;
  return null;
}

/** How an interrupted run is described, ` (SIGTERM)` and the like; nothing for Ctrl-C. */
export function signalNote(sig: StopSignal): string {
  return sig === 'SIGINT' ? '' : ` (${sig})`;
}
