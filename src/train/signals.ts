// Stopping a run by signal, in one place. SIGINT (Ctrl-C), SIGTERM (Slurm, Kubernetes, `kill`)
// and SIGHUP (a closed terminal or SSH session) all mean "stop soon": the current step finishes,
// a checkpoint is written, a one-line message says where, and the process exits 128 + the
// signal's number (130, 143, 129), as a shell reports a process killed by it.
// Only a second Ctrl-C stops at once (a person insisting). A repeated SIGTERM or SIGHUP is
// ignored: schedulers often signal every process of a job, and the launcher passes signals on
// to its workers too, so one worker may get the same request twice; it must still checkpoint.
// The handlers are installed while some caller is inside withStopSignals; each caller gets its
// own StopRequest (the run owns its stop state). A library caller's AbortSignal is one more way
// to ask: it stops the run as SIGINT does (checkpoint, lock released, Interrupted thrown), and
// never exits the process.

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** What asked a run to stop: a signal, or the caller's AbortSignal ('abort'). */
export type StopReason = StopSignal | 'abort';
const STOP_REASONS: readonly StopReason[] = [...STOP_SIGNALS, 'abort'];

/** The exit code of a run stopped by `signal`: 128 + its number, as shells report it (an abort: as SIGINT). */
export const SIGNAL_EXIT_CODE: Record<StopReason, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143, abort: 130 };

/** Thrown when a run stopped because of a signal or an abort (after saving what it could). */
export class Interrupted extends Error {
  constructor(
    message: string,
    /** the signal, or 'abort' for the caller's AbortSignal */
    readonly signal: StopReason = 'SIGINT',
    /** where the run stopped: its step, and the checkpoint saved there (absent on a rank that saves none) */
    readonly at?: { step: number; checkpoint?: string },
  ) {
    super(message);
    this.name = 'Interrupted';
  }
  get exitCode(): number {
    return SIGNAL_EXIT_CODE[this.signal];
  }
}

/**
 * A run's stop request, owned by the run (not the module, so two runs in one process, or a test,
 * never see each other's): the signal handler sets it on every request active at the time; the
 * loop reads it between steps.
 */
export class StopRequest {
  /** what asked this run to stop, or null */
  requested: StopReason | null = null;
  /** data parallelism: what some rank had been asked when the last step's sums were taken */
  agreed: StopReason | null = null;
  /** what the loop stops for after the step just done: this process's request, or the ranks' agreed one */
  due(dataParallel: boolean): StopReason | null {
    return dataParallel ? this.agreed : this.requested;
  }
  signal(sig: StopSignal): void {
    if (this.requested === 'SIGINT' && sig === 'SIGINT') {
      // a second Ctrl-C stops at once, and says what that means
      process.stderr.write(
        '\ngrowbert: stopped at once (second Ctrl-C), without saving a checkpoint; continue from the last one with --resume\n',
      );
      process.exit(SIGNAL_EXIT_CODE.SIGINT);
    }
    this.requested ??= sig;
  }
}

const active = new Set<StopRequest>();
const handlers = new Map(
  STOP_SIGNALS.map(
    (s) =>
      [
        s,
        () => {
          for (const r of active) r.signal(s);
        },
      ] as const,
  ),
);

/**
 * Runs fn with the stop-signal handlers installed, handing it a StopRequest that signals (and
 * `abort`, when given) set. Calls nest (the command around its whole run, the training loop
 * around its part): a request made while another is active starts with the signal that one
 * already got, as it does with an abort already made. A signal or abort during data preparation
 * stops a one-process run there (the token cache build checks stopRequested between documents and
 * resumes on the next run); a data-parallel run stops after its first step, where the ranks agree.
 */
export async function withStopSignals<T>(fn: (stop: StopRequest) => Promise<T>, abort?: AbortSignal): Promise<T> {
  const stop = new StopRequest();
  for (const r of active) stop.requested ??= r.requested;
  const onAbort = () => (stop.requested ??= 'abort');
  if (abort?.aborted) onAbort();
  abort?.addEventListener('abort', onAbort);
  if (active.size === 0) for (const [s, h] of handlers) process.on(s, h);
  active.add(stop);
  try {
    return await fn(stop);
  } finally {
    abort?.removeEventListener('abort', onAbort);
    active.delete(stop);
    if (active.size === 0) for (const [s, h] of handlers) process.off(s, h);
  }
}

/** What some run in this process has been asked to stop for (a signal or an abort), or null. */
export function stopRequested(): StopReason | null {
  for (const r of active) if (r.requested) return r.requested;
  return null;
}

/**
 * Data parallelism: every rank must stop after the same step, so the request travels with the
 * step's sums as one number per reason (flags, summed over the ranks); agreedStop reads them back.
 */
export function stopFlags(stop: StopRequest | undefined): number[] {
  return STOP_REASONS.map((s) => (stop?.requested === s ? 1 : 0));
}

/** What some rank was asked, from the summed flags (a termination outranks an interrupt, a signal an abort). */
export function agreedStop(summed: readonly number[] | undefined): StopReason | null {
  if (!summed) return null;
  for (const s of ['SIGTERM', 'SIGHUP', 'SIGINT', 'abort'] as const)
    if ((summed[STOP_REASONS.indexOf(s)] ?? 0) > 0) return s;
  return null;
}

/** How an interrupted run is described, ` (SIGTERM)`, ` (aborted)` and the like; nothing for Ctrl-C. */
export function signalNote(sig: StopReason): string {
  return sig === 'SIGINT' ? '' : sig === 'abort' ? ' (aborted)' : ` (${sig})`;
}
