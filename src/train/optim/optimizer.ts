/**
 * The base of growbert's optimizers: parameters and optimizer state are both addressed by NAME,
 * so that a checkpoint is two flat tensor maps and a growth operator can move moments along with
 * the weights they belong to (copied weight -> copied moments, weight / k -> exp_avg / k and
 * exp_avg_sq / k^2, new zero weights -> zero moments; see docs method.md).
 *
 * State layout (what `state()` returns, all tensors owned by the optimizer):
 *   `<param>.<slot>`  one per slot (AdamW and Lamb: `exp_avg`, `exp_avg_sq`), shape of the param
 *   `<param>.step`    0-d int64: how many updates THIS parameter has received
 * and `meta()` holds the JSON-able rest (global step count and hyper-parameters).
 *
 * Per-parameter steps: bias correction uses each parameter's own count t_p, i.e.
 * m_hat = m / (1 - beta1^t_p), v_hat = v / (1 - beta2^t_p). After a growth step, parameters whose
 * moments were carried over keep their t_p (their moments are as "warm" as before), while
 * brand-new parameters start at t_p = 0 with zero moments and so get the full correction of a
 * fresh Adam. PyTorch's AdamW also keeps one `step` per parameter; this is the same rule.
 *
 * One update is one native call per GROUP (AdamW), not per parameter: parameters are grouped by
 * (weight decay or not, their step count), which after growth is at most a few groups (old and
 * new parameters), because the bias corrections are scalars per group. The groups are planned
 * once and kept (frozen lists, whose native handles are kept too) until a parameter is skipped or
 * state is loaded, so a step does no JavaScript work per parameter beyond counting its steps.
 */
import { GrowbertError } from '../../io/errors.js';
import { getsWeightDecay } from '../../model/family.js';
import type { OptimizerMeta } from '../../nn/optim-state.js';
import { Tensor, clearGrads, full, keep, noGrad, zerosLike } from '../../tensor/index.js';

/** True when `name` gets weight decay: the model family's rule (src/model/family.ts). */
export function defaultDecayFilter(name: string): boolean {
  return getsWeightDecay(name);
}

export interface OptimizerOptions {
  /** Learning rate used when `step()` is called without one (the trainer passes the schedule's). */
  lr?: number;
  /** Decoupled weight decay coefficient (default 0.01, BERT's). */
  weightDecay?: number;
  betas?: [number, number];
  eps?: number;
  /** Adam's bias correction (default true as in PyTorch; BERT's TF AdamWeightDecay had none). */
  biasCorrection?: boolean;
  /** Which parameters get weight decay (and, for Lamb, the trust ratio); default `defaultDecayFilter`. */
  decayFilter?: (name: string, param: Tensor) => boolean;
}

export type { OptimizerMeta } from '../../nn/optim-state.js';

/**
 * One set of parameters updated together: same decay flag, same (new) step count. The lists are
 * frozen. Parameters without a gradient are in it too: update() skips them and says which.
 */
export interface ParamGroup {
  names: readonly string[];
  params: readonly Tensor[];
  /** slots[i] lists the i-th slot (e.g. exp_avg) of every parameter in the group. */
  slots: readonly (readonly Tensor[])[];
  decay: boolean;
  /** The step count after this update (>= 1), for bias correction. */
  step: number;
}

export interface LoadStateOptions {
  /**
   * Parameters with no entries in the map start fresh (zero moments, step 0) instead of being an
   * error. Growth uses this: it maps the old parameters' state and leaves new ones out.
   */
  allowMissing?: boolean;
}

export abstract class Optimizer {
  readonly params: ReadonlyMap<string, Tensor>;
  /** The parameters in order, as a frozen array (whose native handles are kept: see handleList). */
  readonly paramList: readonly Tensor[];
  lr: number;
  readonly weightDecay: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly biasCorrection: boolean;
  /** Number of step() calls made. */
  stepCount = 0;
  protected readonly decay = new Map<string, boolean>();
  protected readonly slots = new Map<string, Tensor[]>();
  /** Per-parameter update counts; the `<param>.step` tensors are synced from these in state(). */
  protected readonly steps = new Map<string, number>();
  private readonly stepTensors = new Map<string, Tensor>();
  /** The groups of the next step, or null when they must be planned again. */
  private plan: ParamGroup[] | null = null;
  private disposed = false;

