// BertConfig: the shape and hyper-parameters of an encoder of the model family (post-LN BERT or
// the pre-LN variant, `arch`), validated with zod, with converters to and from Hugging Face's
// config.json and the size presets growbert uses. The one list of fields: the pre-training
// config's `model` overrides and a schedule stage's `model` are derived from it below.
import { z } from 'zod';
import { GrowbertError } from '../io/errors.js';
import { positionOffset } from './hf-names.js';

const posInt = z.number().int().positive();
const prob = z.number().min(0).max(1);

/** The encoder variants (src/model/layout.ts has each one's parameter layout). */
export const ARCHS = ['bert', 'prenorm'] as const;
export type Arch = (typeof ARCHS)[number];

/** Every field of a model config; the schemas below are views of this one object. */
const CONFIG_FIELDS = z.object({
  /**
   * 'bert': post-LN BERT (Hugging Face's); 'prenorm': pre-LN (LayerNorm before each sublayer and after the last layer)
   */
  arch: z.enum(ARCHS).default('bert'),
  vocabSize: posInt,
  hiddenSize: posInt,
  numHiddenLayers: posInt,
  numAttentionHeads: posInt,
  intermediateSize: posInt,
  maxPositionEmbeddings: posInt.default(512),
  typeVocabSize: posInt.default(2),
  hiddenDropoutProb: prob.default(0.1),
  attentionProbsDropoutProb: prob.default(0.1),
  layerNormEps: z.number().positive().default(1e-12),
  initializerRange: z.number().positive().default(0.02),
  /** 'gelu' is the exact (erf) GELU; 'gelu_new' the tanh approximation */
  hiddenAct: z.enum(['gelu', 'gelu_new']).default('gelu'),
  padTokenId: z.number().int().nonnegative().default(0),
  // growbert extras, for the low-cost stages of a growth schedule:
  /** length pooling factor k: 1 = off; k > 1 mean-pools the unmasked tokens in windows of k */
  poolingSize: posInt.default(1),
  /** 0 = full FFN; r > 0 = each FFN matrix factorized as W = B·A of rank r */
  ffnRank: z.number().int().nonnegative().default(0),
});

/**
 * The dimensions growth changes (and a schedule stage may set), in the order growth reports them.
 * The one list that grow targets, schedule stages, the last-stage check and `growbert grow` use.
 */
export const GROWABLE_KEYS = [
  'numHiddenLayers',
  'hiddenSize',
  'numAttentionHeads',
  'intermediateSize',
  'poolingSize',
  'ffnRank',
] as const;
export type GrowableKey = (typeof GROWABLE_KEYS)[number];
export type GrowableShape = Pick<BertConfig, GrowableKey>;

/** The growable dimensions of a config. */
export function growableShape(c: GrowableShape): GrowableShape {
  return Object.fromEntries(GROWABLE_KEYS.map((k) => [k, c[k]])) as unknown as GrowableShape;
}

/** Overrides of a preset's model (the pre-training config's `model`): every field but the vocabulary's, optional. */
export const ModelOverridesSchema = CONFIG_FIELDS.omit({ vocabSize: true, padTokenId: true }).partial().strict();
/** A schedule stage's model: the growable dimensions, optional. */
export const GrowableShapeSchema = CONFIG_FIELDS.pick(
  Object.fromEntries(GROWABLE_KEYS.map((k) => [k, true])) as { [K in GrowableKey]: true },
)
  .partial()
  .strict();

export const BertConfigSchema = CONFIG_FIELDS.strict().superRefine((c, ctx) => {
  if (c.hiddenSize % c.numAttentionHeads !== 0) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['hiddenSize'],
      message: `hiddenSize ${c.hiddenSize} is not divisible by numAttentionHeads ${c.numAttentionHeads}; pick a head count that divides it (e.g. ${divisorNear(c.hiddenSize, c.numAttentionHeads)})`,
    });
  }
  if (c.ffnRank > Math.min(c.hiddenSize, c.intermediateSize)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['ffnRank'],
      message: `ffnRank ${c.ffnRank} exceeds min(hiddenSize ${c.hiddenSize}, intermediateSize ${c.intermediateSize}); use a smaller rank, or 0 for a full FFN`,
    });
  }
  if (c.padTokenId >= c.vocabSize) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['padTokenId'],
      message: `padTokenId ${c.padTokenId} is outside the vocabulary (vocabSize ${c.vocabSize}); set it to the tokenizer's [PAD] id`,
    });
  }
});

