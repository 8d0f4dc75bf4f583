// The Hugging Face name adapter: growbert's parameter names are those of Hugging Face's
// BertForMaskedLM state dict, so export writes them as they are; import maps the names other
// BERT checkpoints use (BertModel without the `bert.` prefix, the tied decoder and its bias alias,
// TF-converted gamma/beta, pooler and classifier) onto them. The pre-LN variant uses the same
// names plus its own LayerNorms (family.ts), and travels in the same layout.
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

/** Where a Hugging Face tensor name goes, under growbert's (= BertForMaskedLM's) name. */
export function mapHfName(raw: string): { to: HfTarget; name: string } {
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

/** The name export writes for a parameter: growbert's names are already Hugging Face's. */
export function toHfName(name: string): string {
  return name;
}
