// The model family's parameter layout: for every parameter the encoder variants have (bert.ts,
// prenorm.ts), which axis of it is which (hidden, attention, FFN, factor rank) and whether it
// produces ('out') or reads ('in') those units, what an identity layer of depth growth holds in
// its place, and which parameters are LayerNorm pairs. Growth, export, import and the classifier
// read names from here and from hf-names.ts; no file outside src/model spells a parameter name.
// A parameter this layout does not describe makes growth fail loudly (paramLayout throws), and
// test/model/family.test.ts checks that every namedParameters() name of every variant is covered.
import { GrowbertError } from '../io/errors.js';
import type { Arch, BertConfig } from './config.js';

/**
 * The growable axes: hidden size (the residual stream), the MLM head's own width (its transform's
 * units, as wide as the hidden size but never on the residual stream), attention width (heads x
 * head size), FFN width, factor ranks.
 */
export type Axis = 'hidden' | 'head' | 'attn' | 'ffn' | 'rankI' | 'rankO';
/** 'out': the axis produces the units (copied when widened); 'in': it reads them (divided by copies). */
export type Role = 'out' | 'in';
export type DimSpec = readonly [Axis, Role] | null;

/**
 * What a new identity layer (depth=identity) holds for a parameter of the layer it repeats:
 * 'copy' its value, 'zero' (the output projections: the layer then adds nothing), or, for the
 * LayerNorms of a post-LN layer, a reset 'one' (scale) / 'zero-norm' (shift).
 */
export type IdentityRule = 'copy' | 'zero' | 'one' | 'zero-norm';

export interface ParamRule {
  dims: readonly DimSpec[];
  identity?: IdentityRule;
  /** half of a LayerNorm pair (`.weight` scale, `.bias` shift) */
  layerNorm?: true;
  /** post-LN: the layer's output LayerNorm, whose affine moves to the last identity layer of a group */
  outputNorm?: true;
  /** a LayerNorm whose output IS the residual stream (not only read by projections): hidden growth treats it apart */
  streamNorm?: true;
}

const H_OUT: DimSpec = ['hidden', 'out'],
  H_IN: DimSpec = ['hidden', 'in'];
const A_OUT: DimSpec = ['attn', 'out'],
  A_IN: DimSpec = ['attn', 'in'];
const F_OUT: DimSpec = ['ffn', 'out'],
  F_IN: DimSpec = ['ffn', 'in'];

/** A LayerNorm pair `<name>.weight`, `<name>.bias` with the same dims. */
type NormOptions = { reset?: boolean; output?: boolean; stream?: boolean };
function norm(name: string, dims: readonly DimSpec[], o: NormOptions = {}): Record<string, ParamRule> {
  const extra = {
    ...(o.output ? { outputNorm: true as const } : {}),
    ...(o.stream ? { streamNorm: true as const } : {}),
  };
  return {
    [`${name}.weight`]: { dims, layerNorm: true, identity: o.reset ? 'one' : 'copy', ...extra },
    [`${name}.bias`]: { dims, layerNorm: true, identity: o.reset ? 'zero-norm' : 'copy', ...extra },
  };
}

/** Factor suffixes of a low-rank FFN matrix W = B·A (nn/layers.ts LowRankLinear). */
export const LOWRANK_A = '.lowrank_a.weight';
export const LOWRANK_B = '.lowrank_b.weight';

/** The sublayers both variants share: attention projections and the (dense or factorized) FFN. */
const SHARED_LAYER: Record<string, ParamRule> = {
  'attention.self.query.weight': { dims: [A_OUT, H_IN] },
  'attention.self.query.bias': { dims: [A_OUT] },
  'attention.self.key.weight': { dims: [A_OUT, H_IN] },
  'attention.self.key.bias': { dims: [A_OUT] },
  'attention.self.value.weight': { dims: [A_OUT, H_IN] },
  'attention.self.value.bias': { dims: [A_OUT] },
  // output projections: zero in an identity layer (for a factorized FFN only the B factor, so
  // that the A factor still gets a gradient)
  'attention.output.dense.weight': { dims: [H_OUT, A_IN], identity: 'zero' },
  'attention.output.dense.bias': { dims: [H_OUT], identity: 'zero' },
  'intermediate.dense.weight': { dims: [F_OUT, H_IN] },
  'intermediate.dense.bias': { dims: [F_OUT] },
  [`intermediate.dense${LOWRANK_A}`]: { dims: [['rankI', 'out'], H_IN] },
  [`intermediate.dense${LOWRANK_B}`]: { dims: [F_OUT, ['rankI', 'in']] },
  'output.dense.weight': { dims: [H_OUT, F_IN], identity: 'zero' },
  'output.dense.bias': { dims: [H_OUT], identity: 'zero' },
  [`output.dense${LOWRANK_A}`]: { dims: [['rankO', 'out'], F_IN] },
  [`output.dense${LOWRANK_B}`]: { dims: [H_OUT, ['rankO', 'in']], identity: 'zero' },
};

