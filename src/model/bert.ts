// BERT for masked-LM pre-training, read top to bottom: embeddings, post-LN encoder layers, the
// MLM head, and BertForMaskedLM tying them together. Parameter names are exactly those of
// Hugging Face's BertForMaskedLM state dict, so checkpoints load and export without renaming.
// With config.arch 'prenorm' the same class builds the pre-LN encoder (prenorm.ts): its layers,
// plus one LayerNorm after the last layer. src/model/layout.ts describes every parameter named
// here for growth, export and import (a test checks that it covers them all).
//
// Two growbert extras make the low-cost stages of a growth schedule (method.md):
// - length pooling (config.poolingSize = k > 1): the encoder runs on the mean-pooled unmasked
//   stream plus the masked tokens, once, at full resolution; no extra parameters;
// - factorized FFN (config.ffnRank = r > 0): each FFN matrix is W = B·A of rank r, stored as
//   `...intermediate.dense.lowrank_a.weight` [r, hidden], `...lowrank_b.weight` [ffn, r] (and the
//   same under `...output.dense`), biases as usual. factorized.ts multiplies them out.
//
// Precision: with `bf16`, the matmuls (linear layers, attention, decoder) run in bfloat16 on
// float32 master weights; embeddings, LayerNorm, residual sums, softmax and the loss stay float32.
//
// Memory: forward() creates only intermediates; wrap forward + backward in tidy() and nothing leaks.
import { GrowbertError } from '../io/errors.js';
import {
  Embedding,
  LayerNorm,
  Linear,
  LowRankLinear,
  Module,
  cast,
  initTensor,
  zeros as zeroInit,
  type InitOptions,
} from '../nn/index.js';
import {
  Generator,
  arange,
  cat,
  fusedCrossEntropy,
  dropout,
  linear,
  ones,
  zeros,
  type DType,
  type Device,
  type Tensor,
} from '../tensor/index.js';
import { activation, attentionMask, gatherPositions, hiddenDropout, selfAttention } from './blocks.js';
import { bertConfig, type BertConfig, type BertConfigInput } from './config.js';
import { DECODER_BIAS_ALIAS, POSITION_IDS_BUFFER, TIED_DECODER_WEIGHT } from './hf-names.js';
import { meanPool, unmaskedStream } from './pooling.js';
import { PreLNLayer } from './prenorm.js';

export { gatherPositions };

export interface MaskedLMBatch {
  /** token ids [B, S] int64 (masked positions already hold [MASK] / random / kept tokens) */
  inputIds: Tensor;
  /** segment ids [B, S] int64 (default all 0) */
  tokenTypeIds?: Tensor;
  /** [B, S], 1 = real token, 0 = padding (default all 1) */
  attentionMask?: Tensor;
  /** positions [B, P] int64 of the tokens to predict; the MLM head runs only there */
  maskedPositions?: Tensor;
  /** original token ids [B, P] at maskedPositions (or [B, S] without them); -100 = no prediction */
  maskedLabels?: Tensor;
}

export interface ForwardOptions {
  /** also return the embeddings and every layer's output, as Hugging Face's hidden_states */
  outputHiddenStates?: boolean;
  /** matmuls in bfloat16 (master weights, LayerNorm, softmax and loss in float32) */
  bf16?: boolean;
}

export interface MaskedLMOutput {
  /** float32 [B, P, V] with maskedPositions, else [B, S, V] */
  logits: Tensor;
  /** mean cross entropy over the labels that are not -100 (when maskedLabels are given) */
  loss?: Tensor;
  hiddenStates?: Tensor[];
}

export interface ModelOptions {
  device?: Device;
  /** seeds the initial weights (same seed, same weights on every device) */
  seed?: number;
}

