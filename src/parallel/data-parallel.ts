// Data parallelism over a c10d process group: what the trainer needs from it and nothing more.
// - parameters broadcast from rank 0 (at start and after every growth event);
// - gradients averaged by DDP's own Reducer (libtorch's, in the addon): buckets all-reduced while
//   backward still runs, as torch.nn.parallel.DistributedDataParallel does;
// - small sums (loss, evaluation counts, an interrupt flag) and rank 0's decisions shared;
// - a checksum of every rank's weights, to prove they are identical after growth;
// - when a collective fails, the heartbeats in the store say which rank stopped.
import { GrowbertError } from '../io/errors.js';
import { native, type NativeReducer } from '../tensor/native.js';
import { tensor, type Device, type Tensor } from '../tensor/index.js';
import { DistributedError, ProcessGroup, clean, distributedBackends, type Backend } from './process-group.js';
import type { WorkerEnv } from './env.js';
import { checkRendezvousFile, tcpStoreWarning } from './rendezvous.js';

export interface DataParallelOptions {
  env: WorkerEnv;
  /** auto: NCCL for CUDA devices when this libtorch has it, else Gloo */
  backend: 'auto' | Backend;
  device: Device;
  /** seconds any collective may take (also forming the group) */
  timeoutSeconds: number;
  masterAddr: string;
  masterPort: number;
  /** a c10d file store instead of the TCP store at masterAddr:masterPort (rendezvous.ts) */
  rdzvFile?: string;
  /** where rank 0 warns that its TCP store listens on every interface */
  say?: (line: string) => void;
  /** gradient bucket size in bytes (torch's default: 25 MB; the first bucket 1 MB) */
  bucketBytes?: number;
  heartbeatMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ranks = (rs: number[]) => (rs.length === 1 ? `rank ${rs[0]}` : `ranks ${rs.join(', ')}`);

export class DataParallel {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly localWorldSize: number;
  readonly pg: ProcessGroup;
  private readonly where: string;
  private readonly bucketBytes: number;
  private readonly heartbeatMs: number;
  private reducer: NativeReducer | null = null;
  private rebuilt = false;

  private constructor(pg: ProcessGroup, o: DataParallelOptions) {
    this.pg = pg;
    this.rank = o.env.rank;
    this.worldSize = o.env.worldSize;
    this.localRank = o.env.localRank;
    this.localWorldSize = o.env.localWorldSize;
    this.where = o.rdzvFile ? `file ${o.rdzvFile}` : `${o.masterAddr}:${o.masterPort}`;
    this.bucketBytes = o.bucketBytes ?? 25 << 20;
    this.heartbeatMs = o.heartbeatMs ?? 1000;
  }

  /** Joins the run's process group (blocks until every rank has). */
  static init(o: DataParallelOptions): DataParallel {
    const nccl = distributedBackends()?.nccl ?? false;
    const backend: Backend = o.backend === 'auto' ? (o.device.startsWith('cuda') && nccl ? 'nccl' : 'gloo') : o.backend;
    // (our launcher checked its file before starting the workers, which then write to it at once)
    if (o.rdzvFile) {
      if (process.env.GROWBERT_LAUNCHED !== '1') checkRendezvousFile(o.rdzvFile);
    } else if (o.env.rank === 0)
      (o.say ?? ((l: string) => console.error(l)))(tcpStoreWarning(o.masterAddr, o.masterPort));
    const pg = ProcessGroup.init({
      backend,
      rank: o.env.rank,
      worldSize: o.env.worldSize,
      timeoutMs: Math.round(o.timeoutSeconds * 1000),
      store: o.rdzvFile ? { file: o.rdzvFile, host: o.masterAddr } : { host: o.masterAddr, port: o.masterPort },
      heartbeatMs: o.heartbeatMs,
    });
    return new DataParallel(pg, o);
  }

  get isLeader(): boolean {
    return this.rank === 0;
  }

