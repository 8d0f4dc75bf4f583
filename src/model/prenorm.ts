// The pre-LN encoder layer (config.arch 'prenorm'): x = x + Attn(LN1(x)); x = x + FFN(LN2(x)),
// with one more LayerNorm after the last layer (bert.ts adds it as `bert.LayerNorm`). This is the
// block of Cramming (Geiping & Goldstein 2023) and most encoders since: it trains stably at higher
// learning rates, and it makes identity growth exact without any LayerNorm bookkeeping, because a
// layer whose output projections are zero adds nothing to the residual stream.
//
// Parameter names follow Hugging Face's RobertaPreLayerNorm modules (`attention.LayerNorm` before
// attention, `intermediate.LayerNorm` before the FFN), under BERT's prefixes; docs/export.md gives
// the layout. layout.ts describes each parameter for growth.
import { LayerNorm, Linear, LowRankLinear, Module, cast, type InitOptions } from '../nn/index.js';
import type { DType, Tensor } from '../tensor/index.js';
import { activation, hiddenDropout, selfAttention } from './blocks.js';
import type { BertConfig } from './config.js';

/** One pre-LN layer; same interface as BERT's post-LN layer. */
export class PreLNLayer extends Module {
  readonly attentionLayerNorm: LayerNorm;
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly attentionOutput: Linear;
  readonly ffnLayerNorm: LayerNorm;
  readonly intermediate: Linear | LowRankLinear;
  readonly output: Linear | LowRankLinear;
  constructor(
    readonly config: BertConfig,
    o: InitOptions,
  ) {
    super();
    const { hiddenSize: H, intermediateSize: F, ffnRank: r, initializerRange: std, layerNormEps: eps } = config;
    const dense = (i: number, out: number) =>
      r > 0 ? new LowRankLinear(i, out, r, { ...o, std }) : new Linear(i, out, { ...o, std });
    this.attentionLayerNorm = this.child('attention.LayerNorm', new LayerNorm(H, { ...o, eps }));
    this.query = this.child('attention.self.query', new Linear(H, H, { ...o, std }));
    this.key = this.child('attention.self.key', new Linear(H, H, { ...o, std }));
    this.value = this.child('attention.self.value', new Linear(H, H, { ...o, std }));
    this.attentionOutput = this.child('attention.output.dense', new Linear(H, H, { ...o, std }));
    this.ffnLayerNorm = this.child('intermediate.LayerNorm', new LayerNorm(H, { ...o, eps }));
    this.intermediate = this.child('intermediate.dense', dense(H, F));
    this.output = this.child('output.dense', dense(F, H));
  }

  /**
   * x [B, Lq, H] gives the queries and the residual; kv [B, Lk, H] (default x) the keys and
   * values; mask is bool [B, 1, 1, Lk]. Matmuls run in dtype dt; the residual stream stays float32.
   */
  forward(x: Tensor, mask: Tensor, dt: DType, kv: Tensor = x): Tensor {
    const c = this.config;
    const xn = cast(this.attentionLayerNorm.forward(x), dt);
    const kvn = kv === x ? xn : cast(this.attentionLayerNorm.forward(kv), dt);
    const a = selfAttention(this, xn, kvn, mask, c, this.training);
    const h = hiddenDropout(this.attentionOutput.forward(a), c, this.training).add(x);
    const f = activation(this.intermediate.forward(cast(this.ffnLayerNorm.forward(h), dt)), c.hiddenAct);
    return hiddenDropout(this.output.forward(f), c, this.training).add(h);
  }
}
