// Sizes that cannot work are refused before any data work, naming the flag: a sequence longer
// than the position embeddings the user set, or a batch whose training memory (weights, their
// gradients and Adam moments, and the activations kept for backward) exceeds this machine's RAM.
// `--seq-length 100000` on the tiny preset used to raise its positions silently and then fail
// inside libtorch a minute later. The estimate is deliberately rough (within ~2x): it only
// catches sizes that are far out of reach, never a run that might fit.
import * as os from 'node:os';
import { GrowbertError } from '../io/errors.js';
import type { BertConfig } from '../model/index.js';
import type { Device } from '../tensor/index.js';
import type { ResolvedConfig } from './config.js';

const GiB = 1024 ** 3;

/** Bytes to train one micro-batch: fp32 weights x4 (weights, grads, two moments) + activations. */
export function trainingBytes(m: BertConfig, batch: number, seq: number): number {
  const H = m.hiddenSize,
    L = m.numHiddenLayers,
    F = m.intermediateSize,
    A = m.numAttentionHeads;
  const params = m.vocabSize * H + m.maxPositionEmbeddings * H + L * (4 * H * H + 2 * H * F);
  // per layer and token: the projections, FFN and norms (~(16 H + 2 F) floats) plus A x seq
  // attention scores, probabilities and dropout mask
  const perLayerToken = 16 * H + 2 * F + 3 * A * seq;
  return 4 * (4 * params + L * batch * seq * perLayerToken);
}

export function checkFits(c: ResolvedConfig, model: BertConfig, device: Device): void {
  const seq = c.data.seqLength;
  const positions = c.model.maxPositionEmbeddings;
  if (positions !== undefined && seq > positions) {
    throw new GrowbertError(
      `--seq-length ${seq} is longer than --max-positions ${positions}; lower --seq-length or raise --max-positions`,
    );
  }
  if (device !== 'cpu') return; // GPU memory is checked by the allocator; the estimate is for host RAM
  const need = trainingBytes(model, c.train.batchSize, seq);
  const have = os.totalmem();
  if (need > 2 * have) {
    // twice: the estimate may be high by that much, and a run that might fit must start
    throw new GrowbertError(
      `--seq-length ${seq} with --batch-size ${c.train.batchSize} needs about ${(need / GiB).toFixed(1)} GiB to train, far more than this machine's ${(have / GiB).toFixed(1)} GiB; lower --seq-length or --batch-size (--grad-accumulation keeps the batch)`,
    );
  }
}