/** word + token type + position embeddings, LayerNorm, dropout. */
class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  constructor(
    readonly config: BertConfig,
    o: InitOptions,
  ) {
    super();
    const std = config.initializerRange;
    this.word_embeddings = this.child(
      'word_embeddings',
      new Embedding(config.vocabSize, config.hiddenSize, { ...o, std }),
    );
    this.position_embeddings = this.child(
      'position_embeddings',
      new Embedding(config.maxPositionEmbeddings, config.hiddenSize, { ...o, std }),
    );
    this.token_type_embeddings = this.child(
      'token_type_embeddings',
      new Embedding(config.typeVocabSize, config.hiddenSize, { ...o, std }),
    );
    this.LayerNorm = this.child('LayerNorm', new LayerNorm(config.hiddenSize, { ...o, eps: config.layerNormEps }));
  }
  forward(inputIds: Tensor, tokenTypeIds?: Tensor): Tensor {
    const [B, S] = inputIds.shape;
    if (S > this.config.maxPositionEmbeddings) {
      throw new GrowbertError(
        `sequence length ${S} exceeds maxPositionEmbeddings ${this.config.maxPositionEmbeddings}; use shorter sequences or a model with more positions`,
      );
    }
    const device = inputIds.device;
    const types = tokenTypeIds ?? zeros([B, S], { dtype: 'int64', device });
    const positions = arange(0, S, 1, { device });
    const e = this.word_embeddings
      .forward(inputIds)
      .add(this.token_type_embeddings.forward(types))
      .add(this.position_embeddings.forward(positions));
    return dropout(this.LayerNorm.forward(e), this.config.hiddenDropoutProb, this.training);
  }
}

/** What both variants' layers compute: x [B, Lq, H] (queries, residual), kv (keys, values) -> [B, Lq, H]. */
export interface EncoderLayer extends Module {
  forward(x: Tensor, mask: Tensor, dt: DType, kv?: Tensor): Tensor;
}

/** One post-LN encoder layer: x = LN(x + attention(x)); x = LN(x + FFN(x)). */
class BertLayer extends Module implements EncoderLayer {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly attentionOutput: Linear;
  readonly attentionLayerNorm: LayerNorm;
  readonly intermediate: Linear | LowRankLinear;
  readonly output: Linear | LowRankLinear;
  readonly outputLayerNorm: LayerNorm;
  constructor(
    readonly config: BertConfig,
    o: InitOptions,
  ) {
    super();
    const { hiddenSize: H, intermediateSize: F, ffnRank: r, initializerRange: std, layerNormEps: eps } = config;
    const dense = (i: number, out: number) =>
      r > 0 ? new LowRankLinear(i, out, r, { ...o, std }) : new Linear(i, out, { ...o, std });
    this.query = this.child('attention.self.query', new Linear(H, H, { ...o, std }));
    this.key = this.child('attention.self.key', new Linear(H, H, { ...o, std }));
    this.value = this.child('attention.self.value', new Linear(H, H, { ...o, std }));
    this.attentionOutput = this.child('attention.output.dense', new Linear(H, H, { ...o, std }));
    this.attentionLayerNorm = this.child('attention.output.LayerNorm', new LayerNorm(H, { ...o, eps }));
    this.intermediate = this.child('intermediate.dense', dense(H, F));
    this.output = this.child('output.dense', dense(F, H));
    this.outputLayerNorm = this.child('output.LayerNorm', new LayerNorm(H, { ...o, eps }));
  }

  /**
   * x [B, Lq, H] gives the queries and the residual; kv [B, Lk, H] (default x) the keys and
   * values; mask is bool [B, 1, 1, Lk]. Matmuls run in dtype dt. Returns float32 [B, Lq, H].
   */
  forward(x: Tensor, mask: Tensor, dt: DType, kv: Tensor = x): Tensor {
    const c = this.config;
    const xc = cast(x, dt);
    const a = selfAttention(this, xc, kv === x ? xc : cast(kv, dt), mask, c, this.training);
    const h = this.attentionLayerNorm.forward(hiddenDropout(this.attentionOutput.forward(a), c, this.training).add(x));
    const f = activation(this.intermediate.forward(cast(h, dt)), c.hiddenAct);
    return this.outputLayerNorm.forward(hiddenDropout(this.output.forward(f), c, this.training).add(h));
  }
}

