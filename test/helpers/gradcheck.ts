// Finite-difference gradient checking for the tensor engine's tests. The analytic gradients come
// from backward(); the numeric ones from central differences in float64, evaluating f on inputs
// rebuilt from perturbed copies of their data. Both sides project f's outputs onto fixed random
// weights, so every output element contributes with a different upstream gradient.
import assert from 'node:assert/strict';
import { Generator, noGrad, randn, rand, tensor, tidy, type Tensor } from '../../src/tensor/index.js';

export interface GradcheckOptions {
  /** half-width of the central difference (default 1e-6) */
  eps?: number;
  /** |analytic - numeric| <= atol + rtol * |numeric| (defaults 1e-6 and 1e-5) */
  atol?: number;
  rtol?: number;
  /** seed of the random output projections */
  seed?: number;
}

type Fn = (...xs: Tensor[]) => Tensor | Tensor[];
const asList = (y: Tensor | Tensor[]): Tensor[] => (Array.isArray(y) ? y : [y]);

/** sum_k <f(xs)_k, w_k> as a JS number (no graph). */
function projected(f: Fn, xs: Tensor[], weights: Tensor[]): number {
  return tidy(() => {
    const ys = asList(f(...xs));
    let total = 0;
    ys.forEach((y, k) => {
      total += y.mul(weights[k]).sum().item();
    });
    return total;
  });
}

/**
 * Asserts that the gradients backward() computes for f at `inputs` (float64 tensors; they are
 * copied, never modified) match central differences. Non-differentiable arguments (indices,
 * masks) belong in f's closure. Frees everything it creates.
 */
export function gradcheck(f: Fn, inputs: Tensor[], o: GradcheckOptions = {}): void {
  const eps = o.eps ?? 1e-6,
    atol = o.atol ?? 1e-6,
    rtol = o.rtol ?? 1e-5;
  for (const x of inputs) assert.equal(x.dtype, 'float64', 'gradcheck: inputs must be float64');
  tidy(() => {
    const leaves = inputs.map((x) => x.detach().clone().requiresGrad_());
    const outs = asList(f(...leaves));
    const gen = new Generator(o.seed ?? 1234);
    const weights = outs.map((y) => {
      assert.equal(y.dtype, 'float64', 'gradcheck: outputs must be float64');
      return randn(y.shape, { dtype: 'float64', generator: gen });
    });
    let loss = outs[0].mul(weights[0]).sum();
    for (let k = 1; k < outs.length; k++) loss = loss.add(outs[k].mul(weights[k]).sum());
    loss.backward();

    noGrad(() => {
      inputs.forEach((x, i) => {
        const g = leaves[i].grad;
        if (g)
          assert.deepEqual(
            [g.shape, g.dtype],
            [x.shape, x.dtype],
            `gradcheck: grad of input ${i} has the wrong shape or dtype`,
          );
        const analytic = g ? (g.data() as Float64Array) : new Float64Array(x.numel);
        const base = x.contiguous().data() as Float64Array;
        for (let j = 0; j < base.length; j++) {
          const at = (delta: number) => {
            const p = Float64Array.from(base);
            p[j] += delta;
            const xs = inputs.map((y, k) => (k === i ? tensor(p, { shape: x.shape }) : y));
            return projected(f, xs, weights);
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          const err = Math.abs(analytic[j] - numeric);
          assert.ok(
            err <= atol + rtol * Math.abs(numeric),
            `gradcheck: input ${i} element ${j}: analytic ${analytic[j]} vs numeric ${numeric} (error ${err.toExponential(2)})`,
          );
        }
      });
    });
  });
}

// ---- Small constructors and comparisons shared by the tensor tests ----------------------------

/** float64 normal draws from a fixed seed. */
export function randn64(shape: number[], seed = 1): Tensor {
  return randn(shape, { dtype: 'float64', generator: new Generator(seed) });
}
/** float64 uniform draws in [lo, hi) from a fixed seed. */
export function uniform64(shape: number[], lo: number, hi: number, seed = 1): Tensor {
  return tidy(() =>
    rand(shape, { dtype: 'float64', generator: new Generator(seed) })
      .mul(hi - lo)
      .add(lo),
  );
}
export function f64(data: number[], shape?: number[]): Tensor {
  return tensor(Float64Array.from(data), { shape: shape ?? [data.length] });
}
export function i64(data: number[], shape?: number[]): Tensor {
  return tensor(BigInt64Array.from(data, BigInt), { shape: shape ?? [data.length] });
}

/** Element-wise |actual - expected| <= atol + rtol * |expected|, and the same shape if given. */
export function assertClose(actual: Tensor | number[], expected: Tensor | number[], atol = 1e-6, rtol = 1e-6): void {
  if (!Array.isArray(actual) && !Array.isArray(expected))
    assert.deepEqual(actual.shape, expected.shape, 'shapes differ');
  const a = Array.isArray(actual) ? actual : actual.toArray();
  const e = Array.isArray(expected) ? expected : expected.toArray();
  assert.equal(a.length, e.length, `lengths differ: ${a.length} vs ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const ok =
      (Number.isNaN(e[i]) && Number.isNaN(a[i])) ||
      a[i] === e[i] ||
      Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]);
    assert.ok(ok, `element ${i}: ${a[i]} vs expected ${e[i]}`);
  }
}