  /** The rows [start, start + count) of a global batch of `n` rows that this rank trains on. */
  rows(n: number): { start: number; count: number } {
    if (n % this.worldSize !== 0)
      throw new GrowbertError(
        `batch size ${n} is not divisible by the ${this.worldSize} data-parallel workers; use a multiple of ${this.worldSize} for --batch-size (or a stage's batchSize)`,
      );
    const count = n / this.worldSize;
    return { start: this.rank * count, count };
  }

  // ---- Gradients ---------------------------------------------------------------------------------
  /** (Re)creates the gradient reducer over the optimizer's parameters (after every growth event). */
  attach(params: Tensor[]): void {
    this.detach();
    this.reducer = native.ddpCreate(
      this.pg.nativeHandle,
      params.map((p) => p.handle),
      Math.min(1 << 20, this.bucketBytes),
      this.bucketBytes,
      false,
    );
    this.rebuilt = false;
  }

  detach(): void {
    if (this.reducer) native.ddpDestroy(this.reducer);
    this.reducer = null;
  }

  /** Before a step's forward passes: once, re-buckets by the order gradients arrived in step 1. */
  beforeStep(step: number): void {
    this.pg.setStep(step);
    if (this.reducer && !this.rebuilt) this.rebuilt = native.ddpRebuildBuckets(this.reducer);
  }

  /**
   * Before the backward whose gradients are to be averaged (a step's last micro-batch): during it
   * the reducer all-reduces bucket after bucket; when it returns every rank holds the average.
   */
  beforeBackward(loss: Tensor): void {
    if (!this.reducer) throw new Error('DataParallel.beforeBackward: no reducer attached');
    native.ddpPrepare(this.reducer, [loss.handle]);
  }

  // ---- Small collectives ------------------------------------------------------------------------
  /** Element-wise sums over the ranks, in float64. */
  sum(values: number[]): number[] {
    const t = tensor(Float64Array.from(values));
    try {
      this.pg.allReduce(t, 'sum').wait();
      return Array.from(t.data() as Float64Array);
    } finally {
      t.dispose();
    }
  }

  /** Rank 0's tensors into every rank's (same names and shapes everywhere). */
  broadcast(tensors: Tensor[]): void {
    this.pg.broadcast(tensors, 0);
  }

  /** Rank 0's value (JSON) on every rank; other ranks' `value` is ignored. */
  broadcastObject<T>(value: T | undefined): T {
    const bytes = this.isLeader ? new TextEncoder().encode(JSON.stringify(value ?? null)) : new Uint8Array(0);
    const len = tensor(new Float64Array([bytes.length]));
    try {
      this.pg.broadcast([len], 0);
      const n = (len.data() as Float64Array)[0];
      const buf = this.isLeader ? tensor(bytes, { dtype: 'uint8' }) : tensor(new Uint8Array(n), { dtype: 'uint8' });
      try {
        if (n > 0) this.pg.broadcast([buf], 0);
        return JSON.parse(new TextDecoder().decode(buf.data() as Uint8Array)) as T;
      } finally {
        buf.dispose();
      }
    } finally {
      len.dispose();
    }
  }

  barrier(): void {
    this.pg.barrier();
  }

  /**
   * Proves every rank holds bit-identical tensors: each rank hashes its own (names, shapes and
   * bytes), the hashes are all-reduced, and ranks whose hash differs from rank 0's are named.
   */
  verifyIdentical(named: Iterable<[string, Tensor]>, what: string): void {
    const mine = checksum(named);
    const slots = new Array<number>(this.worldSize).fill(0);
    slots[this.rank] = mine;
    const all = this.sum(slots);
    const bad = all.map((h, r) => (h === all[0] ? -1 : r)).filter((r) => r >= 0);
    if (bad.length)
      throw new DistributedError(
        `${what}: ${ranks(bad)} hold${bad.length === 1 ? 's' : ''} different values than rank 0 (checksums ${all.map((h) => h.toString(16)).join(', ')}); growth must be deterministic on every rank`,
      );
  }

