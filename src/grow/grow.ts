// The single entry point for growth: compose the per-dimension operators (hidden/heads, then
// FFN, then depth, then length) into one new model and one mapped optimizer state.
//
// Why width before depth: the width operators map every layer the same way, so widening N
// layers and then copying them is the same as copying and then widening N' layers, except
// that it does N (not N') layers' work and draws N (not N') random maps. Length comes last: it
// changes no parameter.
import { GrowbertError, oneOf } from '../io/errors.js';
import { GROWABLE_KEYS, type GrowableShape } from '../model/index.js';
import { Generator } from '../tensor/index.js';
import { DEPTH_OPS, depthStage, type DepthOp, type DepthOptions } from './depth.js';
import { FFN_OPS, ffnStage, type FfnOp } from './ffn.js';
import { HIDDEN_OPS, hiddenStage, type HiddenOp } from './hidden.js';
import { lengthStage } from './length.js';
import {
  OPTIMIZER_POLICIES,
  pipeline,
  runStages,
  type GrowResult,
  type GrowSource,
  type OptimizerPolicy,
} from './stage.js';

/** The shape to grow to (the model's growable dimensions); a field left out keeps the source's value. */
export type GrowTarget = Partial<GrowableShape> & {
  /** sequence length of the next stage (data truncation): must fit maxPositionEmbeddings */
  seqLength?: number;
};
const TARGET_KEYS = [...GROWABLE_KEYS, 'seqLength'] as const;

/** Which operator per dimension, and the knobs they share. */
export interface GrowOps {
  /** default 'stack' (the paper's) */
  depth?: DepthOp;
  /** default 'share' (the paper's), or 'factorized' when ffnRank changes */
  ffn?: FfnOp;
  /** default 'fpi' */
  hidden?: HiddenOp;
  /** symmetry-breaking noise on the divided copies, relative to the weight's RMS (default
   * DEFAULT_NOISE); it sums to zero over each unit's copies, so it keeps the function exactly */
  noise?: number;
  /** seeds the random unit choices (split, uneven widening) and the noise (default 0) */
  seed?: number;
  /** depth=identity: move output LayerNorm affines so the new layers are exact identities (default true) */
  lnTransfer?: boolean;
}

/**
 * Symmetry breaking is on by default: without it the copies made by widening (FFN `share`, the
 * even part of `split`, `fpi`) get identical gradients and Adam updates forever, so a grown FFN
 * keeps the small model's effective width (method.md). The scale was chosen by the growth-step
 * experiment (docs/results/cpu-growth-step/).
 */
export const DEFAULT_NOISE = 0.1;

const OP_VALUES: Record<string, readonly string[]> = {
  depth: DEPTH_OPS,
  ffn: FFN_OPS,
  hidden: HIDDEN_OPS,
  lnTransfer: ['true', 'false'],
};

/**
 * Parses 'depth=stack,ffn=share,noise=0.01,seed=3' (spaces allowed, empty string = defaults).
 * Unknown keys or values are a one-line GrowbertError.
 */
export function parseOps(spec: string): GrowOps {
  const ops: GrowOps = {};
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new GrowbertError(`grow ops: '${part}' is not key=value; write e.g. depth=stack,ffn=share`);
    const key = part.slice(0, eq).trim(),
      value = part.slice(eq + 1).trim();
    if (key === 'noise' || key === 'seed') {
      const v = Number(value);
      const ok = value !== '' && Number.isFinite(v) && v >= 0 && (key === 'noise' || Number.isInteger(v));
      if (!ok)
        throw new GrowbertError(
          `grow ops: ${key}=${value} is not a ${key === 'seed' ? 'non-negative integer' : 'non-negative number'}`,
        );
      ops[key] = v;
    } else if (Object.hasOwn(OP_VALUES, key)) {
      if (!OP_VALUES[key].includes(value))
        throw new GrowbertError(
          `grow ops: unknown ${key} operator '${value}'; use one of ${OP_VALUES[key].join(', ')}`,
        );
      if (key === 'lnTransfer') ops.lnTransfer = value === 'true';
      else (ops as Record<string, string>)[key] = value;
    } else {
      throw new GrowbertError(`grow ops: unknown key '${key}'; use depth, ffn, hidden, noise, seed or lnTransfer`);
    }
  }
  return ops;
}

