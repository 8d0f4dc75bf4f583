// A c10d process group (PyTorch's distributed engine, in the addon: native/src/distributed.cc):
// Gloo over TCP on CPUs, NCCL on GPUs when this libtorch has it; formed through a TCP store (the
// rank-0 process serves it) or a file store. Collectives work in place on tensors; allReduce is
// asynchronous and returns a Work to wait on. Every failure, including a timeout, is an Error.
import { GrowbertError } from '../io/errors.js';
import { native, type NativeGroup, type NativeWork } from '../tensor/native.js';
import type { Tensor } from '../tensor/index.js';

/** The failure of a collective or of forming the group: one line, naming ranks when it can. */
export class DistributedError extends GrowbertError {
  constructor(message: string) {
    super(message);
    this.name = 'DistributedError';
  }
}

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min' | 'product';

export interface ProcessGroupOptions {
  backend: Backend;
  rank: number;
  worldSize: number;
  /**
   * a TCP store at host:port (rank 0 serves it), or a file store at `file` (a filesystem every rank
   * sees; `host`, default loopback, is then only the address that picks Gloo's network interface)
   */
  store: { host: string; port: number } | { file: string; host?: string };
  /** how long any collective (and forming the group) may take before it fails */
  timeoutMs: number;
  /** how often each rank writes its heartbeat into the store (default 1000 ms) */
  heartbeatMs?: number;
}

/** The backends this addon was built with; null when it was built without c10d. */
export function distributedBackends(): { gloo: boolean; nccl: boolean } | null {
  return typeof native.distBackends === 'function' ? native.distBackends() : null;
}

export function requireDistributed(backend: Backend = 'gloo'): void {
  const b = distributedBackends();
  if (!b) {
    throw new GrowbertError(
      'this libtorch build has no c10d/Gloo support, so data-parallel training is unavailable: on Debian install libgloo-dev (`npm run setup` does, as root) and rebuild with `npm run build:native`; or use LIBTORCH_USE_PYTORCH=1',
    );
  }
  if (!b[backend])
    throw new GrowbertError(`this libtorch build has no ${backend.toUpperCase()} support; use --dist-backend gloo`);
}

/** An asynchronous collective: wait() blocks until it is done and throws if it failed. */
export class Work {
  private done = false;
  constructor(
    private readonly handle: NativeWork,
    private readonly after?: () => void,
  ) {}
  isCompleted(): boolean {
    return this.done || native.distIsCompleted(this.handle);
  }
  /** timeoutMs 0: the group's timeout. */
  wait(timeoutMs = 0): void {
    if (this.done) return;
    native.distWait(this.handle, timeoutMs);
    this.done = true;
    this.after?.();
  }
}

export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: Backend;
  readonly timeoutMs: number;
  private handle: NativeGroup | null;

  private constructor(handle: NativeGroup, o: ProcessGroupOptions) {
    this.handle = handle;
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.backend = o.backend;
    this.timeoutMs = o.timeoutMs;
  }

  /** Forms the group: blocks until all `worldSize` ranks have joined, or fails after the timeout. */
  static init(o: ProcessGroupOptions): ProcessGroup {
    requireDistributed(o.backend);
    const where = 'file' in o.store ? `file store ${o.store.file}` : `${o.store.host}:${o.store.port}`;
    try {
      const h = native.distInit({
        backend: o.backend,
        rank: o.rank,
        worldSize: o.worldSize,
        timeoutMs: o.timeoutMs,
        heartbeatMs: o.heartbeatMs ?? 1000,
        ...('file' in o.store
          ? { store: 'file', path: o.store.file, host: o.store.host ?? '127.0.0.1' }
          : { store: 'tcp', host: o.store.host, port: o.store.port }),
      });
      return new ProcessGroup(h, o);
    } catch (e) {
      throw new DistributedError(
        `rank ${o.rank} of ${o.worldSize} could not join the process group at ${where} within ${o.timeoutMs / 1000} s (${clean(e)}); check that every rank was started with the same master address, port and world size, and that the port is free`,
      );
    }
  }

  private get h(): NativeGroup {
    if (!this.handle) throw new Error('the process group was destroyed');
    return this.handle;
  }

  /** Starts an in-place all-reduce of `t` over the ranks (avg = sum / world size, done on wait). */
  allReduce(t: Tensor, op: ReduceOp = 'sum'): Work {
    const w = native.distAllReduce(this.h, t.handle, op === 'avg' ? 'sum' : op);
    return new Work(w, op === 'avg' ? () => t.div_(this.worldSize) : undefined);
  }

  /** Copies the tensors of rank `root` into every rank's tensors (same shapes), coalesced. */
  broadcast(tensors: Tensor[], root = 0): void {
    native.distBroadcast(
      this.h,
      tensors.map((t) => t.handle),
      root,
    );
  }

  barrier(): void {
    native.distBarrier(this.h);
  }

  /** Publishes this rank's training step with its heartbeat (read back by heartbeats()). */
  setStep(step: number): void {
    native.distSetStep(this.h, step);
  }

  /**
   * Every rank's latest heartbeat, [counter, step] (null: none written yet). The counter moves
   * every heartbeat interval while a rank's process runs. Throws when the store does not answer.
   */
  heartbeats(timeoutMs = 3000): ([number, number] | null)[] {
    return native.distHeartbeats(this.h, timeoutMs);
  }

  /** The native group, for the gradient reducer. */
  get nativeHandle(): NativeGroup {
    return this.h;
  }

  destroy(): void {
    if (!this.handle) return;
    native.distDestroy(this.handle);
    this.handle = null;
  }
}

/** A native error's message without the op prefix and source locations. */
export function clean(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m
    .split('\n')[0]
    .replace(/^[a-zA-Z]+: /, '')
    .replace(/\[[^\]]*\.(cc|cpp|h|hpp):\d+\] /g, '')
    .trim();
}