  // ---- Faults --------------------------------------------------------------------------------------
  /**
   * Turns the failure of a collective into an error that says which rank stopped: heartbeats that
   * no longer move mean a dead or frozen process; a rank whose step lags is stuck. Errors that are
   * not communication failures come back unchanged.
   */
  async explain(e: unknown, what: string): Promise<unknown> {
    if (e instanceof GrowbertError) return e;
    const msg = clean(e);
    const comm =
      /gloo|nccl|c10d|connection|closed by peer|timed out|timeout|socket|broken pipe|reset by peer|process group/i.test(
        msg,
      );
    const who = await this.diagnose();
    if (!comm && !who.found) return e;
    return new DistributedError(`${what} failed on rank ${this.rank} of ${this.worldSize}: ${who.text} (${msg})`);
  }

  private async diagnose(): Promise<{ found: boolean; text: string }> {
    const gap = Math.max(3000, 3 * this.heartbeatMs);
    const unreachable = {
      found: true,
      text: `rank 0, which serves the rendezvous store at ${this.where}, does not answer: it died or is frozen`,
    };
    let a: ([number, number] | null)[], b: ([number, number] | null)[];
    try {
      a = this.pg.heartbeats(gap);
      await sleep(gap);
      b = this.pg.heartbeats(gap);
    } catch {
      return this.rank === 0 ? { found: false, text: 'the rendezvous store does not answer' } : unreachable;
    }
    const stopped = b
      .map((hb, r) => (r !== this.rank && (!hb || (a[r] && a[r]![0] === hb[0])) ? r : -1))
      .filter((r) => r >= 0);
    if (stopped.length)
      return {
        found: true,
        text: `${ranks(stopped)} stopped (no heartbeat for ${gap / 1000} s: the process died or is frozen)`,
      };
    const steps = b.map((hb) => hb?.[1] ?? 0);
    const top = Math.max(...steps);
    const behind = steps.map((s, r) => (s < top ? r : -1)).filter((r) => r >= 0);
    if (behind.length)
      return {
        found: true,
        text: `${ranks(behind)} ${behind.length === 1 ? 'is' : 'are'} stuck before step ${top} (at step ${steps[behind[0]]}) while the others reached it`,
      };
    return {
      found: false,
      text: `every rank's process still runs (all at step ${top}); one may be stuck inside that step, or the network failed`,
    };
  }

  destroy(): void {
    this.detach();
    this.pg.destroy();
  }
}

/**
 * A 52-bit hash (exact in a float64) of tensors' names, shapes and bytes, order-sensitive. Two
 * multiply-rotate lanes over 32-bit words; not cryptographic, only to detect differing replicas.
 */
export function checksum(named: Iterable<[string, Tensor]>): number {
  let a = 0x811c9dc5 | 0,
    b = 0x01000193 | 0;
  const mix = (w: number) => {
    a = Math.imul(a ^ w, 0x9e3779b1);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b + w, 0x85ebca77) ^ (b >>> 15);
  };
  const text = (s: string) => {
    for (let i = 0; i < s.length; i++) mix(s.charCodeAt(i));
  };
  for (const [name, t] of named) {
    text(`${name}:${t.shape.join('x')}:${t.dtype}`);
    const d = t.data() as unknown as ArrayBufferView;
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    const n4 = bytes.byteLength >>> 2;
    const words =
      bytes.byteOffset % 4 === 0
        ? new Uint32Array(bytes.buffer, bytes.byteOffset, n4)
        : new Uint32Array(bytes.slice(0, n4 * 4).buffer);
    for (let i = 0; i < n4; i++) mix(words[i]);
    for (let i = n4 * 4; i < bytes.byteLength; i++) mix(bytes[i]);
  }
  return (a >>> 0) * 2 ** 20 + ((b >>> 0) >>> 12);
}
