// scaledDotProductAttention: gradients with bool and float masks and causal masking, the fused
// path (libtorch 2.1+) against the explicit math, and seeded dropout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck, randn64, assertClose, f64 } from '../helpers/gradcheck.js';
import {
  attentionMath, manualSeed, scaledDotProductAttention as sdpa, tensor, tidy, type AttentionOptions, type Tensor,
} from '../../src/tensor/index.js';

// batch 2, heads 2, 3 queries, 4 keys, head size 5
const qkv = (lq = 3, lk = 4) => [randn64([2, 2, lq, 5], 1), randn64([2, 2, lk, 5], 2), randn64([2, 2, lk, 5], 3)];
// key padding: the second sequence has only its first 2 keys; [2, 1, 1, 4]
const boolMask = () => tensor([[true, true, true, true], [true, true, false, false]], { dtype: 'bool' }).reshape(2, 1, 1, 4);
const floatMask = () => randn64([2, 1, 3, 4], 4).mul(0.5);

function checkBoth(o: () => AttentionOptions, lq = 3, lk = 4): void {
  tidy(() => gradcheck((q, k, v) => tidy(() => sdpa(q, k, v, o())), qkv(lq, lk)));
  tidy(() => gradcheck((q, k, v) => tidy(() => attentionMath(q, k, v, o())), qkv(lq, lk)));
  // fused and math agree on values and on gradients
  tidy(() => {
    const run = (fn: typeof sdpa) => {
      const xs = qkv(lq, lk).map((t) => t.requiresGrad_());
      const y = fn(xs[0], xs[1], xs[2], o());
      y.mul(randn64(y.shape, 9)).sum().backward();
      return [y.detach(), ...xs.map((t) => t.grad!)];
    };
    const fused = run(sdpa), math = run(attentionMath);
    fused.forEach((t, i) => assertClose(t, math[i], 1e-10, 1e-8));
  });
}

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
    gradcheck((x, y, z) => { manualSeed(11); return sdpa(x, y, z, { dropout: 0.3, mask: boolMask() }); }, [q, k, v]);
  });
});
