// The parts of a device visit (scripts/check-device.mjs) under one deadline: each part runs only
// when the time it needs is left, its commands are killed (with their children) at their limit,
// and the summary JSON is rewritten before and after every part, so a visit cut off anywhere still
// returns what it had. Each part's status and time is printed as one line.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export class Visit {
  /**
   * @param {{ root: string, summaryFile: string, deadlineAt: number }} o  deadlineAt: epoch ms
   */
  constructor({ root, summaryFile, deadlineAt }) {
    this.root = root;
    this.summaryFile = summaryFile;
    this.deadlineAt = deadlineAt;
    // VISIT_LIMIT_SCALE stretches every command's limit (not the deadline): the CI lane's simulated machine
    // has 2 busy CPU cores where the GPU machine has 16
    this.scale = Number(process.env.VISIT_LIMIT_SCALE || 1);
    // a summary started by visit.sh (its unpack part) is kept and added to
    let prior = {};
    try {
      prior = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
    } catch {
      /* none yet */
    }
    this.summary = { ...prior, parts: { ...(prior.parts ?? {}) }, finished: false };
    this.write();
  }

  /** Seconds left before the deadline. */
  left() {
    return (this.deadlineAt - Date.now()) / 1000;
  }

  write() {
    const s = this.summary;
    s.ok = Object.values(s.parts).every((p) => p.status !== 'failed');
    const tmp = `${this.summaryFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n');
    fs.renameSync(tmp, this.summaryFile);
  }

  /**
   * Runs a command in its own process group, its output passed through as it comes; killed with
   * its children after limitS (never past the deadline). Resolves { ok, code, stdout, stderr, seconds, timedOut }.
   */
  sh(cmd, args, { limitS, env = {}, quiet = false } = {}) {
    const limit = Math.max(1, Math.min((limitS ?? this.left()) * this.scale, this.left() - 2));
    const t0 = Date.now();
    return new Promise((resolve) => {
      const p = spawn(cmd, args, {
        cwd: this.root,
        env: { ...process.env, ...env },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '',
        stderr = '',
        timedOut = false;
      p.stdout.on('data', (d) => {
        stdout += d;
        if (!quiet) process.stdout.write(d);
      });
      p.stderr.on('data', (d) => {
        stderr += d;
        if (!quiet) process.stderr.write(d);
      });
      const kill = (sig) => {
        try {
          process.kill(-p.pid, sig);
        } catch {
          /* already gone */
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill('SIGTERM');
        setTimeout(() => kill('SIGKILL'), 5000).unref();
      }, limit * 1000);
      const done = (code, err) => {
        clearTimeout(timer);
        const seconds = Math.round((Date.now() - t0) / 100) / 10;
        if (timedOut) stderr += `\n(stopped after ${Math.round(limit)} s)`;
        if (err) stderr += `\n${cmd}: ${err.message}`;
        resolve({ ok: code === 0 && !timedOut, code, stdout, stderr, seconds, timedOut });
      };
      p.on('error', (e) => done(-1, e));
      p.on('close', (code) => done(code));
    });
  }

  /**
   * A part: skipped (saying why) when less than needS is left; else fn() -> its record
   * ({ status: 'ok' | 'failed' | 'skipped', reason?, ... }). An exception is a failure.
   */
  async part(name, needS, fn) {
    const t0 = Date.now();
    const parts = this.summary.parts;
    if (this.left() < needS) {
      parts[name] = { status: 'skipped', reason: `needs about ${needS} s, ${Math.round(this.left())} s left` };
    } else {
      parts[name] = { status: 'running', startedAt: new Date().toISOString() };
      this.write();
      try {
        parts[name] = await fn();
      } catch (e) {
        parts[name] = { status: 'failed', reason: e instanceof Error ? e.message : String(e) };
      }
      parts[name].seconds ??= Math.round((Date.now() - t0) / 100) / 10;
    }
    this.write();
    const p = parts[name];
    const secs = p.seconds === undefined ? '' : ` in ${p.seconds} s`;
    console.log(`visit: part ${name}: ${p.status}${secs}${p.reason ? ` (${p.reason})` : ''}`);
    return p;
  }

  finish() {
    this.summary.finished = true;
    this.write();
  }
}

/** The last line of s that parses as a JSON object. */
export function lastJson(s) {
  for (const l of s.trim().split('\n').reverse()) {
    if (!l.startsWith('{')) continue;
    try {
      return JSON.parse(l);
    } catch {
      /* not JSON after all */
    }
  }
  return undefined;
}

/**
 * A reason field from a command's output: its last line that names an error (a stack trace's own
 * line, not its frames), else its last few lines.
 */
export function tail(s, n = 3) {
  const lines = s.trim().split('\n');
  const err = [...lines].reverse().find((l) => /(\w*Error\b|\berror\b|\bfailed\b)/.test(l) && !/^\s+at /.test(l));
  const pick = err ? [err.trim()] : lines.slice(-n);
  const stopped = lines.find((l) => l.startsWith('(stopped after'));
  return [...pick, ...(stopped && !pick.includes(stopped) ? [stopped] : [])].join(' | ').slice(0, 500);
}

/** Copies files into dir (made), never more than `room` files; returns the names copied. */
export function copyResults(files, dir, room) {
  const copied = [];
  for (const f of files) {
    if (copied.length >= room || !fs.existsSync(f)) continue;
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(f, path.join(dir, path.basename(f)));
    copied.push(path.basename(f));
  }
  return copied;
}
