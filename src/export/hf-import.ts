// Reading Hugging Face BERT folders (config.json + model.safetensors), and `growbert import`,
// which turns one into a growbert run so a small BERT someone already has can be grown.
//
// Accepted checkpoints: BertForMaskedLM / BertForPreTraining (`bert.*` + `cls.predictions.*`),
// BertModel (no `bert.` prefix), BertForSequenceClassification (`bert.*` + `bert.pooler.*` +
// `classifier.*`), old TF-converted names (LayerNorm `gamma`/`beta`), and the pre-LN
// RobertaPreLayerNorm classes, in one model.safetensors or sharded (the index). An untied MLM
// decoder that differs from the embeddings is refused: growbert's head is tied. The pooler and
// classifier are returned separately (fine-tuning can use them); an absent MLM head is
// initialized and reported.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BertTokenizer } from '../data/tokenizer.js';
import { GrowbertError } from '../io/errors.js';
import { readInputText } from '../io/input-file.js';
import {
  BertForMaskedLM,
  HF_MODEL_TYPES,
  POSITION_EMBEDDINGS,
  PRESETS,
  TIED_DECODER_WEIGHT,
  WORD_EMBEDDINGS,
  fromHfConfig,
  isMlmHeadParam,
  mapHfName,
  positionOffset,
  type BertConfig,
  type HfLayout,
  type PresetName,
} from '../model/index.js';
import { dispose, loadSafetensors, tidy, type Device, type Tensor } from '../tensor/index.js';
import { TRAIN_PRESETS, parseConfig, type PretrainConfigInput } from '../train/config.js';
import { RunDir } from '../train/run-dir.js';
import { checkHfWeights } from './hf-check.js';
import { checkTokenizerFits, writeFolderAtomically } from './hf-files.js';

export interface HfModel {
  dir: string;
  /** model.safetensors, or the shard index: what error messages name */
  weightsFile: string;
  config: BertConfig;
  architectures: string[];
  /** tensors under BertForMaskedLM's names: bert.embeddings.*, bert.encoder.*, cls.predictions.* (float32, CPU) */
  weights: Map<string, Tensor>;
  /** bert.pooler.dense.{weight,bias} when the checkpoint has a pooler */
  pooler: Map<string, Tensor>;
  /** classifier.{weight,bias} of a BertForSequenceClassification */
  classifier: Map<string, Tensor>;
  /** what was skipped or converted, for the user */
  notes: string[];
}

/** Where a Hugging Face tensor name goes: the model family's name adapter (src/model/hf-names.ts). */
export { mapHfName };

function readJson(file: string): Record<string, unknown> {
  const text = readInputText(file, 'Hugging Face file');
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new GrowbertError(
      `${file} is not valid JSON (${(e as Error).message}); re-save the model with save_pretrained`,
    );
  }
}

/** The folder's safetensors weights: model.safetensors, or the shards model.safetensors.index.json lists. */
export function hfWeightFiles(dir: string): string[] {
  const single = path.join(dir, 'model.safetensors');
  if (fs.existsSync(single)) return [single];
  const index = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(index)) {
    const map = readJson(index).weight_map;
    const shards = map && typeof map === 'object' ? [...new Set(Object.values(map as object).map(String))] : [];
    if (!shards.length) throw new GrowbertError(`${index} has no weight_map; re-save the model with save_pretrained`);
    const files = shards.map((f) => path.join(dir, f));
    const lost = files.find((f) => path.dirname(path.resolve(f)) !== path.resolve(dir) || !fs.existsSync(f));
    if (lost)
      throw new GrowbertError(
        `${index} lists ${path.basename(lost)}, which is not in ${dir}; copy every shard the index names`,
      );
    return files;
  }
  const bin = fs.existsSync(path.join(dir, 'pytorch_model.bin'));
  throw new GrowbertError(
    `${dir} has no model.safetensors or model.safetensors.index.json${bin ? ' (only pytorch_model.bin)' : ''}; load it in transformers and save_pretrained it again (transformers 5 writes safetensors)`,
  );
}

