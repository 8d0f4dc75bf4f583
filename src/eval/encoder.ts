// The pre-trained encoder that GLUE fine-tuning starts from: a growbert run (its latest
// checkpoint) or a Hugging Face folder. Both become the same thing: plain-BERT weights under
// BertForMaskedLM's names (a factorized FFN multiplied out, length pooling dropped, exactly as
// `growbert export` would write them), the tokenizer, and the pooler when the source has one.
// Weights stay on the CPU; each fine-tuning seed builds a fresh model from them on its device.
import * as path from 'node:path';
import type { BertTokenizer } from '../data/tokenizer.js';
import { GrowbertError } from '../io/errors.js';
import {
  BertForMaskedLM,
  CLASSIFIER_BIAS,
  CLASSIFIER_WEIGHT,
  isMlmHeadParam,
  type BertConfig,
} from '../model/index.js';
import { dispose, type Device, type Tensor } from '../tensor/index.js';
import { loadRunModel } from '../train/run-dir.js';
import { checkTokenizerFits } from '../export/hf-files.js';
import { plainBertState } from '../export/hf.js';
import { hfTokenizer, readHfModel } from '../export/hf-import.js';
import { BertForSequenceClassification } from './classifier.js';

export interface PretrainedEncoder {
  /** 'run' (growbert run or checkpoint folder) or 'hf' (Hugging Face folder) */
  kind: 'run' | 'hf';
  /** the folder given */
  source: string;
  /** the plain BERT (poolingSize 1, ffnRank 0) */
  config: BertConfig;
  /** float32 CPU tensors under BertForMaskedLM names; the MLM head may be absent */
  weights: Map<string, Tensor>;
  /** bert.pooler.dense.{weight,bias} when the source has a pooler (HF checkpoints often do) */
  pooler: Map<string, Tensor>;
  tokenizer: BertTokenizer;
  /** the checkpoint folder the weights came from (runs only) */
  checkpoint?: string;
  notes: string[];
}

/** The encoder of a run's latest checkpoint (or of a checkpoint folder). */
export function loadRunEncoder(runOrCkpt: string): PretrainedEncoder {
  const { model, config, tokenizer, checkpoint, run } = loadRunModel(runOrCkpt);
  try {
    checkTokenizerFits(
      tokenizer.vocabSize,
      run.paths.tokenizerFile,
      config.vocabSize,
      path.join(checkpoint, 'model.safetensors'),
    );
    const sd = model.stateDict();
    const { tensors } = plainBertState(sd, config);
    // detached handles keep their storage after the model is freed; drop the factors multiplied out
    for (const t of sd.values()) if (![...tensors.values()].includes(t)) t.dispose();
    const notes: string[] = [];
    if (config.poolingSize > 1)
      notes.push(
        `length pooling (poolingSize ${config.poolingSize}) is a pre-training shortcut: fine-tuning runs the unpooled BERT`,
      );
    if (config.ffnRank > 0) notes.push(`factorized FFN (rank ${config.ffnRank}) multiplied out for fine-tuning`);
    return {
      kind: 'run',
      source: runOrCkpt,
      config: { ...config, poolingSize: 1, ffnRank: 0 },
      weights: tensors,
      pooler: new Map(),
      tokenizer,
      checkpoint,
      notes,
    };
  } finally {
    model.dispose();
  }
}

/** The encoder of a Hugging Face BERT folder; its classifier, if any, is dropped (a new task gets a new head). */
export function loadHfEncoder(dir: string, tokenizerFile?: string): PretrainedEncoder {
  const hf = readHfModel(dir);
  let tokenizer: BertTokenizer;
  try {
    let file: string;
    ({ tokenizer, file } = hfTokenizer(dir, tokenizerFile));
    checkTokenizerFits(tokenizer.vocabSize, file, hf.config.vocabSize, hf.weightsFile);
  } catch (e) {
    dispose([hf.weights, hf.pooler, hf.classifier]);
    throw e;
  }
  const notes = [...hf.notes];
  if (hf.classifier.size) notes.push("the folder's classifier is not used: each task gets a new one");
  dispose(hf.classifier);
  const config = { ...hf.config, poolingSize: 1, ffnRank: 0 };
  return { kind: 'hf', source: dir, config, weights: hf.weights, pooler: hf.pooler, tokenizer, notes };
}

export function disposeEncoder(enc: PretrainedEncoder): void {
  dispose([enc.weights, enc.pooler]);
}

/**
 * A fresh classifier on `device` with the encoder's weights (and pooler, when it has one); the
 * new pooler / classifier weights are drawn from `seed`.
 */
export function buildClassifier(
  enc: Pick<PretrainedEncoder, 'source' | 'config' | 'weights' | 'pooler'>,
  o: { numLabels: number; seed: number; device?: Device },
): BertForSequenceClassification {
  const mlm = new BertForMaskedLM(enc.config, { device: o.device, seed: o.seed });
  let clf: BertForSequenceClassification | undefined;
  try {
    const { missing } = mlm.loadStateDict(enc.weights, { strict: false });
    const lacking = missing.filter((n) => !isMlmHeadParam(n));
    if (lacking.length)
      throw new GrowbertError(
        `${enc.source}: the encoder lacks ${lacking.slice(0, 3).join(', ')}; is it a complete BERT?`,
      );
    clf = new BertForSequenceClassification(mlm, { numLabels: o.numLabels, seed: o.seed });
    if (enc.pooler.size) clf.loadStateDict(enc.pooler, { strict: false });
    return clf;
  } catch (e) {
    if (clf) clf.dispose();
    else mlm.dispose();
    throw e;
  }
}

/**
 * A Hugging Face BertForSequenceClassification folder as a growbert classifier with all its
 * weights (pooler and classifier included), in eval mode: the check that our classifier
 * computes what HF's does.
 */
export function loadHfClassifier(dir: string, o: { device?: Device } = {}): BertForSequenceClassification {
  const hf = readHfModel(dir);
  try {
    const w = hf.classifier.get(CLASSIFIER_WEIGHT);
    if (!w || !hf.classifier.has(CLASSIFIER_BIAS) || hf.pooler.size !== 2) {
      throw new GrowbertError(
        `${dir}/model.safetensors is not a BertForSequenceClassification (needs bert.pooler.dense.* and classifier.*)`,
      );
    }
    const clf = buildClassifier(
      { source: dir, config: hf.config, weights: hf.weights, pooler: hf.pooler },
      { numLabels: w.shape[0], seed: 0, device: o.device },
    );
    clf.loadStateDict(hf.classifier, { strict: false });
    return clf.eval();
  } finally {
    dispose([hf.weights, hf.pooler, hf.classifier]);
  }
}
