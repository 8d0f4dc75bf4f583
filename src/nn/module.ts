// A minimal module system. A Module owns named parameters and named child modules; names join
// with dots into the Hugging Face state-dict names (`bert.encoder.layer.0.attention.self.query.weight`).
// A child may be registered under a dotted name ('attention.self.query'), so a model can mirror
// Hugging Face's nesting without one class per level.
import { GrowbertError } from '../io/errors.js';
import { Tensor, keep, noGrad } from '../tensor/index.js';

export interface LoadResult {
  /** the module's parameters that the map did not have (left unchanged) */
  missing: string[];
  /** names in the map that are not parameters of the module (ignored) */
  unexpected: string[];
}

export class Module {
  /** Dropout and similar train-only behaviour is on when true; see train() / eval(). */
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #children = new Map<string, Module>();

  /**
   * Registers a parameter: a leaf tensor that requires grad, kept out of every tidy() scope so
   * that it lives until dispose(). Optimizers update it in place.
   */
  protected param(name: string, t: Tensor): Tensor {
    if (this.#params.has(name) || this.#children.has(name)) throw new Error(`Module: '${name}' is registered twice`);
    if (!t.isLeaf)
      throw new Error(`Module: parameter '${name}' must be a leaf tensor (create it under noGrad or detach it)`);
    t.requiresGrad_(true);
    this.#params.set(name, keep(t));
    return t;
  }

  /** Registers a child module under a (possibly dotted) name; returns it. */
  protected child<M extends Module>(name: string, m: M): M {
    if (this.#params.has(name) || this.#children.has(name)) throw new Error(`Module: '${name}' is registered twice`);
    this.#children.set(name, m);
    return m;
  }

  /** Direct children with their names. */
  children(): Map<string, Module> {
    return new Map(this.#children);
  }

  /**
   * Every parameter with its full dotted name, own parameters first, then children in
   * registration order. A tensor shared by two names is listed once, under the first.
   */
  namedParameters(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const seen = new Set<Tensor>();
    const walk = (m: Module, pre: string) => {
      for (const [n, t] of m.#params) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.set(pre + n, t);
      }
      for (const [n, c] of m.#children) walk(c, `${pre}${n}.`);
    };
    walk(this, prefix);
    return out;
  }

  parameters(): Tensor[] {
    return [...this.namedParameters().values()];
  }

  /** Total number of scalar parameters. */
  numParameters(): number {
    let n = 0;
    for (const t of this.parameters()) n += t.numel;
    return n;
  }

  /** Sets training mode on this module and every descendant. */
  train(on = true): this {
    this.training = on;
    for (const c of this.#children.values()) c.train(on);
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /**
   * The parameters by name as detached tensors that share the parameters' memory (as PyTorch's
   * state_dict). They are new handles: dispose them (or call inside tidy()) when done; that
   * never frees the parameters.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, t] of this.namedParameters()) out.set(n, t.detach());
    return out;
  }

  /**
   * Copies values in by name (in place, so optimizers and other holders of the parameters see
   * them; dtype and device are converted). Shapes must match. With strict (the default) any
   * missing or unexpected name is an error; otherwise they are reported.
   */
  loadStateDict(src: Map<string, Tensor>, { strict = true }: { strict?: boolean } = {}): LoadResult {
    const own = this.namedParameters();
    const missing = [...own.keys()].filter((n) => !src.has(n));
    const unexpected = [...src.keys()].filter((n) => !own.has(n));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts = [];
      if (missing.length)
        parts.push(`missing ${missing.length} (${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', ...' : ''})`);
      if (unexpected.length)
        parts.push(
          `unexpected ${unexpected.length} (${unexpected.slice(0, 4).join(', ')}${unexpected.length > 4 ? ', ...' : ''})`,
        );
      throw new GrowbertError(
        `state dict does not match the model: ${parts.join('; ')}; check that the checkpoint was made for this model config, or load with strict: false`,
      );
    }
    for (const [n, t] of own) {
      const v = src.get(n);
      if (!v) continue;
      if (v.shape.join(',') !== t.shape.join(',')) {
        throw new GrowbertError(
          `state dict tensor '${n}' has shape [${v.shape}] but the model's is [${t.shape}]; check the model config (sizes) against the checkpoint`,
        );
      }
    }
    noGrad(() => {
      for (const [n, t] of own) {
        const v = src.get(n);
        if (v) t.copy_(v);
      }
    });
    return { missing, unexpected };
  }

  /** Frees every parameter (the module is unusable afterwards). */
  dispose(): void {
    for (const t of this.parameters()) t.dispose();
  }
}
