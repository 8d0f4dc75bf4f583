// Autograd through the JS API: leaves, backward with a gradient, retainGraph, accumulation,
// noGrad, detach, retainGrad.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose, f64 } from '../helpers/gradcheck.js';
import { isGradEnabled, noGrad, ones, tidy } from '../../src/tensor/index.js';

test('requiresGrad: off by default, set by requiresGrad_ or the setter; leaves', () =>
  tidy(() => {
    const x = f64([1, 2]);
    assert.equal(x.requiresGrad, false);
    assert.equal(x.requiresGrad_(), x);
    assert.ok(x.requiresGrad && x.isLeaf);
    const y = x.mul(2);
    assert.ok(y.requiresGrad && !y.isLeaf);
    const z = f64([1]);
    z.requiresGrad = true;
    assert.ok(z.requiresGrad);
    z.requiresGrad = false;
    assert.ok(!z.requiresGrad);
    assert.equal(x.grad, null);
  }));

test('backward of a scalar, and of a tensor with a gradient argument', () =>
  tidy(() => {
    const x = f64([1, 2, 3]).requiresGrad_();
    x.mul(x).sum().backward();
    assertClose(x.grad!, [2, 4, 6], 0);
    const w = f64([1, 2, 3]).requiresGrad_();
    w.mul(3).backward(f64([1, 0.5, -1]));
    assertClose(w.grad!, [3, 1.5, -3], 0);
    assert.throws(
      () => w.mul(3).backward(),
      /^Error: backward: grad can be implicitly created only for scalar outputs/,
    );
    assert.throws(() => w.mul(3).backward(f64([1])), /^Error: backward: invalid gradient at index 0/);
    assert.throws(() => f64([1]).sum().backward(), /^Error: backward: element 0 of tensors does not require grad/);
  }));

test('retainGraph: a second backward works with it and throws a JS Error without it', () =>
  tidy(() => {
    const x = f64([1, 2]).requiresGrad_();
    const y = x.exp().sum();
    y.backward(undefined, true);
    y.backward(undefined, true);
    assertClose(x.grad!, [2 * Math.E, 2 * Math.E ** 2], 1e-12);
    y.backward();
    assert.throws(
      () => y.backward(),
      (e: unknown) =>
        e instanceof Error && /^backward: Trying to backward through the graph a second time/.test(e.message),
    );
    // the engine keeps working
    const z = f64([3]).requiresGrad_();
    z.mul(z).sum().backward();
    assertClose(z.grad!, [6], 0);
  }));

test('.grad accumulates over backward calls; grad = null clears it; grad can be set', () =>
  tidy(() => {
    const x = f64([1, 2]).requiresGrad_();
    x.sum().backward();
    x.mul(3).sum().backward();
    assertClose(x.grad!, [4, 4], 0);
    x.grad = null;
    assert.equal(x.grad, null);
    x.mul(2).sum().backward();
    assertClose(x.grad!, [2, 2], 0);
    x.grad = f64([10, 20]);
    x.sum().backward();
    assertClose(x.grad!, [11, 21], 0);
    // the getter returns a handle on the same memory: zeroing it in place zeroes the gradient
    x.grad!.zero_();
    assertClose(x.grad!, [0, 0], 0);
  }));

test('noGrad: nothing is recorded; the mode is restored afterwards, also after a throw', () =>
  tidy(() => {
    const x = f64([1, 2]).requiresGrad_();
    assert.ok(isGradEnabled());
    const y = noGrad(() => {
      assert.equal(isGradEnabled(), false);
      return x.mul(2);
    });
    assert.equal(y.requiresGrad, false);
    assert.ok(isGradEnabled());
    assert.throws(
      () =>
        noGrad(() => {
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.ok(isGradEnabled());
    // nested: the inner call restores the outer (disabled) mode
    noGrad(() => {
      noGrad(() => undefined);
      assert.equal(isGradEnabled(), false);
    });
    assert.ok(isGradEnabled());
    // in-place updates of leaves are allowed under noGrad (the optimizer's case) and refused outside
    noGrad(() => x.add_(1));
    assertClose(x, [2, 3], 0);
    assert.throws(
      () => x.add_(1),
      /^Error: add_: a leaf Variable that requires grad is being used in an in-place operation/,
    );
  }));

test('detach: no gradient flows, the storage is shared', () =>
  tidy(() => {
    const x = f64([1, 2]).requiresGrad_();
    const d = x.detach();
    assert.equal(d.requiresGrad, false);
    x.mul(d).sum().backward();
    assertClose(x.grad!, [1, 2], 0); // d is a constant
    noGrad(() => d.add_(10));
    assertClose(x, [11, 12], 0);
  }));

test('retainGrad keeps the gradient of a non-leaf', () =>
  tidy(() => {
    const x = f64([1, 2]).requiresGrad_();
    const y = x.mul(3).retainGrad();
    y.pow(2).sum().backward();
    assertClose(y.grad!, [6, 12], 0);
    assertClose(x.grad!, [18, 36], 0);
  }));

test('gradients flow through float32 graphs too', () =>
  tidy(() => {
    const x = ones([2, 2]).requiresGrad_();
    x.matmul(x).sum().backward();
    assert.equal(x.grad!.dtype, 'float32');
    assertClose(x.grad!, [4, 4, 4, 4], 0);
  }));
