// Op-time profile: which libtorch ops a piece of work spent its time in (native/src/perf.cc).
// Each op's time is its self time (minus the ops it called), so the op that did the work gets it;
// `insideOpsMs` is the wall time spent inside any op at all, the rest of a caller's wall time is
// its own (JavaScript and the addon's marshalling). On CUDA the times are the host's (launches).
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
