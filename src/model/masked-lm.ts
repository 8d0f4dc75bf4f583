// What training, evaluation and calibration need from a masked-LM model, as an interface: the
// training core (src/train) is written against it, not against one class, so a model variant
// only has to provide these members to be trained, evaluated, checkpointed and data-parallel.
import type { Device, Tensor } from '../tensor/index.js';
import type { BertConfig } from './config.js';
import type { ForwardOptions, MaskedLMBatch, MaskedLMOutput } from './bert.js';

export interface MaskedLM {
  /** the shape, saved with every checkpoint so a run can rebuild the model */
  readonly config: BertConfig;
  /** dropout on; see train() / eval() */
  readonly training: boolean;
  readonly device: Device;
  /** logits, and with maskedLabels the mean cross entropy over labels != -100 */
  forward(batch: MaskedLMBatch, opts?: ForwardOptions): MaskedLMOutput;
  train(on?: boolean): this;
  eval(): this;
  /** every trainable tensor under its state-dict name (optimizers and checkpoints use these) */
  namedParameters(): Map<string, Tensor>;
  parameters(): Tensor[];
  dispose(): void;
}
