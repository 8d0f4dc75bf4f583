// FFN growth: the paper's parameter sharing ('share'), Net2Net splitting ('split'), and the
// paper's rejected low-cost alternative, the factorized FFN ('factorized': multiply out, or grow
// the rank). See docs/operators.md for the math and the measured preservation.
import { GrowbertError, oneOf } from '../io/errors.js';
import { LOWRANK_A as A, LOWRANK_B as B, bertConfig } from '../model/index.js';
import type { Device, Generator, Tensor } from '../tensor/index.js';
import type { ParamState, Stage } from './stage.js';
import { cached, notSmaller, splitMap, tileMap, widen, type WidenOptions } from './width.js';

/** The FFN operators: the one list the schedule schema, `--op` parsing and the checks read. */
export const FFN_OPS = ['share', 'split', 'factorized'] as const;
export type FfnOp = (typeof FFN_OPS)[number];

export interface FfnTarget {
  intermediateSize?: number;
  ffnRank?: number;
}

/**
 * W = B·A for every factorized FFN matrix: a new dense parameter, so it starts with zero moments
 * and step 0 (its moments cannot be derived from the factors'). The biases keep theirs.
 */
function multiplyOut(s: Stage): Stage {
  const params = new Map<string, Tensor>();
  const opt = s.opt ? new Map<string, ParamState | null>() : undefined;
  for (const [name, t] of s.params) {
    if (name.endsWith(B)) continue;
    if (name.endsWith(A)) {
      const base = name.slice(0, -A.length);
      params.set(`${base}.weight`, s.params.get(base + B)!.matmul(t));
      opt?.set(`${base}.weight`, null);
      continue;
    }
    params.set(name, t);
    opt?.set(name, s.opt!.get(name) ?? null);
  }
  return { ...s, params, opt };
}

/** The FFN operator on a stage; the target's missing fields keep the source's values. */
export function ffnStage(s: Stage, target: FfnTarget, op: FfnOp, o: WidenOptions & { device: Device }): Stage {
  const c = s.config;
  const F = c.intermediateSize,
    F2 = target.intermediateSize ?? F;
  const r = c.ffnRank,
    r2 = target.ffnRank ?? r;
  notSmaller('intermediateSize', F, F2);
  if (F2 === F && r2 === r) return s;
  const config = bertConfig({ ...c, intermediateSize: F2, ffnRank: r2 });
  const gen: Generator = o.gen;

  if (op === 'factorized') {
    if (F2 !== F)
      throw new GrowbertError(
        `grow: ffn=factorized changes only ffnRank, but intermediateSize ${F} -> ${F2} was asked; widen with ffn=share or ffn=split in a separate growth step`,
      );
    if (r === 0)
      throw new GrowbertError(
        'grow: ffn=factorized needs a factorized source (ffnRank > 0), but this model has a dense FFN; use ffn=share or ffn=split',
      );
    if (r2 === 0) {
      const out = multiplyOut({ ...s, config });
      return {
        ...out,
        report: [
          ...s.report,
          `ffn: factorized rank ${r} -> dense ${F} (W = B·A multiplied out; exact; the dense W start with zero moments, step 0)`,
        ],
      };
    }
    notSmaller('ffnRank', r, r2);
    // one map per layer and per matrix (the intermediate and output factorizations are separate)
    const rank = () => cached(() => tileMap(r, r2, gen, o.device));
    const out = widen(s, { rankI: rank(), rankO: rank() }, config, o);
    return {
      ...out,
      report: [
        ...s.report,
        `ffn: factorized rank ${r} -> ${r2} (rank units duplicated, B's columns divided by their copies; exact)`,
      ],
    };
  }

  if (r2 !== r)
    throw new GrowbertError(
      `grow: ffnRank ${r} -> ${r2} needs ffn=factorized (ffn=${op} widens intermediateSize only)`,
    );
  if (op === 'share' && F2 % F !== 0) {
    throw new GrowbertError(
      `grow: ffn=share tiles the FFN a whole number of times, but intermediateSize ${F} -> ${F2} is not a multiple; use a multiple of ${F} (e.g. ${2 * F}) or ffn=split`,
    );
  }
  if (op !== 'share' && op !== 'split')
    throw new GrowbertError(`grow: unknown ffn operator '${op as string}'; use ${oneOf(FFN_OPS)}`);
  const ffn = cached(() => (op === 'share' ? tileMap(F, F2, gen, o.device) : splitMap(F, F2, gen, o.device)));
  const out = widen(s, { ffn }, config, o);
  const how =
    op === 'share'
      ? `share (W1, b1 tiled ${F2 / F}x; W2 tiled and divided by ${F2 / F}; b2 copied)`
      : `split (Net2Net: ${F2 - F} random units duplicated per layer, W2 columns divided by copy counts)`;
  const noise = o.noise > 0 ? `, zero-sum noise ${o.noise} on W2 copies` : '';
  return { ...out, report: [...s.report, `ffn: ${F} -> ${F2} by ${how}${noise}; exact`] };
}