export type BertConfig = z.output<typeof BertConfigSchema>;
export type BertConfigInput = z.input<typeof BertConfigSchema>;

function divisorNear(n: number, target: number): number {
  for (let d = 0; d < n; d++) {
    if (target - d > 0 && n % (target - d) === 0) return target - d;
    if (n % (target + d) === 0) return target + d;
  }
  return 1;
}

/** Validates (and fills defaults); a bad config is a one-line GrowbertError. */
export function bertConfig(input: BertConfigInput): BertConfig {
  const r = BertConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue.path.join('.');
  const msg = issue.code === z.ZodIssueCode.custom ? issue.message : `${where}: ${issue.message}`;
  throw new GrowbertError(`bad BERT config: ${msg}`);
}

/** Width of one attention head. */
export function headSize(c: BertConfig): number {
  return c.hiddenSize / c.numAttentionHeads;
}

// ---- Presets ------------------------------------------------------------------------------------

export const PRESETS = {
  tiny: { numHiddenLayers: 2, hiddenSize: 128, numAttentionHeads: 2, intermediateSize: 512, maxPositionEmbeddings: 64 },
  mini: {
    numHiddenLayers: 4,
    hiddenSize: 256,
    numAttentionHeads: 4,
    intermediateSize: 1024,
    maxPositionEmbeddings: 128,
  },
  small: {
    numHiddenLayers: 4,
    hiddenSize: 512,
    numAttentionHeads: 8,
    intermediateSize: 2048,
    maxPositionEmbeddings: 512,
  },
  base: {
    numHiddenLayers: 12,
    hiddenSize: 768,
    numAttentionHeads: 12,
    intermediateSize: 3072,
    maxPositionEmbeddings: 512,
  },
  large: {
    numHiddenLayers: 24,
    hiddenSize: 1024,
    numAttentionHeads: 16,
    intermediateSize: 4096,
    maxPositionEmbeddings: 512,
  },
} as const;
export type PresetName = keyof typeof PRESETS;

/** A preset's config; the vocabulary size comes from the tokenizer. */
export function presetConfig(
  name: PresetName,
  vocabSize: number,
  overrides: Partial<BertConfigInput> = {},
): BertConfig {
  const p = PRESETS[name];
  if (!p) throw new GrowbertError(`unknown model preset '${name}'; use one of ${Object.keys(PRESETS).join(', ')}`);
  return bertConfig({ ...p, vocabSize, ...overrides });
}

// ---- Hugging Face config.json -------------------------------------------------------------------

/**
 * config.json's model_type per arch. Post-LN BERT is Hugging Face's 'bert'; the pre-LN variant is
 * transformers' RobertaPreLayerNorm (same modules; its position table is shifted, hf-names.ts).
 */
export const HF_MODEL_TYPES = { bert: 'bert', prenorm: 'roberta-prelayernorm' } as const satisfies Record<Arch, string>;
export type HfModelType = (typeof HF_MODEL_TYPES)[Arch];
/** What growbert's exports before 0.x called the pre-LN layout (BERT names, no offset); still read. */
export const LEGACY_PRENORM_MODEL_TYPE = 'growbert-prenorm';
/** The architectures entry of an exported masked-LM config.json, per arch. */
export const HF_MLM_ARCHITECTURES: Record<Arch, string> = {
  bert: 'BertForMaskedLM',
  prenorm: 'RobertaPreLayerNormForMaskedLM',
};

/** The fields of a Hugging Face BERT config.json that growbert reads and writes. */
export interface HfBertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  layer_norm_eps: number;
  initializer_range: number;
  hidden_act: string;
  pad_token_id: number;
  model_type: HfModelType | typeof LEGACY_PRENORM_MODEL_TYPE;
  architectures: string[];
  tie_word_embeddings?: boolean;
  /** growbert extras, written only when not the default (a pooled or factorized model) */
  growbert_pooling_size?: number;
  growbert_ffn_rank?: number;
  [other: string]: unknown;
}

