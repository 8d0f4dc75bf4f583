// BertForSequenceClassification, as Hugging Face's: the encoder's [CLS] vector through BERT's
// pooler (dense + tanh), dropout, then a linear classifier. Parameter names are HF's
// (`bert.embeddings.*`, `bert.encoder.*`, `bert.pooler.dense.*`, `classifier.*`), so a
// BertForSequenceClassification checkpoint loads by name and logits match HF's.
// numLabels 1 is regression (STS-B) with a mean-squared-error loss; otherwise cross entropy.
import { GrowbertError } from '../io/errors.js';
import { Linear, Module } from '../nn/index.js';
import { CLASSIFIER_MODULE, POOLER_MODULE, type BertForMaskedLM } from '../model/index.js';
import { Generator, crossEntropy, dropout, mseLoss, type Tensor } from '../tensor/index.js';

export interface ClassifierBatch {
  /** [B, S] int64 */
  inputIds: Tensor;
  /** [B, S] int64 segment ids */
  tokenTypeIds?: Tensor;
  /** [B, S], 1 = token, 0 = padding */
  attentionMask?: Tensor;
  /** [B] int64 class indices, or [B] float32 scores when numLabels is 1 */
  labels?: Tensor;
}

export interface ClassifierOutput {
  /** float32 [B, numLabels] */
  logits: Tensor;
  loss?: Tensor;
}

export interface ClassifierOptions {
  numLabels: number;
  /**
   * dropout before the classifier; default the encoder's hiddenDropoutProb (HF: classifier_dropout ??
   * hidden_dropout_prob)
   */
  dropout?: number;
  /** seeds the new pooler and classifier weights */
  seed?: number;
}

export class BertForSequenceClassification extends Module {
  readonly numLabels: number;
  readonly dropoutProb: number;
  readonly pooler: Linear;
  readonly classifier: Linear;

  /**
   * Takes ownership of `encoder`: its embeddings and layers become this module's `bert.*`
   * children (the MLM head is not used, and is freed by dispose()). Pooler and classifier are
   * new, drawn as HF draws them (normal(0, initializerRange), zero bias); load pretrained
   * ones with loadStateDict.
   */
  constructor(
    readonly encoder: BertForMaskedLM,
    o: ClassifierOptions,
  ) {
    super();
    if (!Number.isInteger(o.numLabels) || o.numLabels < 1)
      throw new GrowbertError(`numLabels must be a positive integer, got ${o.numLabels}`);
    const c = encoder.config;
    this.numLabels = o.numLabels;
    this.dropoutProb = o.dropout ?? c.hiddenDropoutProb;
    // the encoder's modules under their own names (embeddings, layers, a pre-LN final LayerNorm)
    for (const [name, m] of encoder.encoderModules()) this.child(name, m);
    const init = { device: encoder.device, generator: new Generator(o.seed ?? 0), std: c.initializerRange };
    this.pooler = this.child(POOLER_MODULE, new Linear(c.hiddenSize, c.hiddenSize, init));
    this.classifier = this.child(CLASSIFIER_MODULE, new Linear(c.hiddenSize, o.numLabels, init));
    this.training = encoder.training;
  }

  get isRegression(): boolean {
    return this.numLabels === 1;
  }

  /** With bf16, the encoder's matmuls run in bfloat16 (its output, the pooler and classifier in float32). */
  forward(batch: ClassifierBatch, o: { bf16?: boolean } = {}): ClassifierOutput {
    const hidden = this.encoder.encode(batch, { bf16: o.bf16 }); // [B, S, H] float32, never length-pooled
    const pooled = this.pooler.forward(hidden.select(1, 0)).tanh();
    const logits = this.classifier.forward(dropout(pooled, this.dropoutProb, this.training && this.dropoutProb > 0));
    const out: ClassifierOutput = { logits };
    if (batch.labels) {
      out.loss = this.isRegression
        ? mseLoss(logits.squeeze(-1), batch.labels.to('float32'))
        : crossEntropy(logits, batch.labels);
    }
    return out;
  }

  /** Frees every parameter, including the encoder's unused MLM head. */
  override dispose(): void {
    super.dispose();
    this.encoder.head.dispose();
  }
}
