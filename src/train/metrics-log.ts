// RUN/metrics.jsonl: one JSON object per line (training lines: step, tokens, seconds, lr, loss,
// gradNorm, tokensPerSecond; evaluation lines add valLoss, valPerplexity, valAccuracy).
import * as fs from 'node:fs';
import { atomicWriteFile } from '../io/atomic.js';
import { runPaths } from './run.js';

export type MetricsLine = { step: number } & Record<string, number | string | boolean | null>;

/** Another destination for the same lines (the TensorBoard event file: src/train/tensorboard.ts). */
export interface MetricsSink {
  write(line: MetricsLine): void;
  close(): void;
}

export class MetricsLog {
  readonly file: string;
  private readonly sinks: MetricsSink[] = [];
  constructor(runDir: string) {
    this.file = runPaths(runDir).metrics;
  }

  append(line: MetricsLine): void {
    fs.appendFileSync(this.file, JSON.stringify(line) + '\n');
    for (const s of this.sinks) s.write(line);
  }

  /** Every line appended from now on also goes to `sink`. */
  attach(sink: MetricsSink): void {
    this.sinks.push(sink);
  }

  /** Closes the sinks (the log file itself is appended line by line and needs no closing). */
  close(): void {
    for (const s of this.sinks.splice(0)) s.close();
  }

  /** All lines (skipping a torn last line, which a crash mid-append can leave). */
  read(): MetricsLine[] {
    if (!fs.existsSync(this.file)) return [];
    const out: MetricsLine[] = [];
    for (const l of fs.readFileSync(this.file, 'utf8').split('\n')) {
      if (!l.trim()) continue;
      try {
        out.push(JSON.parse(l) as MetricsLine);
      } catch {
        /* torn line */
      }
    }
    return out;
  }

  /** On resume: drop lines after the checkpoint's step, so the log reads as one unbroken run. */
  truncateAfter(step: number): void {
    if (!fs.existsSync(this.file)) return;
    const kept = this.read().filter((l) => l.step <= step);
    atomicWriteFile(this.file, kept.map((l) => JSON.stringify(l) + '\n').join(''));
  }
}
