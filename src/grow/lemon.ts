// Hidden-size growth by LEMON's average expansion (Wang et al., ICLR 2024, "LEMON: Lossless Model
// Expansion"), for widths that are not a multiple of the source's (d' = k d + r, 0 < r < d).
//
// The residual stream x (width d) becomes x' = [x, .., x (k times), mean(x), .., mean(x) (r times)].
// Its mean is x's and its variance k d / d' times x's, so every LayerNorm READING the stream is
// exact once its weight is scaled by sqrt(k d / d'). What makes it hold:
// - producers of the stream (embedding columns, attention-output and FFN-output rows and biases)
//   copy their units k times and put the mean of their units in the r new ones (linear, so exact);
// - consumers (query/key/value, FFN input, the head's transform) divide each unit's k copies
//   (zero-sum noise breaks the symmetry) and give the r mean units zero-sum random columns: those
//   units all hold the same value, so the columns' contributions cancel exactly;
// - a LayerNorm's r new inputs equal its input's mean, so its r new outputs are its bias there:
//   0 for a LayerNorm read only by projections (pre-LN layers, the final one), the mean of its
//   bias for one whose output IS the stream (the embedding LayerNorm; every post-LN one); their
//   weight only carries gradients back to the stream (the copies' mean; `noise` x that in a
//   post-LN layer, whose new inputs are only close to the mean).
// What cannot be exact (docs/operators.md gives the proof): a LayerNorm whose output is the stream
// would have to put mean(gamma * z + beta) in the new units, and the part mean((gamma - mean
// gamma) * z) depends on the input; and the MLM head's units sit behind a GELU, whose mean no
// unit can compute. So the stream LayerNorms err by that term (0 when gamma is uniform, as at
// init), and the head's units are duplicated as fpi does (r random units get a second copy). With
// a whole multiple (r = 0) none of this arises and the operator is fpi, exact.
import type { Device, Tensor } from '../tensor/index.js';
import { cat, randn, tidy, zeros } from '../tensor/index.js';
import { bertConfig, headSize, paramLayout, type ParamLayout } from '../model/index.js';
import { mapState, type ParamState, type Stage } from './stage.js';
import { cached, headMap, tileMap, widen, zeroSumNoise, type AxisMap, type WidenOptions } from './width.js';

type Kind = 'weight' | 'exp_avg' | 'exp_avg_sq';

interface Shape {
  d: number;
  d2: number;
  k: number;
  r: number;
  /** sqrt(k d / d'): the std of the expanded stream relative to the source's */
  s: number;
  /** the k d copies: unit j <- j mod d */
  copies: AxisMap;
  /** the head's units: the copies, then r random units once more */
  head: AxisMap;
}

/** x (size 1 along `dim`) repeated to `n` units there. */
function repeatAlong(x: Tensor, dim: number, n: number): Tensor {
  const shape = x.shape;
  shape[dim] = n;
  return x.expand(...shape).contiguous();
}

const rms = (x: Tensor) => x.pow(2).mean().sqrt();

/** The r residue entries of a consumer ('in') weight: zero-sum over them, so they cancel on equal inputs. */
function residueColumns(copies: Tensor, dim: number, r: number, noise: number, o: WidenOptions): Tensor {
  const shape = copies.shape;
  shape[dim] = r;
  if (r < 2 || noise === 0) return zeros(shape, { device: copies.device });
  const n = randn(shape, { generator: o.gen }).to(copies.device).mul(rms(copies).mul(noise));
  return n.sub(n.mean(dim, true));
}

/** The moments' scale for a unit copied k times, by policy ('weight': the weights' own scale). */
function momentScale(kind: Kind, o: WidenOptions, mapScale: number, gradScale: number): number {
  const f = kind === 'weight' ? mapScale : o.policy === 'grad' ? gradScale : mapScale;
  return kind === 'exp_avg_sq' ? f * f : f;
}

/**
 * One tensor (weight or moment) along the stream axis: k copies of every unit, then r units:
 * producers the mean of their units, consumers zero-sum random columns, LayerNorms their bias.
 */