  /** The optimizer's type name (in meta) and its per-parameter slot names. */
  abstract readonly type: string;
  abstract readonly slotNames: readonly string[];

  constructor(params: ReadonlyMap<string, Tensor>, o: OptimizerOptions, defaults: { eps: number }) {
    this.params = new Map(params);
    this.paramList = Object.freeze([...this.params.values()]);
    this.lr = o.lr ?? 1e-4;
    this.weightDecay = o.weightDecay ?? 0.01;
    this.betas = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? defaults.eps;
    this.biasCorrection = o.biasCorrection ?? true;
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1))
      throw new GrowbertError(`optimizer: betas must be in [0, 1), got [${b1}, ${b2}]`);
    if (!(this.eps > 0)) throw new GrowbertError(`optimizer: eps must be positive, got ${this.eps}`);
    if (!(this.weightDecay >= 0))
      throw new GrowbertError(`optimizer: weightDecay must be >= 0, got ${this.weightDecay}`);
    const filter = o.decayFilter ?? defaultDecayFilter;
    for (const [name, p] of this.params) {
      if (!p.isLeaf || !p.requiresGrad)
        throw new GrowbertError(
          `optimizer: parameter '${name}' is not a leaf tensor with requiresGrad; pass the model's parameters`,
        );
      this.decay.set(name, filter(name, p));
      this.steps.set(name, 0);
    }
  }

  /** Allocates zero slots; subclasses call this at the end of their constructor. */
  protected initSlots(): void {
    for (const [name, p] of this.params) {
      this.slots.set(
        name,
        this.slotNames.map(() => keep(noGrad(() => zerosLike(p)))),
      );
      this.stepTensors.set(name, keep(full([], 0, { dtype: 'int64' })));
    }
  }

  /** Whether the parameter gets weight decay (and Lamb's trust ratio). */
  decays(name: string): boolean {
    return this.decay.get(name) ?? false;
  }
  /** How many updates the parameter has received. */
  paramStep(name: string): number {
    return this.steps.get(name) ?? 0;
  }

  /**
   * One update of every parameter that has a gradient (parameters whose grad is null are skipped
   * and their step count does not advance, as in PyTorch). `lr` overrides `this.lr` for this call
   * and becomes the new `this.lr`.
   */
  step(lr?: number): void {
    if (this.disposed) throw new Error('optimizer: used after dispose()');
    if (lr !== undefined) this.lr = lr;
    const plan = (this.plan ??= this.planGroups());
    for (const grp of plan) {
      const skipped = this.update(grp, this.lr);
      // A skipped parameter's count falls behind its group's: plan again before the next step.
      if (skipped.length > 0) this.plan = null;
      const skip = new Set(skipped);
      grp.names.forEach((n, i) => skip.has(i) || this.steps.set(n, grp.step));
      grp.step++;
    }
    this.stepCount++;
  }

  /** Parameters grouped by (decay, step count after the next update), in parameter order. */
  private planGroups(): ParamGroup[] {
    const groups = new Map<
      string,
      { names: string[]; params: Tensor[]; slots: Tensor[][]; decay: boolean; step: number }
    >();
    for (const [name, p] of this.params) {
      const decay = this.decay.get(name)!;
      const t = this.steps.get(name)! + 1;
      const key = `${decay}|${t}`;
      let grp = groups.get(key);
      if (!grp) {
        grp = { names: [], params: [], slots: this.slotNames.map(() => []), decay, step: t };
        groups.set(key, grp);
      }
      grp.names.push(name);
      grp.params.push(p);
      this.slots.get(name)!.forEach((s, i) => grp!.slots[i].push(s));
    }
    return [...groups.values()].map((g) => ({
      names: Object.freeze(g.names),
      params: Object.freeze(g.params),
      slots: Object.freeze(g.slots.map((s) => Object.freeze(s))),
      decay: g.decay,
      step: g.step,
    }));
  }

  /**
   * Applies one update in place to the group's parameters that have a gradient (without recording
   * it for autograd, and freeing what it allocates) and returns the indices, in the group, of
   * those that have none (left unchanged).
   */
  protected abstract update(group: ParamGroup, lr: number): number[];

  /** (1 - beta1^t, 1 - beta2^t), or (1, 1) without bias correction. */
  protected biasCorrections(t: number): [number, number] {
    if (!this.biasCorrection) return [1, 1];
    return [1 - this.betas[0] ** t, 1 - this.betas[1] ** t];
  }

  /** Sets every parameter's gradient to null (see `zeroGrad` in grad.ts for why null). */
  zeroGrad(): void {
    clearGrads(this.paramList);
  }

  /**
   * The optimizer's tensors by name (`<param>.<slot>`, `<param>.step`). They are the live state,
   * not copies: do not dispose them; clone to keep a snapshot across further steps.
   */
  state(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const name of this.params.keys()) {
      this.slots.get(name)!.forEach((s, i) => out.set(`${name}.${this.slotNames[i]}`, s));
      const st = this.stepTensors.get(name)!;
      st.fill_(this.steps.get(name)!);
      out.set(`${name}.step`, st);
    }
    return out;
  }

  meta(): OptimizerMeta {
    return {
      type: this.type,
      step: this.stepCount,
      lr: this.lr,
      weightDecay: this.weightDecay,
      betas: [...this.betas],
      eps: this.eps,
      biasCorrection: this.biasCorrection,
      ...this.extraMeta(),
    };
  }
  protected extraMeta(): Record<string, unknown> {
    return {};
  }

  /**
   * Copies state in (values are copied; the caller keeps ownership of `state`). Every entry must
   * name a parameter of this optimizer and match its shape. `meta` restores the global step and
   * lr; hyper-parameters come from the constructor (a mismatch in type is an error).
   */
  loadState(state: ReadonlyMap<string, Tensor>, meta?: Partial<OptimizerMeta>, o: LoadStateOptions = {}): void {
    if (meta?.type !== undefined && meta.type !== this.type) {
      throw new GrowbertError(
        `optimizer: state is for '${meta.type}' but this optimizer is '${this.type}'; build the optimizer the checkpoint was written with`,
      );
    }
    this.plan = null; // step counts change below
    const known = new Set<string>();
    for (const [name, p] of this.params) {
      const keys = [...this.slotNames.map((s) => `${name}.${s}`), `${name}.step`];
      const present = keys.filter((k) => state.has(k));
      if (present.length === 0 && o.allowMissing) {
        noGrad(() => this.slots.get(name)!.forEach((s) => s.zero_()));
        this.steps.set(name, 0);
        continue;
      }
      if (present.length !== keys.length) {
        const missing = keys.filter((k) => !state.has(k));
        throw new GrowbertError(
          `optimizer: state lacks ${missing.join(', ')}; pass the complete state (or allowMissing to start '${name}' fresh)`,
        );
      }
      keys.forEach((k) => known.add(k));
      noGrad(() =>
        this.slots.get(name)!.forEach((s, i) => {
          const src = state.get(keys[i])!;
          if (src.shape.join() !== p.shape.join()) {
            throw new GrowbertError(
              `optimizer: state '${keys[i]}' has shape [${src.shape}] but parameter '${name}' has [${p.shape}]; map the state to the new shapes first`,
            );
          }
          s.copy_(src);
        }),
      );
      const t = state.get(`${name}.step`)!.item();
      if (!Number.isInteger(t) || t < 0)
        throw new GrowbertError(`optimizer: '${name}.step' is ${t}, expected a non-negative integer`);
      this.steps.set(name, t);
    }
    for (const k of state.keys()) {
      if (!known.has(k))
        throw new GrowbertError(
          `optimizer: state entry '${k}' names no parameter of this optimizer; rename or drop it before loading`,
        );
    }
    if (meta?.step !== undefined) this.stepCount = meta.step;
    if (meta?.lr !== undefined) this.lr = meta.lr;
  }

  /** Frees the optimizer's state tensors (not the parameters). */
  dispose(): void {
    for (const ss of this.slots.values()) ss.forEach((s) => s.dispose());
    for (const s of this.stepTensors.values()) s.dispose();
    this.disposed = true;
  }
}