/** config.json for Hugging Face (the arch's masked LM unless another architecture is named). */
export function toHfConfig(c: BertConfig, architectures = [HF_MLM_ARCHITECTURES[c.arch]]): HfBertConfig {
  const hf: HfBertConfig = {
    architectures,
    model_type: HF_MODEL_TYPES[c.arch],
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    intermediate_size: c.intermediateSize,
    // RobertaPreLayerNorm's table holds the pad_token_id + 1 rows its position ids skip
    max_position_embeddings: c.maxPositionEmbeddings + (c.arch === 'prenorm' ? positionOffset(c.padTokenId) : 0),
    type_vocab_size: c.typeVocabSize,
    hidden_dropout_prob: c.hiddenDropoutProb,
    attention_probs_dropout_prob: c.attentionProbsDropoutProb,
    layer_norm_eps: c.layerNormEps,
    initializer_range: c.initializerRange,
    hidden_act: c.hiddenAct,
    pad_token_id: c.padTokenId,
    tie_word_embeddings: true,
  };
  if (c.poolingSize !== 1) hf.growbert_pooling_size = c.poolingSize;
  if (c.ffnRank !== 0) hf.growbert_ffn_rank = c.ffnRank;
  return hf;
}

/** Reads a Hugging Face BERT config.json object (unknown fields are ignored). */
export function fromHfConfig(hf: Record<string, unknown>): BertConfig {
  const types = Object.entries(HF_MODEL_TYPES) as [Arch, string][];
  const legacy = hf.model_type === LEGACY_PRENORM_MODEL_TYPE;
  const arch =
    hf.model_type === undefined ? 'bert' : legacy ? 'prenorm' : types.find(([, t]) => t === hf.model_type)?.[0];
  if (!arch) {
    throw new GrowbertError(
      `config.json has model_type '${String(hf.model_type)}'; growbert reads 'bert' and '${HF_MODEL_TYPES.prenorm}' (pre-LN) configs only`,
    );
  }
  const act = hf.hidden_act ?? 'gelu';
  if (act !== 'gelu' && act !== 'gelu_new') {
    throw new GrowbertError(
      `config.json has hidden_act '${String(act)}'; growbert supports 'gelu' (erf) and 'gelu_new' (tanh)`,
    );
  }
  const pick = <T>(key: string): T | undefined =>
    hf[key] === undefined || hf[key] === null ? undefined : (hf[key] as T);
  if (arch === 'prenorm' && !legacy) checkRobertaPreLN(hf);
  const positions = pick<number>('max_position_embeddings');
  const shift = arch === 'prenorm' && !legacy ? positionOffset(pick<number>('pad_token_id') ?? 0) : 0;
  return bertConfig({
    arch,
    vocabSize: pick<number>('vocab_size')!,
    hiddenSize: pick<number>('hidden_size')!,
    numHiddenLayers: pick<number>('num_hidden_layers')!,
    numAttentionHeads: pick<number>('num_attention_heads')!,
    intermediateSize: pick<number>('intermediate_size')!,
    maxPositionEmbeddings: positions === undefined ? undefined : positions - shift,
    typeVocabSize: pick('type_vocab_size'),
    hiddenDropoutProb: pick('hidden_dropout_prob'),
    attentionProbsDropoutProb: pick('attention_probs_dropout_prob'),
    layerNormEps: pick('layer_norm_eps'),
    initializerRange: pick('initializer_range'),
    hiddenAct: act,
    padTokenId: pick('pad_token_id'),
    poolingSize: pick('growbert_pooling_size'),
    ffnRank: pick('growbert_ffn_rank'),
  });
}

/**
 * What of a RobertaPreLayerNorm config growbert's pre-LN model cannot compute: its MLM head's
 * activation is always erf gelu (growbert's follows hidden_act), and only absolute positions.
 */
function checkRobertaPreLN(hf: Record<string, unknown>): void {
  if ((hf.hidden_act ?? 'gelu') !== 'gelu')
    throw new GrowbertError(
      `config.json: a ${HF_MODEL_TYPES.prenorm} model with hidden_act '${String(hf.hidden_act)}' has an erf-gelu MLM head growbert cannot match; growbert reads it with hidden_act 'gelu' only`,
    );
  const pe = hf.position_embedding_type ?? 'absolute';
  if (pe !== 'absolute')
    throw new GrowbertError(
      `config.json has position_embedding_type '${String(pe)}'; growbert computes 'absolute' positions only`,
    );
}
