/**
 * Bulk encoding on worker threads: a `CacheTokenizer` whose `encodeBatch` hands each batch to
 * the next idle worker running `FastWordPieceEncoder`. Batches in flight at once (the corpus
 * build keeps several) run in parallel, one per worker; results come back in the order asked.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FastEncoderSpec } from './fast-encoder.js';
import type { CacheTokenizer } from './token-cache.js';

interface Job {
  id: number;
  texts: string[];
  resolve: (v: Int32Array[]) => void;
  reject: (e: Error) => void;
}

export class EncoderPool implements CacheTokenizer {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<number, Job>();
  private nextId = 0;
  private failed: Error | undefined;

  /** `threads` workers (default: one per CPU core, at most 8). */
  constructor(
    spec: FastEncoderSpec,
    readonly fingerprint: string,
    threads = Math.min(8, Math.max(1, os.availableParallelism?.() ?? os.cpus().length)),
  ) {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(new URL('./encode-worker.js', import.meta.url), { workerData: spec });
      w.on('message', (m: { id: number; ids?: Int32Array; ends?: Int32Array; error?: string }) => this.done(w, m));
      w.on('error', (e) => this.fail(e));
      w.unref();
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  get threads(): number {
    return this.workers.length;
  }

  encodeBatch(texts: readonly string[]): Promise<Int32Array[]> {
    if (this.failed) return Promise.reject(this.failed);
    if (texts.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, texts: [...texts], resolve, reject });
      this.pump();
    });
  }

  /** Stop the workers (pending batches fail). */
  async close(): Promise<void> {
    this.fail(new Error('encoder pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.running.set(job.id, job);
      w.ref(); // a busy worker keeps the process alive until its answer arrives
      w.postMessage({ id: job.id, texts: job.texts });
    }
  }

  private done(w: Worker, m: { id: number; ids?: Int32Array; ends?: Int32Array; error?: string }): void {
    const job = this.running.get(m.id);
    this.running.delete(m.id);
    this.idle.push(w);
    w.unref(); // idle workers do not hold the process open
    if (job) {
      if (m.error !== undefined || !m.ids || !m.ends) job.reject(new Error(`encoder worker failed: ${m.error}`));
      else {
        const out: Int32Array[] = new Array(m.ends.length);
        let s = 0;
        for (let i = 0; i < m.ends.length; i++) {
          out[i] = m.ids.subarray(s, m.ends[i]);
          s = m.ends[i]!;
        }
        job.resolve(out);
      }
    }
    this.pump();
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const j of [...this.running.values(), ...this.queue]) j.reject(e);
    this.running.clear();
    this.queue.length = 0;
  }
}
