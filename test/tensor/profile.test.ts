// The op profile behind `growbert bench --profile`: outermost ops by name, forward and backward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  getBlasThreads,
  getNumThreads,
  linear,
  profileOps,
  randn,
  setNumThreads,
  threadCpuMs,
  tidy,
} from '../../src/tensor/index.js';

test('profileOps names the outermost ops, forward and autograd nodes, and counts their calls', () => {
  const x = randn([64, 32]),
    w = randn([16, 32]).requiresGrad_();
  const { result, profile } = profileOps(() =>
    tidy(() => {
      const y = linear(x, w).relu();
      y.sum().backward();
      return y.shape;
    }),
  );
  assert.deepEqual(result, [64, 16]);
  const names = [...profile.ops.keys()];
  assert.ok(names.includes('aten::linear'), names.join(', '));
  assert.ok(
    names.some((n) => /^autograd::engine::evaluate_function: .*Mm.*Backward/.test(n)),
    names.join(', '),
  );
  // The matmul inside linear is counted with linear, not again on its own.
  assert.ok(!names.includes('aten::mm'), names.join(', '));
  assert.equal(profile.ops.get('aten::linear')!.calls, 1);
  const sum = [...profile.ops.values()].reduce((a, t) => a + t.ms, 0);
  assert.ok(Math.abs(sum - profile.insideOpsMs) < 1e-6 && sum > 0);
});

test('profileOps records nothing once it has returned, even after a throw', () => {
  assert.throws(
    () =>
      profileOps(() => {
        throw new Error('boom');
      }),
    /boom/,
  );
  const { profile } = profileOps(() => 1);
  assert.equal(profile.ops.size, 0);
  assert.ok(threadCpuMs() > 0);
});

test("setNumThreads sizes the BLAS pool with libtorch's (where the BLAS is OpenBLAS)", () => {
  const before = getNumThreads();
  try {
    setNumThreads(1);
    const b = getBlasThreads();
    assert.ok(b === 1 || b === -1, `BLAS threads ${b}`);
  } finally {
    setNumThreads(before);
  }
});
