// The fused CPU masked-LM loss (native/src/fused-loss.cc) against libtorch's cross entropy in
// float64: loss and gradient, float32 and bfloat16 logits, ignored rows, a vocabulary that is not a
// multiple of the kernel's 16 lanes, extreme and non-finite logits, an upstream gradient, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  crossEntropy,
  fusedCrossEntropy,
  manualSeed,
  randint,
  randn,
  tensor,
  type Tensor,
} from '../../src/tensor/index.js';

/** Loss and gradient of libtorch's cross entropy on the same values, in float64. */
function reference(logits: Tensor, labels: Tensor): { loss: number; grad: Tensor } {
  const x = logits.to('float64').detach().requiresGrad_();
  const loss = crossEntropy(x, labels, { ignoreIndex: -100 });
  loss.backward();
  return { loss: loss.item(), grad: x.grad! };
}

function fused(logits: Tensor, labels: Tensor, upstream = 1): { loss: number; grad: Tensor } {
  const x = logits.detach().requiresGrad_();
  const loss = fusedCrossEntropy(x, labels);
  assert.equal(loss.dtype, 'float32');
  (upstream === 1 ? loss : loss.mul(upstream)).backward();
  assert.equal(x.grad!.dtype, logits.dtype, 'the gradient has the logits dtype');
  return { loss: loss.item(), grad: x.grad! };
}

const maxAbs = (a: Tensor, b: Tensor) => a.to('float64').sub(b.to('float64')).abs().max().item();

function labelsWithIgnored(n: number, v: number): Tensor {
  const ys = Array.from(randint(0, v, [n]).data() as BigInt64Array, Number);
  for (let i = 0; i < n; i += 5) ys[i] = -100;
  return tensor(BigInt64Array.from(ys.map(BigInt)));
}

test('fusedCrossEntropy (float32) matches cross entropy in float64: loss and gradient', () => {
  manualSeed(1);
  for (const [n, v] of [
    [37, 1003],
    [8, 7],
    [3, 30522],
  ] as const) {
    const logits = randn([n, v]).mul(4);
    const labels = labelsWithIgnored(n, v);
    const r = reference(logits, labels);
    const f = fused(logits, labels);
    assert.ok(Math.abs(f.loss - r.loss) <= 2e-6 * Math.abs(r.loss), `[${n}, ${v}]: loss ${f.loss} vs ${r.loss}`);
    // the gradient within float32 rounding of the float64 one: no further off than libtorch's float32 kernel
    const x32 = logits.detach().requiresGrad_();
    crossEntropy(x32, labels, { ignoreIndex: -100 }).backward();
    const ours = maxAbs(f.grad, r.grad),
      torch32 = maxAbs(x32.grad!, r.grad);
    assert.ok(
      ours <= Math.max(2 * torch32, 1e-8),
      `[${n}, ${v}]: gradient off by ${ours}, libtorch float32 ${torch32}`,
    );
  }
});

test('fusedCrossEntropy (bfloat16) matches cross entropy of the same values; gradient rounded to bf16', () => {
  manualSeed(2);
  const logits = randn([29, 515]).mul(3).to('bfloat16');
  const labels = labelsWithIgnored(29, 515);
  const r = reference(logits, labels);
  const f = fused(logits, labels);
  assert.ok(Math.abs(f.loss - r.loss) <= 2e-6 * Math.abs(r.loss), `loss ${f.loss} vs ${r.loss}`);
  // bf16 keeps 8 bits: each gradient entry within half a bf16 step of the float64 one
  const err = f.grad.to('float64').sub(r.grad).abs();
  const tol = r.grad
    .abs()
    .mul(2 ** -8)
    .add(1e-12);
  assert.ok(err.le(tol).all().item(), `bf16 gradient off by up to ${err.max().item()}`);
});

test('fusedCrossEntropy: upstream gradient, no-grad, extreme and non-finite logits, bad labels', () => {
  manualSeed(3);
  const logits = randn([6, 50]);
  const labels = randint(0, 50, [6]);
  const once = fused(logits, labels);
  const thrice = fused(logits, labels, 3);
  assert.ok(maxAbs(thrice.grad, once.grad.mul(3)) <= 1e-8, 'the upstream gradient scales it');
  // without a gradient wanted, the same loss
  assert.ok(Math.abs(fusedCrossEntropy(logits, labels).item() - once.loss) <= 1e-6);
  // logits far apart: no overflow, and the loss of the winning row is exactly 0
  const far = tensor(new Float32Array([1e4, -1e4, 0, 5e3, -3e4, 2e4]), { shape: [2, 3] });
  const farLoss = fused(far, tensor(new BigInt64Array([0n, 2n]))).loss;
  assert.ok(Math.abs(farLoss - reference(far, tensor(new BigInt64Array([0n, 2n]))).loss) <= 1e-3, `${farLoss}`);
  // a NaN or +inf logit makes the loss NaN, as in libtorch (divergence detection relies on it)
  for (const bad of [NaN, Infinity]) {
    const x = tensor(new Float32Array([0, 1, bad, 2, 3, 4]), { shape: [2, 3] });
    assert.ok(Number.isNaN(fusedCrossEntropy(x, tensor(new BigInt64Array([0n, 1n]))).item()), `${bad}`);
  }
  // every row ignored: NaN, as libtorch's mean over nothing
  assert.ok(Number.isNaN(fusedCrossEntropy(logits, tensor(new BigInt64Array(6).fill(-100n))).item()));
  assert.throws(
    () => fusedCrossEntropy(logits, tensor(new BigInt64Array([0n, 1n, 2n, 50n, 3n, 4n]))),
    /fusedCrossEntropy: label 50 is outside \[0, 50\)/,
  );
});