const SHARED_GLOBAL: Record<string, ParamRule> = {
  'bert.embeddings.word_embeddings.weight': { dims: [null, H_OUT] },
  'bert.embeddings.position_embeddings.weight': { dims: [null, H_OUT] },
  'bert.embeddings.token_type_embeddings.weight': { dims: [null, H_OUT] },
  ...norm('bert.embeddings.LayerNorm', [H_OUT], { stream: true }),
  'cls.predictions.transform.dense.weight': { dims: [['head', 'out'], H_IN] },
  'cls.predictions.transform.dense.bias': { dims: [['head', 'out']] },
  // The decoder is tied to the word embeddings, whose hidden axis is an 'out' axis (copied), yet
  // as the decoder it reads the head's units and would need dividing. Instead the head's last
  // LayerNorm, whose output only the decoder reads, is divided ('in'): LN weight and bias / c.
  // (Staged Training's code does the same for BERT's MLM head.) The head's units are an axis of
  // their own ('head'): the same size as the hidden one, but behind a GELU, never on the stream.
  ...norm('cls.predictions.transform.LayerNorm', [['head', 'in']]),
  'cls.predictions.bias': { dims: [null] },
};

export interface ArchLayout {
  /** parameters inside `bert.encoder.layer.<i>.`, by their name relative to it */
  layer: Readonly<Record<string, ParamRule>>;
  /** parameters outside the layers, by full name */
  global: Readonly<Record<string, ParamRule>>;
  /** whether depth=identity preserves the function exactly (given lnTransfer) */
  identityExact(lnTransfer: boolean): boolean;
  /** what an identity layer is, for the growth report */
  identityNote(lnTransfer: boolean): string;
}

export const LAYOUTS: Readonly<Record<Arch, ArchLayout>> = {
  // Post-LN: y = LN2(h + FFN(h)), h = LN1(x + Attn(x)). Zero output projections leave
  // LN2(LN1(x)), which is x only after the LayerNorm bookkeeping in grow/depth.ts.
  bert: {
    layer: {
      ...SHARED_LAYER,
      ...norm('attention.output.LayerNorm', [H_OUT], { reset: true, stream: true }),
      ...norm('output.LayerNorm', [H_OUT], { reset: true, output: true, stream: true }),
    },
    global: SHARED_GLOBAL,
    identityExact: (lnTransfer) => lnTransfer,
    identityNote: (t) =>
      `zero attention/FFN outputs; ${
        t
          ? 'output LayerNorm affine moved to the last of each group; exact up to LN eps'
          : 'LayerNorms reset to 1/0; NOT exact'
      }`,
  },
  // Pre-LN: y = h + FFN(LN2(h)), h = x + Attn(LN1(x)). Zero output projections give y = x
  // exactly, whatever the LayerNorms hold, so they keep the repeated layer's trained values.
  prenorm: {
    layer: {
      ...SHARED_LAYER,
      ...norm('attention.LayerNorm', [H_OUT]),
      ...norm('intermediate.LayerNorm', [H_OUT]),
    },
    global: { ...SHARED_GLOBAL, ...norm('bert.LayerNorm', [H_OUT]) },
    identityExact: () => true,
    identityNote: () => 'zero attention/FFN output projections, LayerNorms copied; exact',
  },
};

// ---- Names -----------------------------------------------------------------------------------
const LAYER_PREFIX = 'bert.encoder.layer.';
const LAYER_RE = /^bert\.encoder\.layer\.(\d+)\.(.+)$/;

/** The full name of a layer parameter. */
export function layerParamName(layer: number, rel: string): string {
  return `${LAYER_PREFIX}${layer}.${rel}`;
}

/** A parameter's layer (-1 outside the encoder layers) and its name relative to the layer. */
export function splitLayerName(name: string): { layer: number; rel: string } {
  const m = LAYER_RE.exec(name);
  return m ? { layer: Number(m[1]), rel: m[2] } : { layer: -1, rel: name };
}

export interface ParamLayout extends ParamRule {
  /** the encoder layer, -1 outside the layers */
  layer: number;
  /** the name inside the layer (the full name outside the layers) */
  rel: string;
}

/**
 * The layout of parameter `name` in a model of this config. A name the layout does not describe
 * is an error: growth must never guess how to map a tensor it does not know.
 */
export function paramLayout(c: Pick<BertConfig, 'arch'>, name: string): ParamLayout {
  const { layer, rel } = splitLayerName(name);
  const arch = LAYOUTS[c.arch];
  const rule = layer >= 0 ? arch.layer[rel] : arch.global[name];
  if (!rule) {
    throw new GrowbertError(
      `model layout: parameter '${name}' is not described for arch '${c.arch}'; ` +
        'add it to src/model/family.ts (see docs/contributing.md)',
    );
  }
  return { layer, rel, identity: 'copy', ...rule };
}

/**
 * The dense FFN matrix of `layer` whose rows are the FFN units (its first axis produces them, its
 * second reads the hidden units): where widened FFN copies sit side by side after growth.
 */
export function ffnUnitsWeight(c: Pick<BertConfig, 'arch'>, layer: number): string {
  const rel = Object.entries(LAYOUTS[c.arch].layer).find(
    ([, r]) => r.dims.length === 2 && r.dims[0]?.join() === 'ffn,out' && r.dims[1]?.join() === 'hidden,in',
  )?.[0];
  if (!rel) throw new GrowbertError(`model layout: arch '${c.arch}' has no dense FFN input matrix`);
  return layerParamName(layer, rel);
}

/**
 * BERT's weight-decay rule: every parameter but biases and LayerNorm pairs. By name alone, so that
 * it also covers task heads (pooler, classifier) and the `layer_norm` spelling other models use.
 */
export function getsWeightDecay(name: string): boolean {
  return !(name.endsWith('.bias') || name.includes('LayerNorm') || name.includes('layer_norm'));
}

/** The tokenizer every variant uses (src/data/tokenizer.ts), and the class Hugging Face loads it with. */
export const TOKENIZER = { kind: 'wordpiece', hfClass: 'BertTokenizer' } as const;
