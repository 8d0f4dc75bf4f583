// `growbert export`: a run's latest checkpoint (or a given checkpoint) as a Hugging Face BERT
// folder that `BertForMaskedLM.from_pretrained` / `AutoTokenizer.from_pretrained` read:
//   config.json, model.safetensors, vocab.txt, tokenizer.json, tokenizer_config.json
// laid out exactly as transformers' save_pretrained does (same tensor names, order and header
// format; tied decoder not stored; same config and tokenizer_config keys). HF's 5.x tokenizer
// save writes no special_tokens_map.json, so neither do we.
//
// Low-cost stages export as the BERT they grow into: length pooling has no parameters (the same
// weights run unpooled), and a factorized FFN is multiplied out, W = B·A. The pre-LN arch exports
// as transformers' RobertaPreLayerNormForMaskedLM (names and position offset: src/model/hf-names.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BertTokenizer } from '../data/tokenizer.js';
import { atomicWriteFile } from '../io/atomic.js';
import { GrowbertError } from '../io/errors.js';
import {
  HF_MODEL_TYPES,
  POSITION_EMBEDDINGS,
  factorizedToDense,
  positionOffset,
  toHfName,
  type BertConfig,
  type HfLayout,
} from '../model/index.js';
import { cat, saveSafetensors, tidy, zeros, type Tensor } from '../tensor/index.js';
import { loadRunModel } from '../train/run-dir.js';
import {
  checkTokenizerFits,
  hfModelConfig,
  hfTokenizerConfig,
  isHfModelFolder,
  exportedFiles,
  hasHfModelFiles,
  writeExportMarker,
  sortedJson,
  writeFolderAtomically,
} from './hf-files.js';

export interface ExportResult {
  out: string;
  checkpoint: string;
  /** the config written (the plain BERT) */
  config: BertConfig;
  tensors: number;
  parameters: number;
  /** what was converted on the way, for the user */
  notes: string[];
}

/**
 * The tokenizer files HF expects, into `dir`: BertTokenizer.save's three files, with
 * tokenizer_config.json rewritten to HF's key set (casing read back from tokenizer.json).
 */
export function writeHfTokenizer(tokenizer: BertTokenizer, dir: string, modelMaxLength: number): void {
  tokenizer.save(dir);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as {
    normalizer?: { lowercase?: boolean } | null;
  };
  const lowercase = json.normalizer?.lowercase ?? true;
  atomicWriteFile(path.join(dir, 'tokenizer_config.json'), sortedJson(hfTokenizerConfig(modelMaxLength, lowercase)));
}

/**
 * A plain-BERT state dict (float32, HF names) sorted by name, which is the order the Rust
 * safetensors writer uses for same-dtype tensors: the file then matches HF's byte for byte.
 * New tensors made here (multiplied-out FFN weights) are listed in `created` for disposal.
 */
export function plainBertState(
  stateDict: Map<string, Tensor>,
  config: BertConfig,
): { tensors: Map<string, Tensor>; created: Tensor[] } {
  const dense = config.ffnRank > 0 ? factorizedToDense(stateDict) : stateDict;
  const created = [...dense.values()].filter((t) => ![...stateDict.values()].includes(t));
  const names = [...dense.keys()].sort();
  return { tensors: new Map(names.map((n) => [n, dense.get(n)!])), created };
}

/**
 * The tensor layout an arch exports in. Pre-LN is RobertaPreLayerNorm, whose MLM head always
 * applies erf gelu: a model with another activation would load there and compute something else.
 */
export function exportLayout(c: BertConfig): HfLayout {
  if (c.arch === 'bert') return 'bert';
  if (c.hiddenAct !== 'gelu')
    throw new GrowbertError(
      `cannot export a pre-LN model with hidden_act '${c.hiddenAct}': transformers' RobertaPreLayerNorm MLM head computes erf gelu, so its logits would differ; export models trained with hiddenAct 'gelu'`,
    );
  return 'roberta-prelayernorm';
}

/** growbert's position table [L, H] as RobertaPreLayerNorm's [offset + L, H] (the skipped rows are zero). */
export function shiftPositions(table: Tensor, offset: number): Tensor {
  return tidy(() => cat([zeros([offset, table.shape[1]!], { dtype: table.dtype }), table], 0));
}

/** Writes the HF folder for `runOrCkpt` into `out` (atomically; refuses a non-empty `out` unless force). */
export function exportRunToHf(runOrCkpt: string, out: string, opts: { force?: boolean } = {}): ExportResult {
  const { model, config, tokenizer, checkpoint, run } = loadRunModel(runOrCkpt);
  const notes: string[] = [];
  try {
    checkTokenizerFits(
      tokenizer.vocabSize,
      run.paths.tokenizerFile,
      config.vocabSize,
      path.join(checkpoint, 'model.safetensors'),
    );
    if (config.poolingSize > 1)
      notes.push(
        `length pooling (poolingSize ${config.poolingSize}) dropped: it has no parameters, the model exports as the unpooled BERT`,
      );
    if (config.ffnRank > 0)
      notes.push(
        `factorized FFN (rank ${config.ffnRank}) multiplied out into dense ${config.intermediateSize}x${config.hiddenSize} matrices`,
      );
    const layout = exportLayout(config);
    if (layout !== 'bert')
      notes.push(
        `arch ${config.arch}: written as transformers' ${HF_MODEL_TYPES[config.arch]} (RobertaPreLayerNormForMaskedLM; position table shifted by pad_token_id + 1 rows), docs/export.md`,
      );
    const plain: BertConfig = { ...config, poolingSize: 1, ffnRank: 0 };
    const sd = model.stateDict();
    const { tensors: own, created } = plainBertState(sd, config);
    if (layout !== 'bert') {
      const shifted = shiftPositions(own.get(POSITION_EMBEDDINGS)!, positionOffset(config.padTokenId));
      own.set(POSITION_EMBEDDINGS, shifted);
      created.push(shifted);
    }
    // the model family's export names (src/model/hf-names.ts), in the sorted order HF writes
    const tensors = new Map(
      [...own].map(([n, t]) => [toHfName(n, layout), t] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    let parameters = 0;
    for (const t of tensors.values()) parameters += t.numel;
    try {
      const target = writeFolderAtomically(
        out,
        {
          force: opts.force,
          protect: [run.dir, checkpoint],
          kind: 'a Hugging Face model growbert exported',
          owns: isHfModelFolder,
          owned: (dir) => exportedFiles(dir) ?? [],
          foreign: (dir) =>
            hasHfModelFiles(dir)
              ? `--out ${out} holds a Hugging Face model growbert did not export; it is never replaced, not even with --force: choose another --out`
              : null,
        },
        (tmp) => {
          saveSafetensors(path.join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
          atomicWriteFile(path.join(tmp, 'config.json'), sortedJson(hfModelConfig(plain)));
          writeHfTokenizer(tokenizer, tmp, plain.maxPositionEmbeddings);
          writeExportMarker(tmp, fs.readdirSync(tmp));
        },
      );
      return { out: target, checkpoint, config: plain, tensors: tensors.size, parameters, notes };
    } finally {
      for (const t of [...sd.values(), ...created]) t.dispose();
    }
  } finally {
    model.dispose();
  }
}
