// Depth growth: N source layers -> N' >= N layers.
//   stack       new layer i <- layer i mod N       (authors' code; Gong et al. 2019 stacking)
//   interleave  new layer i <- layer floor(i N / N') (each layer repeated in place; for N' = kN
//               that is [0,0,1,1,..]; for 2 -> 3 it is [0,0,1])
//   identity    the interleave map, but only a layer's first copy keeps its weights; the repeats
//               are new layers that compute the identity (below)
//
// Identity layers under post-LN. A BERT layer is y = LN2(h + FFN(h)), h = LN1(x + Attn(x)).
// Zeroing the attention-output and FFN-output weights and biases gives y = LN2(LN1(x)), which is
// NOT x in general: x is the previous layer's output gamma*z + beta (z normalized), and LN1
// re-normalizes it, losing gamma and beta (exact only if gamma and beta are uniform). What we do
// instead ('transfer', the default): the repeated layer's LN2 affine (gamma, beta) moves to the
// LAST layer of its group, and every LayerNorm before it in the group gets gamma=1, beta=0. Then
// the group's first layer outputs z, each identity layer computes LN(LN(z)) = z up to the LN eps
// (z already has mean 0 and variance sigma^2/(sigma^2+eps)), and the last one applies gamma and
// beta: the group outputs exactly what the source layer did. With lnTransfer=false the new LNs
// are just gamma=1, beta=0 and the function changes; both errors are measured in the tests.
//
// The identity layers' query/key/value and FFN-input weights copy the repeated layer (so they
// are trained weights, not noise); only their output projections are zero (for a factorized FFN
// only the B factor: zeroing both factors would leave them with zero gradient forever).
//
// Under pre-LN (arch 'prenorm') a layer is y = h + FFN(LN2(h)), h = x + Attn(LN1(x)): zero
// output projections make it exactly y = x, so its LayerNorms simply copy the repeated layer's.
// Which parameter is zeroed, copied or reset comes from the model's layout (src/model/family.ts).
import { GrowbertError, oneOf } from '../io/errors.js';
import { LAYOUTS, bertConfig, layerParamName, paramLayout } from '../model/index.js';
import { ones, zerosLike, type Tensor } from '../tensor/index.js';
import type { ParamState, Stage } from './stage.js';
import { notSmaller } from './width.js';

/** The depth operators: the one list the schedule schema, `--op` parsing and the checks read. */
export const DEPTH_OPS = ['stack', 'interleave', 'identity'] as const;
export type DepthOp = (typeof DEPTH_OPS)[number];

export interface DepthOptions {
  /** identity only: move the repeated layer's output LayerNorm affine to the group's last layer (default true) */
  lnTransfer?: boolean;
}

/** The source layer of each new layer. */
export function depthMap(op: DepthOp, n: number, n2: number): number[] {
  if (op === 'stack') return Array.from({ length: n2 }, (_, i) => i % n);
  return Array.from({ length: n2 }, (_, i) => Math.floor((i * n) / n2));
}

export function depthStage(s: Stage, numLayers: number, op: DepthOp, o: DepthOptions = {}): Stage {
  const n = s.config.numHiddenLayers;
  notSmaller('numHiddenLayers', n, numLayers);
  if (!DEPTH_OPS.includes(op))
    throw new GrowbertError(`grow: unknown depth operator '${op as string}'; use ${oneOf(DEPTH_OPS)}`);
  if (numLayers === n) return s;
  const transfer = o.lnTransfer ?? true;
  const map = depthMap(op, n, numLayers);
  const params = new Map<string, Tensor>();
  const opt = s.opt ? new Map<string, ParamState | null>() : undefined;
  const put = (name: string, t: Tensor, st: ParamState | null) => {
    params.set(name, t);
    opt?.set(name, st);
  };
  const layerNames = new Map<number, string[]>(); // layer -> names relative to the layer
  for (const name of s.params.keys()) {
    const { layer, rel } = paramLayout(s.config, name); // throws on a parameter the layout lacks
    if (layer < 0) {
      put(name, s.params.get(name)!, s.opt?.get(name) ?? null); // embeddings, final LayerNorm, MLM head
      continue;
    }
    if (!layerNames.has(layer)) layerNames.set(layer, []);
    layerNames.get(layer)!.push(rel);
  }

  for (let i = 0; i < numLayers; i++) {
    const src = map[i];
    const first = i === 0 || map[i - 1] !== src; // the copy that keeps the source's weights
    const lastOfGroup = i === numLayers - 1 || map[i + 1] !== src;
    const groupSize = map.filter((x) => x === src).length;
    for (const rel of layerNames.get(src)!) {
      const from = layerParamName(src, rel);
      const w = s.params.get(from)!;
      const st = s.opt?.get(from) ?? null;
      const to = layerParamName(i, rel);
      const rule = paramLayout(s.config, from);
      const moved = transfer && groupSize > 1 && rule.outputNorm === true; // post-LN output LayerNorm
      if (op !== 'identity' || (first && !moved)) {
        put(to, w, st); // stack / interleave: plain copy, moments and step too
        continue;
      }
      if (moved && lastOfGroup)
        put(to, w, st); // the moved affine
      else if (rule.identity === 'one') put(to, ones(w.shape, { device: w.device }), null);
      else if (rule.identity === 'zero' || rule.identity === 'zero-norm') put(to, zerosLike(w), null);
      else put(to, w, st); // query/key/value, FFN input, factor A (and pre-LN LayerNorms): copies
    }
  }

  let how: string;
  let exact = false;
  if (op === 'stack') how = `stack: layers [${map.join(',')}] (copies; function changes)`;
  else if (op === 'interleave')
    how = `interleave: layers [${map.join(',')}] (each repeated in place; function changes)`;
  else {
    const desc = map.map((x, i) => (i > 0 && map[i - 1] === x ? 'id' : String(x)));
    const layout = LAYOUTS[s.config.arch];
    exact = layout.identityExact(transfer);
    how = `identity: layers [${desc.join(',')}] (id: ${layout.identityNote(transfer)})`;
  }
  const config = bertConfig({ ...s.config, numHiddenLayers: numLayers });
  return {
    ...s,
    config,
    params,
    opt,
    preserving: s.preserving && exact,
    report: [...s.report, `depth: ${n} -> ${numLayers} by ${how}`],
  };
}
