// Parameter initialisation. Values are drawn on the CPU (from the given seeded Generator, or the
// global one that manualSeed() sets) and then moved to the device, so one seed gives the same
// weights on every device.
import { empty, noGrad, type Device, type Generator, type Tensor } from '../tensor/index.js';

/** Fills a float32 CPU tensor in place. */
export type Init = (t: Tensor, generator?: Generator) => void;

/** N(mean, std^2), as BERT's truncated-free normal(0, initializer_range). */
export const normal =
  (std: number, mean = 0): Init =>
  (t, g) => {
    t.normal_(mean, std, g);
  };
export const zeros: Init = (t) => {
  t.zero_();
};
export const ones: Init = (t) => {
  t.fill_(1);
};

export interface InitOptions {
  device?: Device;
  generator?: Generator;
}

/** A new float32 leaf tensor of `shape`, filled by `init`, on the device (not yet requiring grad). */
export function initTensor(shape: number[], init: Init, o: InitOptions = {}): Tensor {
  return noGrad(() => {
    const t = empty(shape);
    init(t, o.generator);
    if (!o.device || o.device === 'cpu') return t;
    const moved = t.to(o.device);
    t.dispose();
    return moved;
  });
}
