// What a Hugging Face BERT folder looks like, in one place: the config.json and
// tokenizer_config.json key sets that `save_pretrained` writes (taken from the transformers
// 5.17 reference fixtures in shared/data/hf-fixtures), the vocabulary check every loader runs,
// and the write-a-folder-by-renaming helper that export and import share.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from '../io/errors.js';
import { writeOutAtomically } from '../io/out-guard.js';
import { HF_MLM_ARCHITECTURES, TOKENIZER, toHfConfig, type BertConfig } from '../model/index.js';

/**
 * The transformers release whose save_pretrained layout growbert reproduces (and checks against
 * in test/export/). HF writes its own version into config.json; we write this one because it is
 * the layout we match, not a version we ran.
 */
export const HF_LAYOUT_VERSION = '5.17.0';

/** Files of the model folder export writes (tokenizer files come from BertTokenizer.save). */
export const HF_MODEL_FILES = ['config.json', 'model.safetensors'] as const;
export const HF_TOKENIZER_FILES = ['vocab.txt', 'tokenizer.json', 'tokenizer_config.json'] as const;

/** JSON as Python's json.dumps(indent=2, sort_keys=True) writes it, which is how HF saves configs. */
export function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2) + '\n';
}

/**
 * config.json for a plain BERT: toHfConfig's fields plus the generic PretrainedConfig keys HF
 * writes for every model, so the key set equals the fixture's. The config must already be the
 * plain BERT (poolingSize 1, ffnRank 0): the growbert_* extras have no meaning to HF.
 */
export function hfModelConfig(c: BertConfig, architectures = [HF_MLM_ARCHITECTURES[c.arch]]): Record<string, unknown> {
  if (c.poolingSize !== 1 || c.ffnRank !== 0)
    throw new Error('hfModelConfig: convert to a plain BERT (poolingSize 1, ffnRank 0) first');
  return {
    ...toHfConfig(c, architectures),
    add_cross_attention: false,
    bos_token_id: null,
    classifier_dropout: null,
    dtype: 'float32',
    eos_token_id: null,
    is_decoder: false,
    transformers_version: HF_LAYOUT_VERSION,
    use_cache: true,
  };
}

/**
 * tokenizer_config.json with the keys BertTokenizerFast.save_pretrained writes. growbert's
 * tokenizers are uncased BERT WordPiece; model_max_length is the model's position count (HF
 * writes a huge sentinel when it does not know one; we do know it).
 */
export function hfTokenizerConfig(modelMaxLength: number, lowercase = true): Record<string, unknown> {
  return {
    backend: 'tokenizers',
    cls_token: '[CLS]',
    do_lower_case: lowercase,
    mask_token: '[MASK]',
    model_max_length: modelMaxLength,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: TOKENIZER.hfClass,
    unk_token: '[UNK]',
  };
}

/**
 * Every token id must index a row of the embedding table. A tokenizer with fewer tokens than
 * the model's vocab_size is fine (HF models often pad the table to a round size); more is not.
 */
export function checkTokenizerFits(
  tokenizerSize: number,
  tokenizerFile: string,
  modelVocab: number,
  modelFile: string,
): void {
  if (tokenizerSize > modelVocab) {
    throw new GrowbertError(
      `tokenizer ${tokenizerFile} has ${tokenizerSize} tokens but the model ${modelFile} has vocab_size ${modelVocab}; they do not match: use the tokenizer the model was trained with`,
    );
  }
}

/**
 * Builds a folder in a temp sibling and moves it to `out`, so a crash never leaves half a
 * folder; the shared output guard (src/io/out-guard.ts) decides what may be replaced: `protect`
 * lists the inputs (compared as real paths) that `out` must neither be, contain nor lie in; a
 * non-empty `out` must be an own earlier output (`owns`), replaced only with `force`, and then
 * only its `owned` entries.
 */
export function writeFolderAtomically(
  out: string,
  opts: {
    force?: boolean;
    protect?: (string | undefined)[];
    kind: string;
    owns: (dir: string) => boolean;
    owned: readonly string[] | ((dir: string) => readonly string[]);
    foreign?: (dir: string) => string | null;
  },
  fill: (tmp: string) => void,
): string {
  const { protect, ...rest } = opts;
  return writeOutAtomically({ out, inputs: protect, ...rest }, fill);
}

/**
 * The marker export writes into its folder: only a folder that has it is an earlier export, and
 * `--force` replaces only the files it lists. A Hugging Face model of the user's (a fine-tuned
 * model, say) has every file an export has, but never this one, so it is never replaced.
 */
export const EXPORT_MARKER = '.growbert-export';

/** Writes the export marker into `dir`, listing `files` (the ones export wrote). */
export function writeExportMarker(dir: string, files: readonly string[]): void {
  const marker = { kind: 'growbert-export', version: 1, created: new Date().toISOString(), files: [...files] };
  fs.writeFileSync(path.join(dir, EXPORT_MARKER), JSON.stringify(marker, null, 2) + '\n');
}

/** The files an earlier export in `dir` wrote (with the marker), or null when growbert did not export it. */
export function exportedFiles(dir: string): string[] | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, EXPORT_MARKER), 'utf8')) as { kind?: unknown; files?: unknown };
    if (m.kind !== 'growbert-export' || !Array.isArray(m.files)) return null;
    const known: readonly string[] = [...HF_MODEL_FILES, ...HF_TOKENIZER_FILES];
    return [...m.files.filter((f): f is string => known.includes(f as string)), EXPORT_MARKER];
  } catch {
    return null;
  }
}

/** An HF model folder that growbert exported (it has the export marker). */
export function isHfModelFolder(dir: string): boolean {
  return exportedFiles(dir) !== null;
}

/** A Hugging Face model folder of any origin: config.json and model.safetensors. */
export function hasHfModelFiles(dir: string): boolean {
  return HF_MODEL_FILES.every((f) => fs.existsSync(path.join(dir, f)));
}