function expandHidden(t: Tensor, kind: Kind, dim: number, rule: ParamLayout, sh: Shape, o: WidenOptions): Tensor {
  const role = rule.dims[dim]![1];
  const lnWeight = rule.layerNorm === true && rule.rel.endsWith('.weight');
  // a copied unit's gradient is 1/k of the source's; a LayerNorm weight's output is read through z / s
  const [mapScale, gradScale] = role === 'in' ? [1 / sh.k, 1] : lnWeight ? [sh.s, 1 / (sh.s * sh.k)] : [1, 1 / sh.k];
  const f = momentScale(kind, o, mapScale, gradScale);
  let c = t.indexSelect(dim, sh.copies.index);
  if (f !== 1) c = c.mul(f);
  if (kind === 'weight' && role === 'in' && sh.k > 1 && o.noise > 0)
    c = c.add(zeroSumNoise(c, dim, sh.copies, o.noise, o.gen));
  const mean = repeatAlong(c.mean(dim, true), dim, sh.r);
  let res: Tensor;
  if (role === 'in') res = kind === 'weight' ? residueColumns(c, dim, sh.r, o.noise, o) : freshMoment(mean, kind);
  // LayerNorm: the new units' input equals the mean, so they output their bias: the stream's mean
  // for a stream LayerNorm, else 0. Their weight is the copies' mean (as LEMON, any value keeps
  // the function), since 0 would cut the gradient from what reads them back to the stream; but a
  // post-LN layer's input is only close to the mean (see above), so there `noise` x that mean.
  else if (lnWeight)
    res = kind === 'weight' ? mean.mul(rule.streamNorm && rule.layer >= 0 ? o.noise : 1) : freshMoment(mean, kind);
  else if (rule.layerNorm) res = rule.streamNorm ? mean : freshMoment(mean, kind);
  else res = mean; // producers: the mean of their units (and of their moments)
  return cat([c, res], dim);
}

/** A new entry: weight and first moment 0; second moment its neighbours' mean (no oversized first steps). */
function freshMoment(mean: Tensor, kind: Kind): Tensor {
  return kind === 'exp_avg_sq' ? mean : mean.mul(0);
}

/**
 * One tensor along the MLM head's axis. Its units are duplicated as fpi does (k copies, then r
 * random units once more), which keeps the head LayerNorm's statistics close; the decoder (the
 * word embeddings, expanded as the stream) reads the k copies of a unit and, through the mean
 * columns, the sum of the r others: so the head LayerNorm's affine is divided among the k copies
 * and is 0 on the r others, which then count only in its statistics.
 */
function expandHead(t: Tensor, kind: Kind, dim: number, rule: ParamLayout, sh: Shape, o: WidenOptions): Tensor {
  const role = rule.dims[dim]![1];
  const y = t.indexSelect(dim, sh.head.index);
  if (role === 'out') {
    const f = momentScale(kind, o, 1, 1 / sh.k);
    return f === 1 ? y : y.mul(f);
  }
  let c = y.narrow(dim, 0, sh.k * sh.d);
  const f = momentScale(kind, o, 1 / sh.k, 1);
  if (f !== 1) c = c.mul(f);
  if (kind === 'weight' && sh.k > 1 && o.noise > 0) c = c.add(zeroSumNoise(c, dim, sh.copies, o.noise, o.gen));
  return cat([c, freshMoment(repeatAlong(c.mean(dim, true), dim, sh.r), kind)], dim);
}

/** The stream and head axes of every parameter (the layout is read by name and arch only). */
function averageWiden(s: Stage, sh: Shape, o: WidenOptions): Stage {
  const params = new Map<string, Tensor>();
  const opt = s.opt ? new Map<string, ParamState | null>() : undefined;
  for (const [name, w] of s.params) {
    const rule = paramLayout(s.config, name);
    const dims = (['head', 'hidden'] as const).map((a) => rule.dims.findIndex((d) => d?.[0] === a));
    if (dims.every((d) => d < 0)) {
      params.set(name, w);
      opt?.set(name, s.opt!.get(name) ?? null);
      continue;
    }
    const apply = (t: Tensor, kind: Kind) =>
      tidy(() => {
        let y = t;
        if (dims[0] >= 0) y = expandHead(y, kind, dims[0], rule, sh, o);
        if (dims[1] >= 0) y = expandHidden(y, kind, dims[1], rule, sh, o);
        return y;
      });
    params.set(name, apply(w, 'weight'));
    opt?.set(
      name,
      mapState(s.opt!.get(name), (t, slot) => apply(t, slot)),
    );
  }
  return { ...s, params, opt };
}

/**
 * LEMON's expansion of a stage to `hidden` units and `heads` heads (an uneven width; the caller
 * gives whole multiples to fpi). Heads and the head's units are duplicated as fpi does; the
 * stream by the average expansion above.
 */
export function lemonWiden(
  s: Stage,
  hidden: number,
  heads: number,
  o: WidenOptions & { device: Device },
): { stage: Stage; shape: Shape } {
  const c = s.config;
  const d = c.hiddenSize,
    k = Math.floor(hidden / d);
  const config = bertConfig({ ...c, hiddenSize: hidden, numAttentionHeads: heads });
  const attn = cached(() => headMap(c.numAttentionHeads, heads, headSize(c), o.gen, o.device));
  const head = tileMap(d, hidden, o.gen, o.device);
  const copies = tileMap(d, k * d, o.gen, o.device);
  const sh: Shape = { d, d2: hidden, k, r: hidden - k * d, s: Math.sqrt((k * d) / hidden), copies, head };
  // the heads first (as fpi), then the stream and the head's units
  const wide = widen(s, { attn }, config, o);
  return { stage: { ...averageWiden(wide, sh, o), config }, shape: sh };
}
