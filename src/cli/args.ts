// Numeric flags, in one place: every numeric flag of every command has its range here, and every
// command parses its numbers through flagNumber(), so `--threads 10000` or `--eval-batches -5`
// get the same one-line error everywhere. Config-file values of `pretrain` are checked against
// the same table (checkConfigRanges), since a flag and its config field are one setting.
import * as os from 'node:os';
import { GrowbertError } from '../io/errors.js';

export interface Range {
  min: number;
  max: number;
  int: boolean;
  /** min itself is not allowed (a positive real: lr, eps...) */
  minOpen?: boolean;
  /** max itself is not allowed (a probability below 1) */
  maxOpen?: boolean;
}

const cores = () => Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
const int = (min: number, max: number): Range => ({ min, max, int: true });
const real = (min: number, max: number, o: Partial<Range> = {}): Range => ({ min, max, int: false, ...o });
const BIG = 1e9;

/** The range of each numeric flag, by flag name (the same name means the same thing in every command). */
export const FLAG_RANGES: Record<string, Range | (() => Range)> = {
  // model shape
  hidden: int(1, 65536),
  layers: int(1, 1024),
  heads: int(1, 1024),
  ffn: int(1, 262144),
  'max-positions': int(1, 65536),
  'type-vocab': int(1, 1024),
  pooling: int(1, 64),
  'ffn-rank': int(0, 65536),
  dropout: real(0, 1, { maxOpen: true }),
  'attention-dropout': real(0, 1, { maxOpen: true }),
  'layer-norm-eps': real(0, 1, { minOpen: true }),
  'init-range': real(0, 10, { minOpen: true }),
  // data
  'validation-fraction': real(0, 1, { minOpen: true, maxOpen: true }),
  'vocab-size': int(8, 1_000_000),
  'seq-length': int(2, 65536),
  'max-predictions': int(1, 65536),
  'mask-prob': real(0, 1, { minOpen: true, maxOpen: true }),
  // training
  'batch-size': int(1, 1_000_000),
  'grad-accumulation': int(1, 100_000),
  'max-steps': int(1, BIG),
  lr: real(0, 10, { minOpen: true }),
  'weight-decay': real(0, 10),
  beta1: real(0, 1, { maxOpen: true }),
  beta2: real(0, 1, { maxOpen: true }),
  eps: real(0, 1, { minOpen: true }),
  'clip-norm': real(0, 1e6, { minOpen: true }),
  'warmup-steps': int(0, BIG),
  power: real(0, 100, { minOpen: true }),
  seed: int(0, 2 ** 32 - 1),
  'eval-every': int(1, BIG),
  'eval-batches': int(0, 1_000_000),
  'checkpoint-every': int(1, BIG),
  'keep-checkpoints': int(1, 1000),
  'log-every': int(1, BIG),
  // runtime and data parallelism: more threads than CPUs only makes libtorch's threads fight (10000 hung)
  threads: () => int(1, cores()),
  nproc: int(1, 1024),
  nnodes: int(1, 10_000),
  'node-rank': int(0, 9_999),
  'master-port': int(1, 65535),
  'dist-timeout': real(0, 7 * 86400, { minOpen: true }),
  // other commands
  epochs: int(1, 10_000),
  batch: int(1, 1_000_000),
  seq: int(3, 65536),
  seeds: int(1, 1000),
  'max-train': int(1, BIG),
  'glue-max-train': int(1, BIG),
  'glue-epochs': int(1, 10_000),
  steps: int(1, BIG),
  warmup: int(0, BIG),
  vocab: int(8, 1_000_000),
};

export function rangeOf(flag: string): Range | undefined {
  const r = FLAG_RANGES[flag];
  return typeof r === 'function' ? r() : r;
}

function describe(r: Range): string {
  const kind = r.int ? 'an integer' : 'a number';
  const lo = `${r.minOpen ? '>' : '>='} ${r.min}`;
  const hi = `${r.maxOpen ? '<' : '<='} ${r.max}`;
  return `${kind} ${lo} and ${hi}`;
}

/** Checks a number against its flag's range; `flag` is the name without dashes. */
export function checkRange(flag: string, x: number, shown: string = String(x)): number {
  const r = rangeOf(flag);
  const bad =
    !Number.isFinite(x) ||
    (r &&
      ((r.int && !Number.isInteger(x)) ||
        x < r.min ||
        (r.minOpen && x === r.min) ||
        x > r.max ||
        (r.maxOpen && x === r.max)));
  if (bad) {
    const extra = flag === 'threads' ? ` (this machine has ${cores()} CPUs)` : '';
    throw new GrowbertError(`--${flag} ${shown}: expected ${r ? describe(r) : 'a number'}${extra}`);
  }
  return x;
}

/** A numeric flag's value from its text, checked against its range; undefined stays undefined. */
export function flagNumber(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = v.trim() === '' ? NaN : Number(v);
  return checkRange(flag, x, v);
}

/** A numeric flag that must be given (or has a default). */
export function requiredNumber(v: string | undefined, flag: string, dflt?: number): number {
  const x = flagNumber(v, flag) ?? dflt;
  if (x === undefined) throw new GrowbertError(`--${flag} is required`);
  return x;
}

/** A positive integer (or number, with int false) from a flag's text; the flag's range applies too. */
export function positive(v: string | undefined, flag: string, int = true): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x <= 0 || (int && !Number.isInteger(x)))
    throw new GrowbertError(`--${flag} ${v}: expected a positive ${int ? 'integer' : 'number'}`);
  return rangeOf(flag) ? checkRange(flag, x, v) : x;
}

/** A positive integer that must be given (or has a default). */
export function positiveInt(v: string | undefined, flag: string, dflt?: number): number {
  const x = positive(v, flag) ?? dflt;
  if (x === undefined) throw new GrowbertError(`--${flag} is required`);
  return x;
}

/**
 * Checks the numeric values of a (pretrain) config object, whether they came from flags or a
 * file, against the same ranges: `specs` maps each flag to its config path.
 */
export function checkConfigRanges(
  config: unknown,
  specs: readonly { flag: string; path: string; kind: string }[],
): void {
  for (const s of specs) {
    if (s.kind !== 'int' && s.kind !== 'number') continue;
    let v: unknown = config;
    for (const k of s.path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    if (typeof v === 'number') checkRange(s.flag, v);
  }
}
