// Gradients of the elementwise ops (binary with tensors, scalars and broadcasting; unary),
// checked against central differences.
import { test } from 'node:test';
import { gradcheck, randn64, uniform64, f64 } from '../helpers/gradcheck.js';
import { tidy, where, type Tensor } from '../../src/tensor/index.js';

const check = (f: (...xs: Tensor[]) => Tensor, make: () => Tensor[]) => tidy(() => gradcheck(f, make()));

test('add / sub with tensors, broadcasting, scalars and alpha', () => {
  check(
    (a, b) => a.add(b),
    () => [randn64([2, 3], 1), randn64([2, 3], 2)],
  );
  check(
    (a, b) => a.add(b),
    () => [randn64([2, 3], 1), randn64([3], 2)],
  );
  check(
    (a, b) => a.add(b, 2.5),
    () => [randn64([2, 1, 3], 1), randn64([4, 1], 2)],
  );
  check(
    (a) => a.add(1.5),
    () => [randn64([4], 3)],
  );
  check(
    (a, b) => a.sub(b),
    () => [randn64([3, 1], 1), randn64([1, 4], 2)],
  );
  check(
    (a, b) => a.sub(b, -0.5),
    () => [randn64([2, 3], 1), randn64([3], 2)],
  );
  check(
    (a) => a.sub(2),
    () => [randn64([4], 3)],
  );
  check(
    (a) => a.rsub(2),
    () => [randn64([4], 3)],
  );
});

test('mul / div with tensors, broadcasting and scalars', () => {
  check(
    (a, b) => a.mul(b),
    () => [randn64([2, 3], 1), randn64([2, 3], 2)],
  );
  check(
    (a, b) => a.mul(b),
    () => [randn64([2, 1], 1), randn64([3], 2)],
  );
  check(
    (a) => a.mul(-3),
    () => [randn64([5], 3)],
  );
  check(
    (a, b) => a.div(b),
    () => [randn64([2, 3], 1), uniform64([3], 0.5, 2, 2)],
  );
  check(
    (a, b) => a.div(b),
    () => [randn64([3, 1], 1), uniform64([2, 1, 4], -2, -0.5, 2)],
  );
  check(
    (a) => a.div(4),
    () => [randn64([5], 3)],
  );
});

test('pow: tensor base and exponent, scalar exponent, broadcasting', () => {
  check(
    (a, b) => a.pow(b),
    () => [uniform64([2, 3], 0.5, 2, 1), randn64([2, 3], 2)],
  );
  check(
    (a, b) => a.pow(b),
    () => [uniform64([2, 3], 0.5, 2, 1), randn64([3], 2)],
  );
  check(
    (a) => a.pow(3),
    () => [randn64([5], 3)],
  );
  check(
    (a) => a.pow(2.5),
    () => [uniform64([5], 0.5, 2, 4)],
  );
  check(
    (a) => a.pow(-1.5),
    () => [uniform64([5], 0.5, 2, 5)],
  );
});

test('maximum / minimum (no ties)', () => {
  check(
    (a, b) => a.maximum(b),
    () => [f64([1, -2, 3, 0.5]), f64([0, -1, 4, 0.25])],
  );
  check(
    (a, b) => a.minimum(b),
    () => [f64([1, -2, 3, 0.5]), f64([0, -1, 4, 0.25])],
  );
  check(
    (a, b) => a.maximum(b),
    () => [randn64([2, 3], 1), randn64([3], 2)],
  );
  check(
    (a, b) => a.minimum(b),
    () => [randn64([2, 1], 1), randn64([2, 3], 2)],
  );
});

test('where with tensors, scalars and broadcasting', () => {
  check(
    (a, b) => tidy(() => where(a.gt(0), a, b)),
    () => [randn64([2, 3], 1), randn64([2, 3], 2)],
  );
  check(
    (a, b) => tidy(() => where(f64([1, 0, 1]).gt(0.5), a, b)),
    () => [randn64([2, 3], 1), randn64([3], 2)],
  );
  check(
    (a) => tidy(() => where(a.lt(0), a, 2)),
    () => [randn64([6], 3)],
  );
  check(
    (b) => tidy(() => where(b.lt(0), -1, b)),
    () => [randn64([6], 4)],
  );
});

test('clamp (away from the bounds), min only, max only', () => {
  check(
    (a) => a.clamp(-0.5, 0.5),
    () => [f64([-2, -0.3, 0.1, 0.45, 0.9, 3])],
  );
  check(
    (a) => a.clamp(0),
    () => [f64([-2, -0.3, 0.1, 0.9])],
  );
  check(
    (a) => a.clamp(undefined, 0),
    () => [f64([-2, -0.3, 0.1, 0.9])],
  );
});

test('unary ops', () => {
  const x = () => [randn64([2, 3], 7)];
  const pos = () => [uniform64([2, 3], 0.3, 3, 8)];
  const away = () => [f64([-2, -0.7, -0.1, 0.2, 0.9, 1.7], [2, 3])];
  check((a) => a.neg(), x);
  check((a) => a.abs(), away);
  check((a) => a.exp(), x);
  check((a) => a.log(), pos);
  check((a) => a.log1p(), pos);
  check((a) => a.sqrt(), pos);
  check((a) => a.rsqrt(), pos);
  check((a) => a.tanh(), x);
  check((a) => a.sigmoid(), x);
  check((a) => a.relu(), away);
  check((a) => a.erf(), x);
  check((a) => a.sin(), x);
  check((a) => a.cos(), x);
  check((a) => a.reciprocal(), pos);
});

test('gelu, exact (erf) and tanh approximation', () => {
  check(
    (a) => a.gelu(),
    () => [randn64([3, 4], 9)],
  );
  check(
    (a) => a.gelu('tanh'),
    () => [randn64([3, 4], 10)],
  );
});

test('casts: the gradient of to(float32) comes back as float64', () => {
  // float32 rounding limits finite differences, so the linear cast uses a wide step.
  tidy(() =>
    gradcheck((a) => a.to('float32').mul(3).to('float64'), [randn64([2, 3], 11)], {
      eps: 1e-2,
      atol: 1e-4,
      rtol: 1e-4,
    }),
  );
  check(
    (a) => a.to('float64').mul(a),
    () => [randn64([4], 12)],
  );
});
