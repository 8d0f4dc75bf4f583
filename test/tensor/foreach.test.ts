// Every _foreach_ op against the same op applied tensor by tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose, randn64, uniform64 } from '../helpers/gradcheck.js';
import { foreach, tidy, type Tensor } from '../../src/tensor/index.js';

// three tensors of different shapes, as an optimizer's parameter list
const shapes = [[3], [2, 4], [2, 1, 3]];
const list = (seed: number) => shapes.map((s, i) => randn64(s, seed * 10 + i));
const positive = (seed: number) => shapes.map((s, i) => uniform64(s, 0.5, 2, seed * 10 + i));
const clones = (xs: Tensor[]) => xs.map((x) => x.clone());

/** Applies `multi` to one copy of xs and `single` to each tensor of another; they must agree. */
function same(xs: Tensor[], multi: (ys: Tensor[]) => void, single: (y: Tensor, i: number) => void): void {
  const a = clones(xs),
    b = clones(xs);
  multi(a);
  b.forEach(single);
  a.forEach((t, i) => assertClose(t, b[i], 0, 0));
}

test('foreach.add_: list, scalar, list with alpha', () =>
  tidy(() => {
    const xs = list(1),
      ys = list(2);
    same(
      xs,
      (a) => foreach.add_(a, ys),
      (t, i) => t.add_(ys[i]),
    );
    same(
      xs,
      (a) => foreach.add_(a, 0.5),
      (t) => t.add_(0.5),
    );
    same(
      xs,
      (a) => foreach.add_(a, ys, -0.3),
      (t, i) => t.add_(ys[i], -0.3),
    );
  }));

test('foreach.mul_ / div_: list and scalar', () =>
  tidy(() => {
    const xs = list(3),
      ys = positive(4);
    same(
      xs,
      (a) => foreach.mul_(a, ys),
      (t, i) => t.mul_(ys[i]),
    );
    same(
      xs,
      (a) => foreach.mul_(a, 0.9),
      (t) => t.mul_(0.9),
    );
    same(
      xs,
      (a) => foreach.div_(a, ys),
      (t, i) => t.div_(ys[i]),
    );
    same(
      xs,
      (a) => foreach.div_(a, 3),
      (t) => t.div_(3),
    );
  }));

test('foreach.addcmul_ / addcdiv_ with and without value', () =>
  tidy(() => {
    const xs = list(5),
      t1 = list(6),
      t2 = positive(7);
    same(
      xs,
      (a) => foreach.addcmul_(a, t1, t2),
      (t, i) => t.addcmul_(t1[i], t2[i]),
    );
    same(
      xs,
      (a) => foreach.addcmul_(a, t1, t2, 0.1),
      (t, i) => t.addcmul_(t1[i], t2[i], 0.1),
    );
    same(
      xs,
      (a) => foreach.addcdiv_(a, t1, t2),
      (t, i) => t.addcdiv_(t1[i], t2[i]),
    );
    same(
      xs,
      (a) => foreach.addcdiv_(a, t1, t2, -0.01),
      (t, i) => t.addcdiv_(t1[i], t2[i], -0.01),
    );
  }));

test('foreach.lerp_ / zero_ / copy_', () =>
  tidy(() => {
    const xs = list(8),
      ends = list(9);
    same(
      xs,
      (a) => foreach.lerp_(a, ends, 0.1),
      (t, i) => t.lerp_(ends[i], 0.1),
    );
    same(
      xs,
      (a) => foreach.zero_(a),
      (t) => t.zero_(),
    );
    same(
      xs,
      (a) => foreach.copy_(a, ends),
      (t, i) => t.copy_(ends[i]),
    );
    assert.throws(() => foreach.copy_(clones(xs), ends.slice(1)), /^Error: foreachCopy_: lists differ in length/);
  }));

test('foreach.sqrt / norm / clone return new tensors and leave the inputs alone', () =>
  tidy(() => {
    const xs = positive(10);
    const before = xs.map((x) => x.toArray());
    foreach.sqrt(xs).forEach((r, i) => assertClose(r, xs[i].sqrt(), 0, 0));
    foreach.norm(xs).forEach((r, i) => assertClose(r, xs[i].norm(), 1e-15, 1e-14));
    foreach.norm(xs, 1).forEach((r, i) => assertClose(r, xs[i].norm(1), 1e-15, 1e-14));
    const c = foreach.clone(xs);
    c.forEach((r, i) => {
      assert.notEqual(r.handle, xs[i].handle);
      assertClose(r, xs[i], 0, 0);
    });
    c[0].zero_();
    xs.forEach((x, i) => assert.deepEqual(x.toArray(), before[i]));
  }));

test('foreach ops on float32 lists match too (the multi-tensor kernels)', () =>
  tidy(() => {
    const xs = list(11).map((x) => x.to('float32')),
      ys = positive(12).map((x) => x.to('float32'));
    same(
      xs,
      (a) => {
        foreach.mul_(a, 0.9);
        foreach.addcmul_(a, ys, ys, 0.1);
        foreach.addcdiv_(a, ys, ys, -1e-3);
      },
      (t, i) => {
        t.mul_(0.9);
        t.addcmul_(ys[i], ys[i], 0.1);
        t.addcdiv_(ys[i], ys[i], -1e-3);
      },
    );
  }));