/** The tensors `load` names (per file), and only those: other tensors of any dtype are never read. */
function loadWeights(load: Map<string, string[]>): Map<string, Tensor> {
  const all = new Map<string, Tensor>();
  try {
    for (const [f, names] of load) for (const [n, t] of loadSafetensors(f, names).tensors) all.set(n, t);
  } catch (e) {
    dispose(all);
    throw e;
  }
  return all;
}

/** Loads an HF BERT folder's config and weights (float32, CPU). The caller disposes the maps. */
export function readHfModel(dir: string): HfModel {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new GrowbertError(
      `${dir} is not a folder; pass a Hugging Face model folder (config.json + model.safetensors)`,
    );
  const cfgFile = path.join(dir, 'config.json');
  if (!fs.existsSync(cfgFile))
    throw new GrowbertError(
      `${dir} has no config.json; pass a Hugging Face model folder as written by save_pretrained`,
    );
  const files = hfWeightFiles(dir);
  const stFile = files.length === 1 ? files[0]! : path.join(dir, 'model.safetensors.index.json');
  const hf = readJson(cfgFile);
  let config: BertConfig;
  try {
    config = fromHfConfig(hf);
  } catch (e) {
    throw e instanceof GrowbertError ? new GrowbertError(`${cfgFile}: ${e.message}`) : e;
  }
  const architectures = Array.isArray(hf.architectures) ? hf.architectures.map(String) : [];
  const notes: string[] = [];
  const layout: HfLayout = hf.model_type === HF_MODEL_TYPES.prenorm ? 'roberta-prelayernorm' : 'bert';
  // Every size of the config against the weights' shapes (headers only), their dtypes, and this
  // machine's memory, before anything is allocated (hf-check.ts).
  const checked = checkHfWeights(cfgFile, config, layout, files);
  notes.push(...checked.notes);
  const tensors = loadWeights(checked.load);
  const out: HfModel = {
    dir,
    weightsFile: stFile,
    config,
    architectures,
    weights: new Map(),
    pooler: new Map(),
    classifier: new Map(),
    notes,
  };
  const other = checked.other;
  let decoderWeight: Tensor | undefined;
  for (const [raw, t0] of tensors) {
    const { to, name } = mapHfName(raw, layout);
    if (to === 'skip' || to === 'other') {
      if (name === TIED_DECODER_WEIGHT) decoderWeight = t0;
      else t0.dispose();
      continue;
    }
    // F16, BF16 and F64 checkpoints load into growbert's float32 master weights (noted by hf-check)
    const t = t0.dtype === 'float32' ? t0 : tidy(() => t0.float());
    if (t !== t0) t0.dispose();
    const map = to === 'mlm' ? out.weights : to === 'pooler' ? out.pooler : out.classifier;
    // The decoder's bias is what transformers computes with: normally an alias of
    // cls.predictions.bias, but its own tensor in an untied model, so it wins.
    const decoderBias = raw.endsWith('decoder.bias');
    if (map.has(name) && !decoderBias) t.dispose();
    else {
      map.get(name)?.dispose();
      map.set(name, t);
    }
  }
  if (other.length)
    notes.push(
      `ignored ${other.length} tensor(s) that are not BERT encoder, pooler, MLM head or classifier: ${other.slice(0, 3).join(', ')}${other.length > 3 ? ', ...' : ''}`,
    );
  const word = out.weights.get(WORD_EMBEDDINGS);
  const untied = decoderWeight !== undefined && !(word !== undefined && sameValues(decoderWeight, word));
  decoderWeight?.dispose();
  const fail = (msg: string) => {
    dispose([out.weights, out.pooler, out.classifier]);
    return new GrowbertError(msg);
  };
  if (untied)
    throw fail(
      `${stFile} has an untied MLM decoder weight (tie_word_embeddings false) that differs from the word embeddings; growbert's MLM head is tied, so it cannot hold this model's predictions: save only its encoder (model.base_model.save_pretrained(DIR)) and import that (the MLM head is then initialized)`,
    );
  if (!word)
    throw fail(
      `${stFile} has no BERT embeddings (bert.embeddings.word_embeddings.weight or embeddings.word_embeddings.weight); is it a BERT checkpoint?`,
    );
  if (layout !== 'bert') unshiftPositions(out.weights, positionOffset(config.padTokenId), config);
  return out;
}

