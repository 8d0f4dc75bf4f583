// The working set every growth operator reads and writes: a config, the parameters by name, and
// (optionally) each parameter's optimizer state. Operators are pure: they build new Maps whose
// values are new tensors or tensors of the input, and never write into a tensor in place, so the
// source model and optimizer are untouched whatever the operator does.
import { GrowbertError } from '../io/errors.js';
import { BertForMaskedLM, paramLayout, type BertConfig } from '../model/index.js';
import { full, noGrad, tidy, zerosLike, type Tensor } from '../tensor/index.js';
import type { OptimizerMeta } from '../nn/index.js';

/**
 * What happens to the AdamW/LAMB moments at a growth step:
 * - 'map'   moments follow the WEIGHTS' map (method.md): copied weight -> copied moments, weight
 *           divided by c -> exp_avg / c, exp_avg_sq / c^2, new weight -> zero moments and step 0;
 * - 'grad'  moments follow the GRADIENTS' map: a duplicated unit's incoming weights (copied) get
 *           1/c of the source gradient, so exp_avg / c and exp_avg_sq / c^2, while the divided
 *           outgoing weights get the source gradient unchanged, so copied moments (what Staged
 *           Training's code does; see docs/operators.md, "Optimizer state");
 * - 'reset' every moment zero and every step 0 (the authors' code: a fresh optimizer per stage).
 */
/** What growth does to the Adam moments: the one list the schedule schema and both CLIs read. */
export const OPTIMIZER_POLICIES = ['map', 'grad', 'reset'] as const;
export type OptimizerPolicy = (typeof OPTIMIZER_POLICIES)[number];

/** One parameter's optimizer entries (`<param>.exp_avg`, `.exp_avg_sq`, `.step`). */
export interface ParamState {
  exp_avg: Tensor;
  exp_avg_sq: Tensor;
  /** 0-d int64: updates this parameter has had; bias correction uses it */
  step: Tensor;
}
export const SLOT_NAMES = ['exp_avg', 'exp_avg_sq', 'step'] as const;

export interface Stage {
  config: BertConfig;
  params: Map<string, Tensor>;
  /** Per parameter: its state, or null for a new parameter (zero moments, step 0). Absent: no optimizer. */
  opt?: Map<string, ParamState | null>;
  /** True while every operator applied so far is exactly function-preserving. */
  preserving: boolean;
  /** One line per operator applied. */
  report: string[];
}

/** The model and, optionally, its optimizer's state() and meta(), as growth reads them. */
export interface GrowSource {
  model: BertForMaskedLM;
  optimizer?: { state: ReadonlyMap<string, Tensor>; meta: OptimizerMeta };
}

export interface GrowResult {
  /** a new model (same device and train/eval mode as the source) */
  model: BertForMaskedLM;
  /** complete optimizer state for the new model's parameters (fresh tensors, yours to dispose) */
  optimizerState?: Map<string, Tensor>;
  /** the source's meta, unchanged (global step and lr carry over; the schedule decides the LR) */
  optimizerMeta?: OptimizerMeta;
  /** whether the new model computes the same function as the source (in eval mode, up to rounding) */
  preserving: boolean;
  /** what was done, one line per dimension */
  report: string[];
}

/** Splits a flat optimizer state into per-parameter entries; anything unaccounted for is an error. */
function splitState(
  params: ReadonlyMap<string, Tensor>,
  flat: ReadonlyMap<string, Tensor>,
): Map<string, ParamState | null> {
  const out = new Map<string, ParamState | null>();
  const used = new Set<string>();
  for (const name of params.keys()) {
    const keys = SLOT_NAMES.map((s) => `${name}.${s}`);
    const present = keys.filter((k) => flat.has(k));
    if (present.length === 0) {
      out.set(name, null); // never stepped and not saved: same as new
      continue;
    }
    if (present.length !== keys.length) {
      throw new GrowbertError(
        `grow: optimizer state for '${name}' lacks ${keys.filter((k) => !flat.has(k)).join(', ')}; pass the optimizer's complete state() (AdamW or LAMB)`,
      );
    }
    keys.forEach((k) => used.add(k));
    out.set(name, { exp_avg: flat.get(keys[0])!, exp_avg_sq: flat.get(keys[1])!, step: flat.get(keys[2])! });
  }
  for (const k of flat.keys()) {
    if (!used.has(k))
      throw new GrowbertError(
        `grow: optimizer state entry '${k}' names no parameter of the source model; pass the state of this model's optimizer (AdamW or LAMB)`,
      );
  }
  return out;
}

/**
 * The source as a Stage. Parameters are detached views of the model's (call inside tidy(); they
 * are read, never written); optimizer entries are the caller's tensors, likewise only read.
 */
