// Width growth by unit duplication, shared by the FFN (share, split), hidden/heads (FPI) and
// rank operators. One mechanism: every widened axis has a map new unit j -> source unit g(j);
// a tensor axis that PRODUCES the unit ('out', e.g. the rows of W1) is gathered by g; an axis
// that READS it ('in', e.g. the columns of W2) is gathered and divided by c(g(j)), the number of
// copies of that source unit, so the copies' contributions sum to the original one. That is
// Net2Net's function-preserving widening (Chen et al. 2016), which the paper's FFN sharing is the
// evenly tiled case of, and bert2BERT's FPI (Chen et al. 2022) applied to BERT's hidden size.
import { GrowbertError } from '../io/errors.js';
import { paramLayout, type Role } from '../model/index.js';
import type { Device, Generator, Tensor } from '../tensor/index.js';
import { arange, bincount, cat, randint, randn, randperm, tidy, zeros } from '../tensor/index.js';
import { mapState, type OptimizerPolicy, type ParamState, type Stage } from './stage.js';

/** new unit j -> source unit index[j]; counts[j] = copies of index[j] (float32). */
export interface AxisMap {
  oldSize: number;
  newSize: number;
  index: Tensor;
  counts: Tensor;
  /** every source unit has the same number of copies (tiling) */
  even: boolean;
}

function axisMap(oldSize: number, cpuIndex: Tensor, device: Device): AxisMap {
  const index = device === 'cpu' ? cpuIndex : cpuIndex.to(device);
  const per = bincount(index, oldSize).float();
  const even = per.min().item() === per.max().item();
  return { oldSize, newSize: index.size(0), index, counts: per.indexSelect(0, index), even };
}

/**
 * Balanced duplication: unit j <- j mod n for the first floor(m/n)*n units (tiling, as the
 * paper's FFN sharing), then a random set of distinct units for the remainder, so no unit has
 * more than one copy above any other.
 */
export function tileMap(n: number, m: number, gen: Generator, device: Device = 'cpu'): AxisMap {
  const whole = Math.floor(m / n) * n;
  const tiled = arange(0, whole).remainder(n);
  const index = whole === m ? tiled : cat([tiled, randperm(n, { generator: gen }).narrow(0, 0, m - whole)]);
  return axisMap(n, index, device);
}

/** Net2Net's random mapping: units 0..n-1 keep their place, each extra unit copies a random one. */
export function splitMap(n: number, m: number, gen: Generator, device: Device = 'cpu'): AxisMap {
  const index = m === n ? arange(0, n) : cat([arange(0, n), randint(0, n, [m - n], { generator: gen })]);
  return axisMap(n, index, device);
}

/** Head-level balanced duplication (heads of headSize units), expanded to units. */
export function headMap(
  heads: number,
  newHeads: number,
  headSize: number,
  gen: Generator,
  device: Device = 'cpu',
): AxisMap {
  const h = tileMap(heads, newHeads, gen).index; // [newHeads]
  const within = arange(0, headSize);
  const index = h
    .mul(headSize)
    .unsqueeze(1)
    .add(within.unsqueeze(0))
    .reshape(newHeads * headSize);
  return axisMap(heads * headSize, index, device);
}

/** Maps for the axes that change; per-layer axes get one map per layer (built lazily, cached). */
export interface WidthPlan {
  hidden?: () => AxisMap;
  /** the MLM head's units (as many as the hidden units; fpi maps them with the hidden map) */
  head?: () => AxisMap;
  attn?: (layer: number) => AxisMap;
  ffn?: (layer: number) => AxisMap;
  rankI?: (layer: number) => AxisMap;
  rankO?: (layer: number) => AxisMap;
}

export interface WidenOptions {
  policy: OptimizerPolicy;
  /** std of the symmetry-breaking noise, relative to the std of the divided weight (0 = none) */
  noise: number;
  gen: Generator;
}