/** cls.predictions: dense + activation + LayerNorm, then the decoder (tied weight) + bias. */
class BertLMPredictionHead extends Module {
  readonly bias: Tensor;
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  constructor(
    readonly config: BertConfig,
    o: InitOptions,
  ) {
    super();
    this.bias = this.param('bias', initTensor([config.vocabSize], zeroInit, o));
    this.dense = this.child(
      'transform.dense',
      new Linear(config.hiddenSize, config.hiddenSize, { ...o, std: config.initializerRange }),
    );
    this.LayerNorm = this.child(
      'transform.LayerNorm',
      new LayerNorm(config.hiddenSize, { ...o, eps: config.layerNormEps }),
    );
  }
  /** h [B, L, H] -> logits [B, L, V] in the compute dtype `dt`; decoderWeight is the word embedding table. */
  forward(h: Tensor, decoderWeight: Tensor, dt: DType): Tensor {
    const t = this.LayerNorm.forward(activation(this.dense.forward(cast(h, dt)), this.config.hiddenAct));
    return linear(cast(t, dt), cast(decoderWeight, dt), cast(this.bias, dt));
  }
}

export class BertForMaskedLM extends Module {
  readonly config: BertConfig;
  readonly embeddings: BertEmbeddings;
  readonly layers: EncoderLayer[];
  /** prenorm only: the LayerNorm after the last layer (pre-LN layers leave the residual stream unnormalized) */
  readonly finalLayerNorm: LayerNorm | null;
  readonly head: BertLMPredictionHead;

  constructor(config: BertConfigInput, { device, seed }: ModelOptions = {}) {
    super();
    this.config = bertConfig(config);
    const o: InitOptions = { device, generator: seed === undefined ? undefined : new Generator(seed) };
    this.embeddings = this.child('bert.embeddings', new BertEmbeddings(this.config, o));
    const Layer = this.config.arch === 'prenorm' ? PreLNLayer : BertLayer;
    const c = this.config;
    this.layers = Array.from({ length: c.numHiddenLayers }, (_, i) =>
      this.child(`bert.encoder.layer.${i}`, new Layer(c, o)),
    );
    const final = () => this.child('bert.LayerNorm', new LayerNorm(c.hiddenSize, { ...o, eps: c.layerNormEps }));
    this.finalLayerNorm = c.arch === 'prenorm' ? final() : null;
    this.head = this.child('cls.predictions', new BertLMPredictionHead(this.config, o));
  }

  /**
   * The encoder's modules by name (embeddings, layers, the final LayerNorm), without the MLM
   * head: what a task head such as the GLUE classifier adopts.
   */
  encoderModules(): Map<string, Module> {
    return new Map([...this.children()].filter(([, m]) => m !== this.head));
  }

  /** The device the parameters live on. */
  get device(): Device {
    return this.embeddings.word_embeddings.weight.device;
  }

