// Hidden size and heads: function-preserving widening in the style of bert2BERT's FPI and Staged
// Training. Heads are added at a FIXED head size (hidden = heads x headSize), so the attention
// scale 1/sqrt(headSize) and every head's scores stay the same; the new heads copy old ones.
//
// Exactness: the residual stream x (width d) becomes x' = x[g]. LayerNorm over x' computes the
// mean and variance of x' — equal to those of x only when every unit has the same number of
// copies, i.e. when d' is a multiple of d (g = j mod d). Then the grown model is exact up to
// float rounding. Otherwise the extra units are a random set (no unit copied more than once
// beyond the others) and every LayerNorm sees slightly shifted statistics: the error is measured
// in test/grow/hidden.test.ts and reported in docs/operators.md.
import { GrowbertError, oneOf } from '../io/errors.js';
import { bertConfig, headSize } from '../model/index.js';
import type { Device } from '../tensor/index.js';
import type { Stage } from './stage.js';
import { lemonWiden } from './lemon.js';
import { cached, headMap, notSmaller, tileMap, widen, type WidenOptions } from './width.js';

/** fpi: duplication (exact for whole multiples); lemon: LEMON's average expansion for the rest (lemon.ts). */
export const HIDDEN_OPS = ['fpi', 'lemon'] as const;
export type HiddenOp = (typeof HIDDEN_OPS)[number];

export interface HiddenTarget {
  hiddenSize?: number;
  numAttentionHeads?: number;
}

/** The target (hidden, heads), completed from the fixed head size; bad shapes are GrowbertErrors. */
export function hiddenTarget(c: Stage['config'], t: HiddenTarget): { hidden: number; heads: number } {
  const hd = headSize(c);
  let hidden = t.hiddenSize,
    heads = t.numAttentionHeads;
  if (hidden === undefined && heads === undefined) return { hidden: c.hiddenSize, heads: c.numAttentionHeads };
  if (hidden !== undefined && heads === undefined) {
    if (hidden % hd !== 0) {
      throw new GrowbertError(
        `grow: hiddenSize ${hidden} is not a multiple of the head size ${hd}; heads are added at a fixed head size, so use a multiple of ${hd} (e.g. ${Math.ceil(hidden / hd) * hd})`,
      );
    }
    heads = hidden / hd;
  }
  if (heads !== undefined && hidden === undefined) hidden = heads * hd;
  if (hidden! / heads! !== hd) {
    throw new GrowbertError(
      `grow: hiddenSize ${hidden} / numAttentionHeads ${heads} changes the head size ${hd}; growth adds heads at a fixed head size: use numAttentionHeads ${hidden! % hd === 0 ? hidden! / hd : '(hiddenSize / ' + hd + ')'}`,
    );
  }
  return { hidden: hidden!, heads: heads! };
}

export function hiddenStage(s: Stage, target: HiddenTarget, op: HiddenOp, o: WidenOptions & { device: Device }): Stage {
  if (!HIDDEN_OPS.includes(op))
    throw new GrowbertError(`grow: unknown hidden operator '${op as string}'; use ${oneOf(HIDDEN_OPS)}`);
  const c = s.config;
  const { hidden, heads } = hiddenTarget(c, target);
  notSmaller('hiddenSize', c.hiddenSize, hidden);
  notSmaller('numAttentionHeads', c.numAttentionHeads, heads);
  if (hidden === c.hiddenSize) return s;
  if (op === 'lemon' && hidden % c.hiddenSize !== 0) return lemonStage(s, hidden, heads, o);
  const config = bertConfig({ ...c, hiddenSize: hidden, numAttentionHeads: heads });
  const hm = tileMap(c.hiddenSize, hidden, o.gen, o.device);
  const attn = cached(() => headMap(c.numAttentionHeads, heads, headSize(c), o.gen, o.device));
  const out = widen(s, { hidden: () => hm, head: () => hm, attn }, config, o);
  const exact = hm.even;
  const how = exact
    ? `every unit copied ${hidden / c.hiddenSize}x; exact`
    : `${hidden % c.hiddenSize} random units copied once more than the rest; NOT exact: LayerNorm statistics shift (see docs/operators.md)`;
  return {
    ...out,
    preserving: out.preserving && exact,
    report: [
      ...s.report,
      `hidden: ${c.hiddenSize} -> ${hidden}, heads ${c.numAttentionHeads} -> ${heads} (head size ${headSize(c)}) by fpi${op === 'lemon' ? ' (lemon on a whole multiple)' : ''}: ${how}`,
    ],
  };
}

function lemonStage(s: Stage, hidden: number, heads: number, o: WidenOptions & { device: Device }): Stage {
  const c = s.config;
  const { stage, shape } = lemonWiden(s, hidden, heads, o);
  const how =
    `every unit copied ${shape.k}x, ${shape.r} units hold their mean (LayerNorms exact where they read the stream); ` +
    `NOT exact: the LayerNorms whose output is the stream and the MLM head's LayerNorm cannot be (docs/operators.md)`;
  return {
    ...stage,
    preserving: false,
    report: [
      ...s.report,
      `hidden: ${c.hiddenSize} -> ${hidden}, heads ${c.numAttentionHeads} -> ${heads} (head size ${headSize(c)}) by lemon: ${how}`,
    ],
  };
}
