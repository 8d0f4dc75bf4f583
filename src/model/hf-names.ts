// The Hugging Face name adapter: growbert's parameter names are those of Hugging Face's
// BertForMaskedLM state dict, so export writes them as they are; import maps the names other
// BERT checkpoints use (BertModel without the `bert.` prefix, the tied decoder and its bias alias,
// TF-converted gamma/beta, pooler and classifier) onto them. The pre-LN variant uses the same
// names plus its own LayerNorms (family.ts) inside growbert, and travels in transformers' own pre-LN
// BERT layout, RobertaPreLayerNorm (roberta_prelayernorm.* / lm_head.*, position table shifted by
// pad_token_id + 1 rows: RoBERTa counts positions from there), so stock transformers loads it.
// Like family.ts, this is the only place outside bert.ts/prenorm.ts that spells such names.

/** Where an imported tensor goes. */
export type HfTarget = 'mlm' | 'pooler' | 'classifier' | 'skip' | 'other';

/** The word embedding table (also the tied decoder weight). */
export const WORD_EMBEDDINGS = 'bert.embeddings.word_embeddings.weight';
/** Hugging Face's tied decoder weight, and the alias it saves of the MLM output bias. */
export const TIED_DECODER_WEIGHT = 'cls.predictions.decoder.weight';
export const DECODER_BIAS_ALIAS = 'cls.predictions.decoder.bias';
export const MLM_BIAS = 'cls.predictions.bias';
/** A buffer older Hugging Face versions saved in the state dict. */
export const POSITION_IDS_BUFFER = 'bert.embeddings.position_ids';
/** Module names of BertForSequenceClassification's task head. */
export const POOLER_MODULE = 'bert.pooler.dense';
export const CLASSIFIER_MODULE = 'classifier';
export const CLASSIFIER_WEIGHT = `${CLASSIFIER_MODULE}.weight`;
export const CLASSIFIER_BIAS = `${CLASSIFIER_MODULE}.bias`;

const MLM_HEAD_PREFIX = 'cls.predictions.';

/** True for the masked-LM head's parameters (absent from encoder-only checkpoints). */
export function isMlmHeadParam(name: string): boolean {
  return name.startsWith(MLM_HEAD_PREFIX);
}

/** The two tensor layouts: BERT's (post-LN; growbert's names) and RobertaPreLayerNorm's (pre-LN). */
export type HfLayout = 'bert' | 'roberta-prelayernorm';
/** The position table, which the RobertaPreLayerNorm layout stores shifted by positionOffset rows. */
export const POSITION_EMBEDDINGS = 'bert.embeddings.position_embeddings.weight';
const ROBERTA_PREFIX = 'roberta_prelayernorm.';
/** growbert's MLM head names -> RobertaPreLayerNormLMHead's (its activation is always erf gelu). */
const ROBERTA_HEAD: [string, string][] = [
  ['cls.predictions.transform.dense.', 'lm_head.dense.'],
  ['cls.predictions.transform.LayerNorm.', 'lm_head.layer_norm.'],
  [MLM_BIAS, 'lm_head.bias'],
];
/** BERT's pooler + classifier are RobertaPreLayerNormClassificationHead's dense + out_proj (same function). */
const ROBERTA_TASK: [string, string][] = [
  [`${POOLER_MODULE}.`, 'classifier.dense.'],
  [`${CLASSIFIER_MODULE}.`, 'classifier.out_proj.'],
];

/**
 * RoBERTa's position ids start after the padding index (create_position_ids_from_input_ids), so
 * growbert's position p is row p + pad_token_id + 1 of the RobertaPreLayerNorm table.
 */
export function positionOffset(padTokenId: number): number {
  return padTokenId + 1;
}

const swapPrefix = (name: string, pairs: [string, string][], from: 0 | 1): string | undefined => {
  for (const pair of pairs) {
    if (name === pair[from] || (pair[from].endsWith('.') && name.startsWith(pair[from])))
      return pair[1 - from] + name.slice(pair[from].length);
  }
  return undefined;
};

/** Where a RobertaPreLayerNorm tensor name goes, under growbert's name. */
function mapRobertaName(raw: string): { to: HfTarget; name: string } {
  const n = raw.startsWith(ROBERTA_PREFIX) ? raw.slice(ROBERTA_PREFIX.length) : raw;
  if (n === 'embeddings.position_ids' || n === 'embeddings.token_type_ids') return { to: 'skip', name: n };
  if (['embeddings.', 'encoder.', 'LayerNorm.'].some((p) => n.startsWith(p))) return { to: 'mlm', name: `bert.${n}` };
  if (n.startsWith('pooler.')) return { to: 'pooler', name: `bert.${n}` };
  if (n === 'lm_head.decoder.weight') return { to: 'skip', name: TIED_DECODER_WEIGHT };
  if (n === 'lm_head.decoder.bias') return { to: 'mlm', name: MLM_BIAS };
  const head = swapPrefix(n, ROBERTA_HEAD, 1);
  if (head) return { to: 'mlm', name: head };
  const task = swapPrefix(n, ROBERTA_TASK, 1);
  if (task) return { to: task.startsWith(POOLER_MODULE) ? 'pooler' : 'classifier', name: task };
  return { to: 'other', name: raw };
}

/** Where a Hugging Face tensor name goes, under growbert's (= BertForMaskedLM's) name. */
export function mapHfName(raw: string, layout: HfLayout = 'bert'): { to: HfTarget; name: string } {
  if (layout === 'roberta-prelayernorm') return mapRobertaName(raw);
  // checkpoints converted from Google's TF code name LayerNorm parameters gamma / beta
  let n = raw.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  if (n.startsWith('bert.')) n = n.slice('bert.'.length);
  if (`bert.${n}` === POSITION_IDS_BUFFER) return { to: 'skip', name: n };
  // the encoder; `LayerNorm.` at the top is the pre-LN variant's final LayerNorm
  const encoder = ['embeddings.', 'encoder.', 'LayerNorm.'].some((p) => n.startsWith(p));
  if (encoder) return { to: 'mlm', name: `bert.${n}` };
  if (n.startsWith('pooler.')) return { to: 'pooler', name: `bert.${n}` };
  if (n === TIED_DECODER_WEIGHT) return { to: 'skip', name: n }; // tied to the word embeddings
  if (n === DECODER_BIAS_ALIAS) return { to: 'mlm', name: MLM_BIAS };
  if (isMlmHeadParam(n)) return { to: 'mlm', name: n };
  if (n.startsWith(`${CLASSIFIER_MODULE}.`)) return { to: 'classifier', name: n };
  return { to: 'other', name: raw };
}

/**
 * The name export writes for a parameter: in BERT's layout growbert's names are already Hugging
 * Face's; in RobertaPreLayerNorm's, `bert.` becomes `roberta_prelayernorm.` and the head `lm_head.`.
 */
export function toHfName(name: string, layout: HfLayout = 'bert'): string {
  if (layout === 'bert') return name;
  if (name.startsWith('bert.') && !name.startsWith(`${POOLER_MODULE}.`))
    return ROBERTA_PREFIX + name.slice('bert.'.length);
  const mapped = swapPrefix(name, [...ROBERTA_HEAD, ...ROBERTA_TASK], 0);
  if (!mapped) throw new Error(`toHfName: no RobertaPreLayerNorm name for '${name}'`);
  return mapped;
}