  /**
   * Masked-LM forward. With maskedPositions the head runs only there (logits [B, P, V], as the
   * original BERT); without, at every position (logits [B, S, V], as Hugging Face). With
   * maskedLabels, loss is the mean cross entropy over labels != -100. Length pooling
   * (poolingSize > 1) needs maskedPositions.
   */
  forward(batch: MaskedLMBatch, opts: ForwardOptions = {}): MaskedLMOutput {
    const c = this.config;
    const dt: DType = opts.bf16 ? 'bfloat16' : 'float32';
    const { inputIds, maskedPositions, maskedLabels } = batch;
    const keep = batch.attentionMask ?? ones(inputIds.shape, { dtype: 'int64', device: inputIds.device });
    let x = this.embeddings.forward(inputIds, batch.tokenTypeIds);
    const hiddenStates = opts.outputHiddenStates ? [x] : undefined;

    let seq: Tensor; // the hidden states the MLM head reads
    if (c.poolingSize > 1) {
      if (!maskedPositions) {
        throw new GrowbertError(
          `length pooling (poolingSize ${c.poolingSize}) needs maskedPositions in the batch; pass them, or set poolingSize 1`,
        );
      }
      const P = maskedPositions.size(1);
      // The masked tokens, at full resolution, become P extra slots; padding entries (label
      // -100) are masked out as keys. Only the unmasked stream is pooled (method.md, "Length").
      const masked = gatherPositions(x, maskedPositions);
      const maskedKeep = maskedLabels
        ? maskedLabels.ne(-100)
        : ones(maskedPositions.shape, { dtype: 'bool', device: inputIds.device });
      const stream = unmaskedStream(x, keep, maskedPositions, maskedKeep);
      const pooled = meanPool(stream.x, stream.keep, c.poolingSize);
      // Layer 1: pooled stream + masked slots ask; full-resolution stream + masked slots answer.
      const kvMask = attentionMask(cat([stream.keep.ne(0), maskedKeep], 1));
      x = this.layers[0].forward(cat([pooled.x, masked], 1), kvMask, dt, cat([stream.x, masked], 1));
      hiddenStates?.push(x);
      // Layers 2..N: the pooled length + P.
      const mask = attentionMask(cat([pooled.mask.ne(0), maskedKeep], 1));
      for (const layer of this.layers.slice(1)) {
        x = layer.forward(x, mask, dt);
        hiddenStates?.push(x);
      }
      x = this.finish(x);
      seq = x.narrow(1, x.size(1) - P, P);
    } else {
      x = this.runLayers(x, keep, dt, hiddenStates);
      seq = maskedPositions ? gatherPositions(x, maskedPositions) : x;
    }

    // The loss reads the compute-dtype logits (one fused CPU kernel, src/tensor/fused.ts); the float32
    // copy callers get is forward-only, so bf16 training pays no cast in backward.
    const raw = this.head.forward(seq, this.embeddings.word_embeddings.weight, dt);
    const logits = cast(raw, 'float32');
    const out: MaskedLMOutput = { logits };
    if (maskedLabels) {
      const [B, L, V] = logits.shape;
      if (maskedLabels.shape.join(',') !== `${B},${L}`) {
        throw new GrowbertError(
          `maskedLabels has shape [${maskedLabels.shape}] but the logits are [${B},${L},${V}]; labels go with maskedPositions ([B, P]) or with every position ([B, S])`,
        );
      }
      out.loss = fusedCrossEntropy(raw.reshape(B * L, V), maskedLabels.reshape(B * L), -100);
    }
    if (hiddenStates) out.hiddenStates = hiddenStates;
    return out;
  }

  /**
   * The encoder's sequence output [B, S, H] (float32) at full resolution: for heads such as
   * GLUE classification. Never pools (pooling is a pre-training shortcut).
   */
  encode(
    batch: Pick<MaskedLMBatch, 'inputIds' | 'tokenTypeIds' | 'attentionMask'>,
    opts: Pick<ForwardOptions, 'bf16'> = {},
  ): Tensor {
    const keep = batch.attentionMask ?? ones(batch.inputIds.shape, { dtype: 'int64', device: batch.inputIds.device });
    return this.runLayers(
      this.embeddings.forward(batch.inputIds, batch.tokenTypeIds),
      keep,
      opts.bf16 ? 'bfloat16' : 'float32',
    );
  }

  private runLayers(x: Tensor, keep: Tensor, dt: DType, hiddenStates?: Tensor[]): Tensor {
    const mask = attentionMask(keep);
    for (const layer of this.layers) {
      x = layer.forward(x, mask, dt);
      hiddenStates?.push(x);
    }
    return this.finish(x);
  }

  /** The encoder output: the final LayerNorm of a pre-LN encoder, nothing for post-LN BERT. */
  private finish(x: Tensor): Tensor {
    return this.finalLayerNorm ? this.finalLayerNorm.forward(x) : x;
  }

  /**
   * As Module.loadStateDict, but also accepts the tied aliases a PyTorch state_dict carries
   * (`cls.predictions.decoder.weight`, `cls.predictions.decoder.bias`) and the old
   * `bert.embeddings.position_ids` buffer, which it skips.
   */
  override loadStateDict(src: Map<string, Tensor>, o: { strict?: boolean } = {}) {
    const skip = new Set([TIED_DECODER_WEIGHT, DECODER_BIAS_ALIAS, POSITION_IDS_BUFFER]);
    return super.loadStateDict(new Map([...src].filter(([n]) => !skip.has(n))), o);
  }
}
