// In-place ops: values, aliasing (the handle keeps its identity), and chaining.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose, f64, i64 } from '../helpers/gradcheck.js';
import { Generator, memory, tensor, tidy, zeros } from '../../src/tensor/index.js';

test('add_ / sub via alpha / mul_ / div_ with tensors and scalars', () =>
  tidy(() => {
    const x = f64([1, 2, 3]);
    assert.equal(x.add_(f64([1, 1, 1])), x);
    assertClose(x, [2, 3, 4], 0);
    x.add_(f64([1, 2, 3]), -2);
    assertClose(x, [0, -1, -2], 0);
    x.add_(5);
    assertClose(x, [5, 4, 3], 0);
    x.mul_(f64([2, 0, -1])).mul_(3);
    assertClose(x, [30, 0, -9], 0);
    x.div_(f64([3, 1, 3])).div_(2);
    assertClose(x, [5, 0, -1.5], 0);
    // broadcasting into the left operand's shape
    const m = zeros([2, 3], { dtype: 'float64' }).add_(f64([1, 2, 3]));
    assertClose(m, [1, 2, 3, 1, 2, 3], 0);
  }));

test('addcmul_ / addcdiv_ with and without value', () =>
  tidy(() => {
    const x = f64([1, 1]);
    x.addcmul_(f64([2, 3]), f64([4, 5]));
    assertClose(x, [9, 16], 0);
    x.addcmul_(f64([1, 1]), f64([2, 2]), 0.5);
    assertClose(x, [10, 17], 0);
    x.addcdiv_(f64([4, 9]), f64([2, 3]));
    assertClose(x, [12, 20], 0);
    x.addcdiv_(f64([4, 9]), f64([2, 3]), -2);
    assertClose(x, [8, 14], 0);
  }));

test('copy_ (broadcast, dtype conversion), zero_, fill_, lerp_, clamp_, sqrt_', () =>
  tidy(() => {
    const x = zeros([2, 2], { dtype: 'float64' });
    x.copy_(tensor([1, 2], { dtype: 'int32' }));
    assertClose(x, [1, 2, 1, 2], 0);
    assert.equal(x.dtype, 'float64');
    x.zero_();
    assertClose(x, [0, 0, 0, 0], 0);
    x.fill_(2.5);
    assertClose(x, [2.5, 2.5, 2.5, 2.5], 0);
    const y = f64([0, 10]);
    y.lerp_(f64([10, 20]), 0.25);
    assertClose(y, [2.5, 12.5], 0);
    y.lerp_(f64([0, 0]), f64([1, 0.5]));
    assertClose(y, [0, 6.25], 0);
    const c = f64([-3, 0.5, 3]);
    c.clamp_(-1, 1);
    assertClose(c, [-1, 0.5, 1], 0);
    c.clamp_(0);
    assertClose(c, [0, 0.5, 1], 0);
    c.clamp_(undefined, 0.75);
    assertClose(c, [0, 0.5, 0.75], 0);
    const s = f64([4, 9]);
    assertClose(s.sqrt_(), [2, 3], 0);
  }));

test('maskedFill_, indexCopy_, normal_ / uniform_ with a generator, set_', () =>
  tidy(() => {
    const x = f64([1, 2, 3]);
    x.maskedFill_(tensor([false, true, true]), 0);
    assertClose(x, [1, 0, 0], 0);
    const m = zeros([3, 2], { dtype: 'float64' });
    m.indexCopy_(0, i64([2, 0]), f64([1, 2, 3, 4], [2, 2]));
    assertClose(m, [3, 4, 0, 0, 1, 2], 0);
    const u = zeros([100], { dtype: 'float64' });
    u.uniform_(2, 3, new Generator(1));
    assert.ok(u.min().item() >= 2 && u.max().item() < 3);
    const v = zeros([100], { dtype: 'float64' }).uniform_(2, 3, new Generator(1));
    assert.ok(u.equal(v), 'same generator seed, same draws');
    const n = zeros([2000], { dtype: 'float64' }).normal_(5, 2, new Generator(2));
    assert.ok(Math.abs(n.mean().item() - 5) < 0.2 && Math.abs(n.std().item() - 2) < 0.2);
    const a = f64([1, 2]);
    const h = a.handle;
    a.set_(f64([7, 8, 9]));
    assert.equal(a.handle, h);
    assertClose(a, [7, 8, 9], 0);
  }));

test('in-place ops write through views into the base tensor', () =>
  tidy(() => {
    const base = zeros([2, 3], { dtype: 'float64' });
    base.select(0, 1).fill_(1);
    base.narrow(1, 0, 1).add_(5);
    assertClose(base, [5, 0, 0, 6, 1, 1], 0);
    base.T.mul_(2);
    assertClose(base, [10, 0, 0, 12, 2, 2], 0);
  }));

test('in-place ops create no new native tensors', () =>
  tidy(() => {
    const x = f64([1, 2]),
      y = f64([3, 4]);
    const before = memory().tensors;
    x.add_(y).mul_(y).addcmul_(x, y).addcdiv_(x, y).lerp_(y, 0.5).clamp_(0, 100).copy_(y).zero_().fill_(1);
    assert.equal(memory().tensors, before);
  }));
