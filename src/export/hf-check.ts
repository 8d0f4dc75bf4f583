// A Hugging Face folder's config.json checked against its weights before anything is allocated:
// every size the config gives (vocab_size, hidden_size, max_position_embeddings,
// type_vocab_size, num_hidden_layers, intermediate_size) is compared with the shapes in the
// safetensors headers (read without the data), the weights' dtypes are ones a BERT's parameters
// can have, and the model must fit in this machine's memory. A config of num_hidden_layers 1e9
// or vocab_size 1e12 used to reach libtorch's allocator (a stack trace, or memory growing without
// bound); now it is one line naming the field and what the weights say.
import * as os from 'node:os';
import { GrowbertError } from '../io/errors.js';
import { readSafetensorsHeader, type SafeDtype } from '../io/safetensors.js';
import {
  POSITION_EMBEDDINGS,
  TIED_DECODER_WEIGHT,
  WORD_EMBEDDINGS,
  layerParamName,
  mapHfName,
  positionOffset,
  splitLayerName,
  type BertConfig,
  type HfLayout,
} from '../model/index.js';

/** Float dtypes import reads (converted to growbert's float32 master weights). */
const FLOATS: readonly SafeDtype[] = ['F32', 'F16', 'BF16', 'F64'];
const GiB = 1024 ** 3;

export interface CheckedWeights {
  /** per file, the raw names to load (encoder, MLM head, pooler, classifier, the tied decoder) */
  load: Map<string, string[]>;
  /** tensors that are neither BERT encoder, MLM head, pooler nor classifier (not loaded) */
  other: string[];
  /** what was converted, for the user */
  notes: string[];
}

interface Seen {
  file: string;
  raw: string;
  shape: number[];
}

/**
 * Reads the headers of `files` and checks them against `config` (read from `cfgFile`); throws a
 * one-line GrowbertError on the first size that does not match, a weight that is not floating
 * point, or a model too large for this machine.
 */
export function checkHfWeights(cfgFile: string, config: BertConfig, layout: HfLayout, files: string[]): CheckedWeights {
  const load = new Map<string, string[]>();
  const byName = new Map<string, Seen>();
  const dtypes = new Set<SafeDtype>();
  const other: string[] = [];
  let elements = 0;
  let layers = 0;
  for (const file of files) {
    const names: string[] = [];
    for (const t of readSafetensorsHeader(file).tensors) {
      const { to, name } = mapHfName(t.name, layout);
      if (to === 'other') other.push(t.name);
      if (to === 'other' || (to === 'skip' && name !== TIED_DECODER_WEIGHT)) continue; // never loaded
      if (!FLOATS.includes(t.dtype))
        throw new GrowbertError(
          `${file}: tensor ${t.name} is ${t.dtype}, but a BERT's weights are floating point (F32, F16, BF16 or F64); this is not a checkpoint growbert can import: re-save the model with save_pretrained`,
        );
      dtypes.add(t.dtype);
      names.push(t.name);
      elements += t.shape.reduce((a, b) => a * b, 1);
      byName.set(name, { file, raw: t.name, shape: t.shape });
      const { layer } = splitLayerName(name);
      if (layer >= 0) layers = Math.max(layers, layer + 1);
    }
    load.set(file, names);
  }
  checkSizes(cfgFile, config, layout, byName, layers);
  // the loaded tensors and the model built from them are both in memory (float32) for a moment
  const need = 2 * 4 * elements;
  if (need > os.totalmem())
    throw new GrowbertError(
      `${cfgFile}: the model has ${elements} parameters; importing needs about ${(need / GiB).toFixed(1)} GiB, more than this machine's ${(os.totalmem() / GiB).toFixed(1)} GiB: import it on a machine with more memory`,
    );
  const notes: string[] = [];
  const half = [...dtypes].filter((d) => d === 'F16' || d === 'BF16');
  if (half.length) notes.push(`${half.join(' and ')} (half-precision) weights converted to float32 (exact)`);
  if (dtypes.has('F64'))
    notes.push('F64 (double-precision) weights converted to float32: each value rounded to the nearest float32');
  return { load, other, notes };
}

function checkSizes(cfgFile: string, c: BertConfig, layout: HfLayout, seen: Map<string, Seen>, layers: number): void {
  const shift = layout === 'bert' ? 0 : positionOffset(c.padTokenId);
  const mismatch = (field: string, given: number, has: number, s: Seen, detail: string): GrowbertError =>
    new GrowbertError(
      `${cfgFile} gives ${field} ${given}, but the weights in ${s.file} have ${has} (${detail}); the config does not belong to these weights: use the config.json saved with them`,
    );
  const dim = (name: string, axis: number, field: string, given: number): void => {
    const s = seen.get(name);
    const has = s?.shape[axis];
    if (s && has !== given) throw mismatch(field, given, has ?? 0, s, `${s.raw} is [${s.shape.join(', ')}]`);
  };
  dim(WORD_EMBEDDINGS, 1, 'hidden_size', c.hiddenSize);
  dim(WORD_EMBEDDINGS, 0, 'vocab_size', c.vocabSize);
  // config.json's max_position_embeddings counts the rows RobertaPreLayerNorm skips (shift)
  dim(POSITION_EMBEDDINGS, 0, 'max_position_embeddings', c.maxPositionEmbeddings + shift);
  dim('bert.embeddings.token_type_embeddings.weight', 0, 'type_vocab_size', c.typeVocabSize);
  dim(layerParamName(0, 'attention.self.query.weight'), 1, 'hidden_size', c.hiddenSize);
  dim(layerParamName(0, 'intermediate.dense.weight'), 0, 'intermediate_size', c.intermediateSize);
  if (layers > 0 && layers !== c.numHiddenLayers) {
    const any = [...seen.values()].find((s) => splitLayerName(mapHfName(s.raw, layout).name).layer === layers - 1)!;
    throw mismatch('num_hidden_layers', c.numHiddenLayers, layers, any, `encoder layers 0 to ${layers - 1}`);
  }
}