function checkTarget(target: GrowTarget): void {
  for (const [k, v] of Object.entries(target)) {
    if (v === undefined) continue;
    if (!(TARGET_KEYS as readonly string[]).includes(k))
      throw new GrowbertError(`grow: unknown target dimension '${k}'; use ${TARGET_KEYS.join(', ')}`);
    const min = k === 'ffnRank' ? 0 : 1;
    if (!Number.isInteger(v) || v < min)
      throw new GrowbertError(`grow: target ${k} must be an integer >= ${min}, got ${v}`);
  }
}

/**
 * Grows `src` to `target`. The source model and optimizer state are only read. Returns a new
 * model (same device and mode), the optimizer state mapped by `policy` (when the source has one),
 * whether the function is preserved, and one report line per dimension changed.
 */
export function grow(
  src: GrowSource,
  target: GrowTarget,
  ops: GrowOps = {},
  policy: OptimizerPolicy = 'map',
): GrowResult {
  checkTarget(target);
  if (!OPTIMIZER_POLICIES.includes(policy))
    throw new GrowbertError(`grow: unknown optimizer policy '${policy}'; use ${oneOf(OPTIMIZER_POLICIES)}`);
  const noise = ops.noise ?? DEFAULT_NOISE;
  if (!(noise >= 0)) throw new GrowbertError(`grow: noise must be >= 0, got ${noise}`);
  const c = src.model.config;
  const ffnOp: FfnOp =
    ops.ffn ?? (target.ffnRank !== undefined && target.ffnRank !== c.ffnRank ? 'factorized' : 'share');
  return runStages(src, policy, (s0) => {
    const o = { policy, noise, gen: new Generator(ops.seed ?? 0), device: src.model.device };
    let s = pipeline(s0, [
      (x) => hiddenStage(x, target, ops.hidden ?? 'fpi', o),
      (x) => ffnStage(x, target, ffnOp, o),
      (x) =>
        depthStage(x, target.numHiddenLayers ?? c.numHiddenLayers, ops.depth ?? 'stack', {
          lnTransfer: ops.lnTransfer,
        }),
      (x) => lengthStage(x, target),
    ]);
    if (s.report.length === 0) s = { ...s, report: ['no change: the target equals the source (the model is copied)'] };
    return s;
  });
}

// ---- One operator at a time (each is grow() restricted to its dimension) -----------------------

export interface OpOptions {
  policy?: OptimizerPolicy;
  noise?: number;
  seed?: number;
}

export function growDepth(
  src: GrowSource,
  numHiddenLayers: number,
  op: DepthOp,
  o: OpOptions & DepthOptions = {},
): GrowResult {
  return grow(src, { numHiddenLayers }, { depth: op, lnTransfer: o.lnTransfer }, o.policy);
}
export function growFfn(
  src: GrowSource,
  target: { intermediateSize?: number; ffnRank?: number },
  op: FfnOp,
  o: OpOptions = {},
): GrowResult {
  return grow(src, target, { ffn: op, noise: o.noise, seed: o.seed }, o.policy);
}
export function growHidden(
  src: GrowSource,
  target: { hiddenSize?: number; numAttentionHeads?: number },
  o: OpOptions & { op?: HiddenOp } = {},
): GrowResult {
  return grow(src, target, { hidden: o.op ?? 'fpi', noise: o.noise, seed: o.seed }, o.policy);
}
export function growLength(
  src: GrowSource,
  target: { poolingSize?: number; seqLength?: number },
  o: OpOptions = {},
): GrowResult {
  return grow(src, target, {}, o.policy);
}