/** Caches a per-key map builder so weights and moments use the same map. */
export function cached(build: (key: number) => AxisMap): (key: number) => AxisMap {
  const c = new Map<number, AxisMap>();
  return (k) => {
    if (!c.has(k)) c.set(k, build(k));
    return c.get(k)!;
  };
}

/** counts shaped to broadcast along `dim` of an n-d tensor */
export function along(counts: Tensor, dim: number, ndim: number): Tensor {
  return counts.reshape(...Array.from({ length: ndim }, (_, i) => (i === dim ? counts.size(0) : 1)));
}

/**
 * Noise that sums to zero over the copies of each source unit along `dim`. Added to the 'in'
 * (divided) weights it changes no output (the copies see identical inputs, so only their sum
 * matters), yet the copies' incoming weights then get different gradients and diverge.
 */
export function zeroSumNoise(x: Tensor, dim: number, m: AxisMap, rel: number, gen: Generator): Tensor {
  // scaled by the weight's RMS (not its std, which is 0 for an untouched LayerNorm weight)
  const n = randn(x.shape, { generator: gen }).to(x.device).mul(x.pow(2).mean().sqrt().mul(rel));
  const shape = x.shape;
  shape[dim] = m.oldSize;
  const perUnit = along(bincount(m.index, m.oldSize).float().clamp(1), dim, x.ndim);
  const groupMean = zeros(shape, { device: x.device }).indexAdd(dim, m.index, n).div(perUnit);
  return n.sub(groupMean.indexSelect(dim, m.index));
}

/** Widens every parameter (and its moments) of a stage along the axes the plan changes. */
export function widen(s: Stage, plan: WidthPlan, config: Stage['config'], o: WidenOptions): Stage {
  const params = new Map<string, Tensor>();
  const opt = s.opt ? new Map<string, ParamState | null>() : undefined;
  for (const [name, w] of s.params) {
    const { layer, dims } = paramLayout(s.config, name); // which axis is which: src/model/family.ts
    const steps: { dim: number; m: AxisMap; role: Role }[] = [];
    dims.forEach((d, dim) => {
      if (!d) return;
      const [axis, role] = d;
      const get = plan[axis];
      if (!get) return;
      const global = axis === 'hidden' || axis === 'head';
      steps.push({ dim, m: global ? (get as () => AxisMap)() : (get as (l: number) => AxisMap)(layer), role });
    });
    if (steps.length === 0) {
      params.set(name, w);
      opt?.set(name, s.opt!.get(name) ?? null);
      continue;
    }
    // kind: the tensor being mapped; its scale per step is 1/c for divided ('in') weights; moments
    // take that scale (policy 'map') or the gradient's, 1/c on 'out' axes (policy 'grad'), squared
    // for exp_avg_sq.
    // (each in its own tidy(), so a tensor's temporaries are freed before the next is mapped)
    const apply = (t: Tensor, kind: 'weight' | 'exp_avg' | 'exp_avg_sq') =>
      tidy(() => {
        let y = t;
        for (const { dim, m, role } of steps) {
          y = y.indexSelect(dim, m.index);
          const scaledRole: Role = kind !== 'weight' && o.policy === 'grad' ? 'out' : 'in';
          if (role === scaledRole) {
            const c = along(m.counts, dim, y.ndim);
            y = y.div(kind === 'exp_avg_sq' ? c.mul(c) : c);
          }
          if (kind === 'weight' && role === 'in' && o.noise > 0) y = y.add(zeroSumNoise(y, dim, m, o.noise, o.gen));
        }
        return y;
      });
    params.set(name, apply(w, 'weight'));
    opt?.set(
      name,
      mapState(s.opt!.get(name), (t, slot) => apply(t, slot)),
    );
  }
  return { ...s, config, params, opt };
}

/** Throws the one-line error for a target below the source in one dimension. */
export function notSmaller(dim: string, from: number, to: number): void {
  if (to < from)
    throw new GrowbertError(
      `grow: ${dim} target ${to} is smaller than the source's ${from}; growth only enlarges (train a smaller model instead)`,
    );
}