export function sourceStage(src: GrowSource, policy: OptimizerPolicy): Stage {
  const params = src.model.stateDict();
  // growth never guesses: an undescribed parameter throws
  for (const name of params.keys()) paramLayout(src.model.config, name);
  const stage: Stage = { config: src.model.config, params, preserving: true, report: [] };
  if (src.optimizer) {
    const opt = splitState(params, src.optimizer.state);
    if (policy === 'reset') for (const k of opt.keys()) opt.set(k, null);
    stage.opt = opt;
  }
  return stage;
}

/** Applies f to a state's moments (step copied); null (new) stays null. */
export function mapState(
  st: ParamState | null | undefined,
  f: (t: Tensor, slot: 'exp_avg' | 'exp_avg_sq') => Tensor,
): ParamState | null {
  if (!st) return null;
  return { exp_avg: f(st.exp_avg, 'exp_avg'), exp_avg_sq: f(st.exp_avg_sq, 'exp_avg_sq'), step: st.step };
}

/** Counts of the optimizer entries of a stage: carried over vs new. */
export function stateSummary(s: Stage, policy: OptimizerPolicy): string | null {
  if (!s.opt) return null;
  let kept = 0,
    fresh = 0;
  for (const v of s.opt.values()) {
    if (v) kept++;
    else fresh++;
  }
  if (policy === 'reset') return `optimizer: reset (all ${fresh} parameters: zero moments, step 0)`;
  return `optimizer: moments mapped by policy '${policy}' for ${kept} parameters; ${fresh} new (zero moments, step 0)`;
}

/**
 * The stage as a model and a flat optimizer state. Call inside tidy(): the model's parameters are
 * kept by the Module; the state tensors are fresh (never the source's, never shared by two
 * names) so that the caller owns them.
 */
export function materialize(
  s: Stage,
  like: BertForMaskedLM,
  source: ReadonlySet<Tensor>,
): { model: BertForMaskedLM; state?: Map<string, Tensor> } {
  // a fixed init seed: the values are overwritten, and the global generator is not advanced
  const model = new BertForMaskedLM(s.config, { device: like.device, seed: 0 });
  model.loadStateDict(s.params);
  model.train(like.training);
  if (!s.opt) return { model };
  const state = new Map<string, Tensor>();
  const seen = new Set<Tensor>();
  const own = (t: Tensor) => {
    const o = source.has(t) || seen.has(t) ? t.clone() : t;
    seen.add(o);
    return o;
  };
  noGrad(() => {
    for (const [name, p] of model.namedParameters()) {
      if (!s.opt!.has(name)) throw new Error(`grow: internal error, no optimizer entry for '${name}'`);
      const st = s.opt!.get(name);
      state.set(`${name}.exp_avg`, st ? own(st.exp_avg) : zerosLike(p));
      state.set(`${name}.exp_avg_sq`, st ? own(st.exp_avg_sq) : zerosLike(p));
      state.set(`${name}.step`, st ? own(st.step) : full([], 0, { dtype: 'int64' }));
    }
  });
  return { model, state };
}

/** Every tensor a stage holds (parameters and optimizer entries). */
function tensorsOf(s: Stage): Set<Tensor> {
  const out = new Set<Tensor>(s.params.values());
  for (const st of s.opt?.values() ?? []) if (st) [st.exp_avg, st.exp_avg_sq, st.step].forEach((t) => out.add(t));
  return out;
}

/**
 * Applies operators in order. A tensor that an operator made and the next one replaced is freed
 * right away (never one of the source's), so growing a large model holds about two stages at a
 * time instead of all of them until the end.
 */
export function pipeline(s0: Stage, ops: ((s: Stage) => Stage)[]): Stage {
  const source = tensorsOf(s0);
  let s = s0;
  for (const op of ops) {
    const next = op(s);
    if (next !== s) {
      const live = tensorsOf(next);
      for (const t of tensorsOf(s)) if (!live.has(t) && !source.has(t)) t.dispose();
    }
    s = next;
  }
  return s;
}

/** Runs a stage transformation from a source to a GrowResult, freeing every intermediate. */
export function runStages(src: GrowSource, policy: OptimizerPolicy, fn: (s: Stage) => Stage): GrowResult {
  return tidy(() =>
    noGrad(() => {
      const source = new Set<Tensor>(src.optimizer ? src.optimizer.state.values() : []);
      const out = fn(sourceStage(src, policy));
      const summary = stateSummary(out, policy);
      const { model, state } = materialize(out, src.model, source);
      const report = summary ? [...out.report, summary] : out.report;
      const result: GrowResult = { model, preserving: out.preserving, report };
      if (state) {
        result.optimizerState = state;
        result.optimizerMeta = structuredClone(src.optimizer!.meta);
      }
      return result;
    }),
  );
}
