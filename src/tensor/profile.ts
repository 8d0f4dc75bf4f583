// Op-time profile: which libtorch ops a piece of work spent its time in (native/src/perf.cc).
// Each op's time is its self time (minus the ops it called), so the op that did the work gets it;
// `insideOpsMs` is the wall time spent inside any op at all, the rest of a caller's wall time is
// its own (JavaScript and the addon's marshalling). On CUDA the times are the host's (launches).
// Step phases: the training step marks where its forward, backward, optimizer and bookkeeping
// begin (stepPhase); while recordPhases runs, each phase gets its native calls and its host time
// (wall time outside every op), which is what a GPU would wait on. Unrecorded, a mark costs one test.
import { native } from './native.js';

export interface OpTime {
  /** self time in milliseconds, summed over calls */
  ms: number;
  calls: number;
}

export interface OpProfile {
  /** by libtorch op name (aten::addmm, autograd::engine::evaluate_function: MmBackward0, ...) */
  ops: Map<string, OpTime>;
  /** wall time spent inside outermost ops */
  insideOpsMs: number;
}

/**
 * Runs fn with op recording on and returns its result and the profile of what it ran. With
 * `cpuClock`, times are the calling thread's CPU time instead of wall time (steadier on a machine
 * shared with other work; complete only when libtorch runs one thread).
 */
export function profileOps<T>(fn: () => T, o: { cpuClock?: boolean } = {}): { result: T; profile: OpProfile } {
  native.profileStart(o.cpuClock ?? false);
  let raw: { topLevelMs: number; ops: Record<string, [number, number]> };
  let result: T;
  try {
    result = fn();
  } finally {
    raw = native.profileStop();
  }
  const ops = new Map(Object.entries(raw.ops).map(([name, [ms, calls]]) => [name, { ms, calls }]));
  return { result, profile: { ops, insideOpsMs: raw.topLevelMs } };
}

/** This thread's CPU time in ms (the main thread's, from JavaScript): not Node's helper threads. */
export function threadCpuMs(): number {
  return native.threadCpuMs();
}

/** Native calls made from this thread so far (every addon function counts one). */
export function nativeCalls(): number {
  return native.profileCounters()[0];
}

export const STEP_PHASES = ['forward', 'backward', 'optimizer', 'bookkeeping'] as const;
export type StepPhase = (typeof STEP_PHASES)[number];

export interface PhaseStat {
  /** native calls made in the phase */
  calls: number;
  /** time in the phase outside every op (JavaScript, the addon, autograd's engine), ms */
  hostMs: number;
  /** time inside ops (0 unless profileOps runs around recordPhases), ms */
  opsMs: number;
}

let recording: { phase: StepPhase; at: [number, number, number]; stats: Map<StepPhase, PhaseStat> } | null = null;

function close(next: StepPhase): void {
  const r = recording!;
  const now = native.profileCounters();
  const s = r.stats.get(r.phase)!;
  const ops = now[1] - r.at[1];
  s.calls += now[0] - r.at[0];
  s.opsMs += ops;
  s.hostMs += now[2] - r.at[2] - ops;
  r.phase = next;
  r.at = now;
}

/** Marks the start of a phase of a training step (src/train/step.ts); nothing unless recordPhases runs. */
export function stepPhase(p: StepPhase): void {
  if (recording) close(p);
}

/**
 * Runs fn and splits its native calls and host time by the phases it marks (time before the first
 * mark is bookkeeping). Inside profileOps the times are on its clock and opsMs is filled in;
 * outside it, everything is host time.
 */
export function recordPhases<T>(fn: () => T): { result: T; phases: Map<StepPhase, PhaseStat> } {
  if (recording) throw new Error('recordPhases: already recording');
  const stats = new Map(STEP_PHASES.map((p) => [p, { calls: 0, hostMs: 0, opsMs: 0 }]));
  recording = { phase: 'bookkeeping', at: native.profileCounters(), stats };
  try {
    const result = fn();
    close('bookkeeping');
    return { result, phases: stats };
  } finally {
    recording = null;
  }
}
