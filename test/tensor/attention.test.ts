// scaledDotProductAttention: values against an independent float64 reference written out in
// plain JavaScript (softmax(q k^T * scale + mask) v, loop by loop), gradients by finite
// differences, bool and float masks and causal masking, and seeded dropout. Where libtorch has a
// fused kernel (2.1+) it is also checked against the explicit math; on 1.13 both names run the
// same math, so that comparison alone would prove nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck, randn64, assertClose, f64 } from '../helpers/gradcheck.js';
import {
  attentionMath,
  hasFusedAttention,
  manualSeed,
  scaledDotProductAttention as sdpa,
  tensor,
  tidy,
  type AttentionOptions,
  type Tensor,
} from '../../src/tensor/index.js';

// batch 2, heads 2, 3 queries, 4 keys, head size 5
const qkv = (lq = 3, lk = 4) => [randn64([2, 2, lq, 5], 1), randn64([2, 2, lk, 5], 2), randn64([2, 2, lk, 5], 3)];
// key padding: the second sequence has only its first 2 keys; [2, 1, 1, 4]
const boolMask = () =>
  tensor(
    [
      [true, true, true, true],
      [true, true, false, false],
    ],
    { dtype: 'bool' },
  ).reshape(2, 1, 1, 4);
const floatMask = () => randn64([2, 1, 3, 4], 4).mul(0.5);

/**
 * The reference, in JS doubles from the inputs' values: for every (batch, head, query), scores
 * s_j = scale * q.k_j + mask_j (a false bool mask or a causal future key: -inf), p = softmax(s),
 * out = sum_j p_j v_j. The mask is only broadcast to [B, H, Lq, Lk] by libtorch.
 */
function reference(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): number[] {
  const [B, H, Lq, D] = q.shape;
  const Lk = k.shape[2];
  const Q = q.toArray(),
    K = k.toArray(),
    V = v.toArray();
  const M = o.mask ? o.mask.expand(B, H, Lq, Lk).contiguous().toArray() : null;
  const isBool = o.mask?.dtype === 'bool';
  const scale = o.scale ?? 1 / Math.sqrt(D);
  const out: number[] = [];
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Lq; i++) {
        const at = (X: number[], L: number, r: number, d: number) => X[((b * H + h) * L + r) * D + d];
        const s = Array.from({ length: Lk }, (_, j) => {
          const m = M ? M[((b * H + h) * Lq + i) * Lk + j] : 0;
          if ((o.causal && j > i) || (isBool && !m)) return -Infinity;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += at(Q, Lq, i, d) * at(K, Lk, j, d);
          return scale * dot + (isBool ? 0 : m);
        });
        const top = Math.max(...s);
        const e = s.map((x) => Math.exp(x - top));
        const z = e.reduce((a, x) => a + x, 0);
        for (let d = 0; d < D; d++) out.push(e.reduce((a, p, j) => a + (p / z) * at(V, Lk, j, d), 0));
      }
  return out;
}

function checkBoth(o: () => AttentionOptions, lq = 3, lk = 4): void {
  // values: both entry points against the reference
  tidy(() => {
    const [q, k, v] = qkv(lq, lk);
    const opts = o();
    const want = reference(q, k, v, opts);
    assertClose(sdpa(q, k, v, opts).toArray(), want, 1e-12, 1e-10);
    assertClose(attentionMath(q, k, v, opts).toArray(), want, 1e-12, 1e-10);
  });
  // gradients: finite differences
  tidy(() => gradcheck((q, k, v) => tidy(() => sdpa(q, k, v, o())), qkv(lq, lk)));
  tidy(() => gradcheck((q, k, v) => tidy(() => attentionMath(q, k, v, o())), qkv(lq, lk)));
  // a fused kernel (libtorch 2.1+) agrees with the explicit math on values and gradients
  if (!hasFusedAttention()) return;
  tidy(() => {
    const run = (fn: typeof sdpa) => {
      const xs = qkv(lq, lk).map((t) => t.requiresGrad_());
      const y = fn(xs[0], xs[1], xs[2], o());
      y.mul(randn64(y.shape, 9)).sum().backward();
      return [y.detach(), ...xs.map((t) => t.grad!)];
    };
    const fused = run(sdpa),
      math = run(attentionMath);
    fused.forEach((t, i) => assertClose(t, math[i], 1e-10, 1e-8));
  });
}

test('the reference itself: one key gives its value; equal scores average the values', () =>
  tidy(() => {
    // hand-computed cases, so the JS reference is checked too
    assert.deepEqual(
      reference(f64([1, 2], [1, 1, 1, 2]), f64([3, 4], [1, 1, 1, 2]), f64([7, -8], [1, 1, 1, 2]), {}),
      [7, -8],
    );
    const avg = reference(
      f64([0, 0], [1, 1, 1, 2]),
      f64([1, 2, 3, 4], [1, 1, 2, 2]),
      f64([2, 0, 4, 6], [1, 1, 2, 2]),
      {},
    );
    assert.deepEqual(avg, [3, 3]);
    // scores 0 and ln 3 (scale 1): weights 1/4 and 3/4
    const w = reference(f64([1], [1, 1, 1, 1]), f64([0, Math.log(3)], [1, 1, 2, 1]), f64([4, 8], [1, 1, 2, 1]), {
      scale: 1,
    });
    assert.ok(Math.abs(w[0] - 7) < 1e-12, String(w[0]));
  }));

test('no mask, custom scale', () => {
  checkBoth(() => ({}));
  checkBoth(() => ({ scale: 0.3 }));
});
test('bool mask (true = attend), broadcast over heads and queries', () => checkBoth(() => ({ mask: boolMask() })));
test('float (additive) mask', () => checkBoth(() => ({ mask: floatMask() })));
test('causal', () => checkBoth(() => ({ causal: true }), 4, 4));

test('masked keys have no influence; hand-computed single-key case', () => {
  tidy(() => {
    const [q, k, v] = qkv();
    const v2 = v.clone();
    v2.select(0, 1).narrow(1, 2, 2).fill_(1e3); // only keys masked out in sequence 1
    assertClose(sdpa(q, k, v, { mask: boolMask() }), sdpa(q, k, v2, { mask: boolMask() }), 1e-12);
    // one key: softmax is 1, so the output is that key's value for every query
    const one = sdpa(randn64([1, 3, 2], 5), randn64([1, 1, 2], 6), f64([7, -8], [1, 1, 2]));
    assertClose(one, f64([7, -8, 7, -8, 7, -8], [1, 3, 2]), 1e-12);
    // causal: the first query sees only the first key
    const c = sdpa(randn64([1, 2, 2], 7), randn64([1, 2, 2], 8), f64([1, 2, 3, 4], [1, 2, 2]), { causal: true });
    assertClose(c.select(1, 0), f64([1, 2], [1, 2]), 1e-12);
  });
});

test('attention dropout is reproducible under a seed and differentiable with it', () => {
  tidy(() => {
    const [q, k, v] = qkv();
    manualSeed(3);
    const a = sdpa(q, k, v, { dropout: 0.5 });
    manualSeed(3);
    const b = sdpa(q, k, v, { dropout: 0.5 });
    assert.ok(a.equal(b), 'same seed, same dropout');
    assert.ok(!a.allclose(sdpa(q, k, v)), 'dropout changes the result');
    gradcheck(
      (x, y, z) => {
        manualSeed(11);
        return sdpa(x, y, z, { dropout: 0.3, mask: boolMask() });
      },
      [q, k, v],
    );
  });
});
