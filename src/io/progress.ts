/**
 * A one-line progress bar for long CPU jobs (tokenizing a corpus, training steps). It draws to
 * stderr so stdout stays clean for results, and only when a person is watching (a TTY) unless
 * forced: logs and CI should not fill up with carriage-return noise.
 */

export interface ProgressOptions {
  /** Total units of work; 0 or undefined draws a counter without bar or ETA. */
  total?: number;
  /** Text before the bar, e.g. 'tokenizing'. */
  label?: string;
  /** Unit name for the count and rate, e.g. 'docs'. */
  unit?: string;
  /** Default: the stream is a TTY. true forces plain lines on a non-TTY stream. */
  enabled?: boolean;
  /** Default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Minimum milliseconds between redraws (default 100 on a TTY, 2000 otherwise). */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class ProgressBar {
  readonly enabled: boolean;
  private readonly tty: boolean;
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly label: string;
  private readonly unit: string;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly start: number;
  private total: number;
  private done = 0;
  private lastDraw = -Infinity;
  private finished = false;
  private info = '';

  constructor(opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.enabled = opts.enabled ?? this.tty;
    this.label = opts.label ?? '';
    this.unit = opts.unit ?? 'items';
    this.total = opts.total ?? 0;
    this.intervalMs = opts.intervalMs ?? (this.tty ? 100 : 2000);
    this.now = opts.now ?? Date.now;
    this.start = this.now();
  }

  /** Advance by `n` units. */
  tick(n = 1): void {
    this.update(this.done + n);
  }

  /** Set the absolute amount done; `info` (e.g. 'loss 3.21') is shown after the rate. */
  update(done: number, total?: number, info?: string): void {
    this.done = done;
    if (info !== undefined) this.info = info;
    if (total !== undefined) this.total = total;
    if (!this.enabled || this.finished) return;
    const t = this.now();
    if (t - this.lastDraw < this.intervalMs) return;
    this.lastDraw = t;
    this.draw(false);
  }

  /** Draw the final state and end the line. Safe to call twice. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.enabled) this.draw(true);
  }

  /** The current line (without control characters); exposed for tests and log messages. */
  render(): string {
    const elapsed = Math.max(1e-3, (this.now() - this.start) / 1000);
    const rate = this.done / elapsed;
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    if (this.total > 0) {
      const frac = Math.min(1, this.done / this.total);
      const width = 24;
      const filled = Math.round(frac * width);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`);
      parts.push(`${this.done}/${this.total} ${this.unit}`);
      parts.push(`${(100 * frac).toFixed(0)}%`);
    } else {
      parts.push(`${this.done} ${this.unit}`);
    }
    parts.push(`${formatRate(rate)} ${this.unit}/s`);
    if (this.info) parts.push(this.info);
    if (this.total > 0 && !this.finished) {
      parts.push(rate > 0 ? `ETA ${formatDuration((this.total - this.done) / rate)}` : 'ETA ?');
    } else {
      parts.push(`in ${formatDuration(elapsed)}`);
    }
    return parts.join(' ');
  }

  private draw(final: boolean): void {
    let line = this.render();
    if (this.tty) {
      const cols = this.stream.columns ?? 100;
      if (line.length > cols - 1) line = line.slice(0, cols - 1);
      // \r + clear-to-end-of-line redraws in place.
      this.stream.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
    } else {
      this.stream.write(`${line}\n`);
    }
  }
}

function formatRate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)}M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k`;
  return r >= 10 ? r.toFixed(0) : r.toFixed(1);
}

/** `75` -> `1m15s`, `3725` -> `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