function sameValues(a: Tensor, b: Tensor): boolean {
  return a.shape.join() === b.shape.join() && tidy(() => a.float().equal(b));
}

/** RobertaPreLayerNorm's position table without the rows its position ids skip (hf-names.ts). */
function unshiftPositions(weights: Map<string, Tensor>, offset: number, c: BertConfig): void {
  const t = weights.get(POSITION_EMBEDDINGS);
  if (!t) return; // reported as a missing encoder tensor by hfMaskedLM
  weights.set(
    POSITION_EMBEDDINGS,
    tidy(() => t.narrow(0, offset, c.maxPositionEmbeddings).contiguous()),
  );
  t.dispose();
}

/**
 * A BertForMaskedLM holding the checkpoint's weights. Every encoder tensor must be present;
 * a missing MLM head is initialized (seeded) and noted.
 */
export function hfMaskedLM(
  hf: HfModel,
  o: { device?: Device; seed?: number } = {},
): { model: BertForMaskedLM; notes: string[] } {
  const file = hf.weightsFile;
  const model = new BertForMaskedLM(hf.config, { device: o.device, seed: o.seed ?? 0 });
  try {
    const { missing, unexpected } = model.loadStateDict(hf.weights, { strict: false });
    const lacking = missing.filter((n) => !isMlmHeadParam(n));
    const list = (xs: string[]) => `${xs.slice(0, 3).join(', ')}${xs.length > 3 ? ', ...' : ''}`;
    if (lacking.length)
      throw new GrowbertError(
        `${file} lacks ${lacking.length} encoder tensor(s) (${list(lacking)}); is it a complete BERT checkpoint?`,
      );
    if (unexpected.length)
      throw new GrowbertError(
        `${file} has ${unexpected.length} tensor(s) that config.json does not describe (${list(unexpected)}); check num_hidden_layers and the other sizes`,
      );
    const notes: string[] = [];
    if (missing.length)
      notes.push(
        `no MLM head in ${file} (${hf.architectures.join(', ') || 'unknown architecture'}): cls.predictions initialized (seed ${o.seed ?? 0}); pre-train before using its predictions`,
      );
    return { model, notes };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * The tokenizer of an HF folder (tokenizer.json preferred, else vocab.txt), or `override`.
 * A cased vocab.txt alone is refused: growbert's vocab.txt tokenizer lowercases.
 */
export function hfTokenizer(dir: string, override?: string): { tokenizer: BertTokenizer; file: string } {
  if (override) return { tokenizer: BertTokenizer.fromFile(override), file: override };
  const json = path.join(dir, 'tokenizer.json');
  if (fs.existsSync(json)) return { tokenizer: BertTokenizer.fromFile(json), file: json };
  const vocab = path.join(dir, 'vocab.txt');
  if (fs.existsSync(vocab)) {
    const tc = path.join(dir, 'tokenizer_config.json');
    if (fs.existsSync(tc) && readJson(tc).do_lower_case === false) {
      throw new GrowbertError(
        `${dir} has a cased vocab.txt and no tokenizer.json; growbert reads vocab.txt as uncased: save the tokenizer with a fast tokenizer (tokenizer.json) or pass --tokenizer`,
      );
    }
    return { tokenizer: BertTokenizer.fromFile(vocab), file: vocab };
  }
  throw new GrowbertError(
    `${dir} has neither tokenizer.json nor vocab.txt; pass --tokenizer FILE (the model's vocab.txt or tokenizer.json)`,
  );
}

/** The preset whose hidden size is nearest: it supplies training defaults (batch, lr, steps). */
function nearestPreset(c: BertConfig): PresetName {
  const names = Object.keys(PRESETS) as PresetName[];
  return names.reduce(
    (best, n) =>
      Math.abs(PRESETS[n].hiddenSize - c.hiddenSize) < Math.abs(PRESETS[best].hiddenSize - c.hiddenSize) ? n : best,
    names[0],
  );
}

/** A minimal pre-training config for continuing from the imported model (validated by the schema). */
export function importedRunConfig(
  c: BertConfig,
  tokenizerFile: string,
  tokenizerSize: number,
  runDir: string,
): PretrainConfigInput {
  const preset = nearestPreset(c);
  // every model field but the vocabulary's, which the tokenizer sets (the pad id is BERT's 0)
  const { vocabSize: _v, padTokenId: _p, ...model } = c;
  const input: PretrainConfigInput = {
    preset,
    model,
    data: {
      tokenizer: tokenizerFile,
      vocabSize: tokenizerSize,
      seqLength: Math.min(TRAIN_PRESETS[preset].seqLength, c.maxPositionEmbeddings),
    },
    out: runDir,
  };
  parseConfig(input, 'imported run config');
  return input;
}

export interface ImportResult {
  out: string;
  checkpoint: string;
  config: BertConfig;
  notes: string[];
}

/** `growbert import`: an HF folder -> a run folder with config.json, tokenizer/ and a step-0 checkpoint. */
export function importHfToRun(
  dir: string,
  out: string,
  opts: { tokenizer?: string; force?: boolean; seed?: number } = {},
): ImportResult {
  const hf = readHfModel(dir);
  try {
    const { tokenizer, file: tokFile } = hfTokenizer(dir, opts.tokenizer);
    checkTokenizerFits(tokenizer.vocabSize, tokFile, hf.config.vocabSize, hf.weightsFile);
    const notes = [...hf.notes];
    if (tokenizer.vocabSize < hf.config.vocabSize)
      notes.push(
        `tokenizer has ${tokenizer.vocabSize} tokens, the model ${hf.config.vocabSize} embedding rows: rows ${tokenizer.vocabSize}.. are kept but unused`,
      );
    if (hf.pooler.size)
      notes.push(
        'pooler (bert.pooler.*) not imported: pre-training does not use it; fine-tune with --model to keep it',
      );
    if (hf.classifier.size)
      notes.push('classifier (classifier.*) not imported: a run holds the pre-trained encoder only');
    const { model, notes: loadNotes } = hfMaskedLM(hf, { seed: opts.seed });
    notes.push(...loadNotes);
    try {
      const target = path.resolve(out);
      let checkpoint = '';
      writeFolderAtomically(
        out,
        {
          force: opts.force,
          protect: [dir, opts.tokenizer],
          kind: 'a growbert run',
          owns: (d) => new RunDir(d).isRun(),
          // read after a killed replacement is finished or undone (out-swap.ts): only what growbert claimed
          owned: (d) => new RunDir(d).ownedEntries(),
        },
        (tmp) => {
          const run = new RunDir(tmp);
          run.claim(true); // every entry of the new run is growbert's
          run.saveTokenizer(tokenizer);
          const cfg = importedRunConfig(hf.config, new RunDir(target).paths.tokenizerFile, tokenizer.vocabSize, target);
          run.writeConfig(cfg);
          const sd = model.stateDict();
          try {
            const trainer = { step: 0, tokens: 0, modelConfig: hf.config, importedFrom: path.resolve(dir) };
            checkpoint = path.basename(run.saveCheckpoint(0, { model: sd, optimizer: new Map(), trainer }));
          } finally {
            dispose(sd);
          }
        },
      );
      return {
        out: target,
        checkpoint: path.join(new RunDir(target).paths.checkpoints, checkpoint),
        config: hf.config,
        notes,
      };
    } finally {
      model.dispose();
    }
  } finally {
    dispose([hf.weights, hf.pooler, hf.classifier]);
  }
}
