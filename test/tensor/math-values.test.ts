// Values of comparisons, logical ops, elementwise math and reductions against hand-computed
// results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose, f64, i64 } from '../helpers/gradcheck.js';
import {
  addmm,
  crossEntropy,
  embedding,
  layerNorm,
  linear,
  mseLoss,
  nllLoss,
  outer,
  tensor,
  tidy,
  where,
} from '../../src/tensor/index.js';

test('comparisons with tensors, scalars and broadcasting give bool tensors', () =>
  tidy(() => {
    const a = tensor([1, 2, 3]),
      b = tensor([3, 2, 1]);
    const cases: [string, number[]][] = [
      ['eq', [0, 1, 0]],
      ['ne', [1, 0, 1]],
      ['lt', [1, 0, 0]],
      ['le', [1, 1, 0]],
      ['gt', [0, 0, 1]],
      ['ge', [0, 1, 1]],
    ];
    for (const [op, expected] of cases) {
      const r = (a as unknown as Record<string, (x: unknown) => ReturnType<typeof a.eq>>)[op](b);
      assert.deepEqual([r.dtype, Array.from(r.data() as Uint8Array)], ['bool', expected], op);
    }
    assert.deepEqual(a.gt(1.5).toArray(), [0, 1, 1]);
    assert.deepEqual(a.eq(2).toArray(), [0, 1, 0]);
    assert.deepEqual(
      tensor([[1], [3]])
        .lt(tensor([2, 4]))
        .toArray(),
      [1, 1, 0, 1],
    );
    const p = tensor([true, true, false]),
      q = tensor([true, false, false]);
    assert.deepEqual(
      [p.logicalAnd(q).toArray(), p.logicalOr(q).toArray(), p.logicalNot().toArray()],
      [
        [1, 0, 0],
        [1, 1, 0],
        [0, 0, 1],
      ],
    );
    assert.deepEqual([p.any().item(), p.all().item()], [1, 0]);
    assert.ok(a.equal(tensor([1, 2, 3])) && !a.equal(b));
    assert.ok(a.allclose(tensor([1, 2, 3.000001])) && !a.allclose(b));
  }));

test('elementwise values: broadcasting, where, clamp, remainder, rounding, isnan', () =>
  tidy(() => {
    assert.deepEqual(
      tensor([[1], [2]])
        .add(tensor([10, 20, 30]))
        .toArray(),
      [11, 21, 31, 12, 22, 32],
    );
    assert.deepEqual(
      tensor([1, 2])
        .add(tensor([1, 1]), 3)
        .toArray(),
      [4, 5],
    );
    assert.deepEqual(tensor([5, 7]).sub(2).toArray(), [3, 5]);
    assert.deepEqual(tensor([1, 2]).rsub(10).toArray(), [9, 8]);
    assert.deepEqual(
      tensor([1, 2])
        .mul(tensor([3, 4]))
        .toArray(),
      [3, 8],
    );
    assert.deepEqual(tensor([1, 3]).div(2).toArray(), [0.5, 1.5]);
    assert.deepEqual(tensor([2, 3]).pow(2).toArray(), [4, 9]);
    assert.deepEqual(
      tensor([2, 3])
        .pow(tensor([3, 0]))
        .toArray(),
      [8, 1],
    );
    assert.deepEqual(
      tensor([1, 5])
        .maximum(tensor([3, 2]))
        .toArray(),
      [3, 5],
    );
    assert.deepEqual(
      tensor([1, 5])
        .minimum(tensor([3, 2]))
        .toArray(),
      [1, 2],
    );
    assert.deepEqual(where(tensor([true, false]), tensor([1, 2]), tensor([3, 4])).toArray(), [1, 4]);
    assert.deepEqual(where(tensor([true, false]), 7, tensor([3, 4])).toArray(), [7, 4]);
    assert.deepEqual(tensor([-2, 0.5, 3]).clamp(-1, 1).toArray(), [-1, 0.5, 1]);
    assert.deepEqual(tensor([-2, 0.5, 3]).clamp(0).toArray(), [0, 0.5, 3]);
    assert.deepEqual(tensor([5, -5]).remainder(3).toArray(), [2, 1]);
    assert.deepEqual(tensor([-1.5, 0.4, 2.5]).floor().toArray(), [-2, 0, 2]);
    assert.deepEqual(tensor([-1.5, 0.4, 2.5]).ceil().toArray(), [-1, 1, 3]);
    assert.deepEqual(tensor([-1.5, 0.4, 2.5]).round().toArray(), [-2, 0, 2]); // half to even
    assert.deepEqual(tensor([-3, 0, 2]).sign().toArray(), [-1, 0, 1]);
    assert.deepEqual(tensor([-3, 0, 2]).abs().toArray(), [3, 0, 2]);
    assert.deepEqual(tensor([-3, 0, 2]).relu().toArray(), [0, 0, 2]);
    assert.deepEqual(tensor([NaN, 1, Infinity]).isnan().toArray(), [1, 0, 0]);
    assert.deepEqual(tensor([NaN, 1, Infinity]).isfinite().toArray(), [0, 1, 0]);
    assertClose(f64([0, 1]).exp(), [1, Math.E], 1e-15);
    assertClose(f64([1, 4]).sqrt(), [1, 2], 1e-15);
    assertClose(f64([1, 4]).rsqrt(), [1, 0.5], 1e-15);
    assertClose(f64([0, 1]).sigmoid(), [0.5, 1 / (1 + Math.exp(-1))], 1e-15);
    assertClose(f64([0, 0.5]).tanh(), [0, Math.tanh(0.5)], 1e-15);
    assertClose(f64([1, -1]).gelu(), [0.8413447460685429, -0.15865525393145707], 1e-12);
    assertClose(f64([1]).gelu('tanh'), [0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (1 + 0.044715)))], 1e-12);
    assertClose(f64([0.5]).erf(), [0.5204998778130465], 1e-12);
  }));

test('sum / mean / prod with dims, keepdim and dtype', () =>
  tidy(() => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.equal(x.sum().item(), 21);
    assert.deepEqual(x.sum(0).toArray(), [5, 7, 9]);
    assert.deepEqual(x.sum(1, true).shape, [2, 1]);
    assert.deepEqual(x.sum([0, 1]).toArray(), [21]);
    assert.equal(x.sum(undefined, false, 'float64').dtype, 'float64');
    assert.equal(tensor([1, 2], { dtype: 'int32' }).sum().dtype, 'int64'); // integer sums widen, as in PyTorch
    assert.equal(x.mean().item(), 3.5);
    assert.deepEqual(x.mean(1).toArray(), [2, 5]);
    assert.deepEqual(x.mean(-1, true).shape, [2, 1]);
    assert.equal(x.prod().item(), 720);
    assert.deepEqual(x.cumsum(1).toArray(), [1, 3, 6, 4, 9, 15]);
    assertClose(
      x.logsumexp(1),
      [Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), Math.log(Math.exp(4) + Math.exp(5) + Math.exp(6))],
      1e-5,
    );
  }));

test('max / min / argmax / argmin / maxDim / sort / topk', () =>
  tidy(() => {
    const x = tensor([
      [1, 9, 3],
      [7, 5, 6],
    ]);
    assert.deepEqual([x.max().item(), x.min().item()], [9, 1]);
    assert.equal(x.argmax().item(), 1);
    assert.equal(x.argmin().item(), 0);
    assert.deepEqual(x.argmax(0).toArray(), [1, 0, 1]);
    assert.deepEqual(x.argmax(1, true).shape, [2, 1]);
    assert.equal(x.argmax(1).dtype, 'int64');
    assert.deepEqual(x.argmin(1).toArray(), [0, 1]);
    const m = x.maxDim(1);
    assert.deepEqual(
      [m.values.toArray(), m.indices.toArray()],
      [
        [9, 7],
        [1, 0],
      ],
    );
    const n = x.minDim(0, true);
    assert.deepEqual(
      [n.values.shape, n.values.toArray(), n.indices.toArray()],
      [
        [1, 3],
        [1, 5, 3],
        [0, 1, 0],
      ],
    );
    const s = tensor([3, 1, 2]).sort();
    assert.deepEqual(
      [s.values.toArray(), s.indices.toArray()],
      [
        [1, 2, 3],
        [1, 2, 0],
      ],
    );
    assert.deepEqual(tensor([3, 1, 2]).argsort(-1, true).toArray(), [0, 2, 1]);
    const k = tensor([3, 1, 2, 5]).topk(2);
    assert.deepEqual(
      [k.values.toArray(), k.indices.toArray()],
      [
        [5, 3],
        [3, 0],
      ],
    );
  }));

test('var / std: unbiased versus population, dims; norm', () =>
  tidy(() => {
    const x = f64([1, 2, 3, 4]);
    assertClose(x.var(), [5 / 3], 1e-15);
    assertClose(x.var(undefined, 0), [1.25], 1e-15);
    assertClose(x.std(), [Math.sqrt(5 / 3)], 1e-15);
    assertClose(x.std(undefined, 0), [Math.sqrt(1.25)], 1e-15);
    const y = f64([1, 3, 2, 6], [2, 2]);
    assertClose(y.var(1), [2, 8], 1e-15);
    assertClose(y.var(0, 0, true), f64([0.25, 2.25], [1, 2]), 1e-15);
    assertClose(f64([3, 4]).norm(), [5], 1e-15);
    assertClose(f64([3, -4]).norm(1), [7], 1e-15);
    assertClose(y.norm(2, 1), [Math.sqrt(10), Math.sqrt(40)], 1e-15);
    assertClose(f64([1, -2]).norm(Infinity), [2], 1e-15);
  }));

test('softmax / logSoftmax / layerNorm values', () =>
  tidy(() => {
    const e = [1, Math.E, Math.E ** 2],
      z = e[0] + e[1] + e[2];
    assertClose(
      f64([0, 1, 2]).softmax(0),
      e.map((v) => v / z),
      1e-15,
    );
    assertClose(
      f64([0, 1, 2]).logSoftmax(0),
      e.map((v) => Math.log(v / z)),
      1e-15,
    );
    assert.equal(tensor([0, 1]).softmax(0, 'float64').dtype, 'float64');
    const sd = Math.sqrt(2 / 3 + 1e-5);
    assertClose(layerNorm(f64([1, 2, 3]), [3]), [-1 / sd, 0, 1 / sd], 1e-12);
    assertClose(layerNorm(f64([1, 2, 3]), [3], f64([1, 2, 3]), f64([0, 1, 0])), [-1 / sd, 1, 3 / sd], 1e-12);
  }));

test('matrix products and losses: hand-computed values', () =>
  tidy(() => {
    const a = f64([1, 2, 3, 4], [2, 2]),
      b = f64([5, 6, 7, 8], [2, 2]);
    assertClose(a.matmul(b), [19, 22, 43, 50], 0);
    assertClose(a.mm(b), [19, 22, 43, 50], 0);
    assertClose(a.unsqueeze(0).bmm(b.unsqueeze(0)), f64([19, 22, 43, 50], [1, 2, 2]), 0);
    assertClose(a.matmul(f64([1, -1])), [-1, -1], 0);
    assertClose(linear(a, b, f64([1, 2])), [18, 25, 40, 55], 0); // a @ b^T + bias
    assertClose(addmm(f64([1, 1]), a, b, 2, 0.5), [11.5, 13, 23.5, 27], 0);
    assertClose(outer(f64([1, 2]), f64([3, 4, 5])), [3, 4, 5, 6, 8, 10], 0);
    // cross entropy with label smoothing s over C classes: (1 - s) * nll + s * mean_c(-log p_c)
    const logits = f64([1, 2, 0.5], [1, 3]);
    const lp = logits.logSoftmax(1).toArray();
    const s = 0.1;
    const expect = (1 - s) * -lp[1] + (s * -(lp[0] + lp[1] + lp[2])) / 3;
    assertClose(crossEntropy(logits, i64([1]), { labelSmoothing: s }), [expect], 1e-12);
    // ignored row not in the mean
    assertClose(crossEntropy(f64([1, 2, 0.5, 0, 0, 0], [2, 3]), i64([1, -100])), [-lp[1]], 1e-12);
    assertClose(
      crossEntropy(f64([1, 2, 0.5, 0, 0, 0], [2, 3]), i64([1, 0]), { reduction: 'sum' }),
      [-lp[1] + Math.log(3)],
      1e-12,
    );
    assertClose(
      crossEntropy(f64([1, 2, 0.5, 0, 0, 0], [2, 3]), i64([1, 0]), { weight: f64([1, 3, 1]) }),
      [(3 * -lp[1] + Math.log(3)) / 4],
      1e-12,
    );
    assertClose(mseLoss(f64([1, 2]), f64([2, 4])), [2.5], 0);
    assertClose(mseLoss(f64([1, 2]), f64([2, 4]), 'sum'), [5], 0);
    assertClose(nllLoss(f64([-1, -2, -3, -4], [2, 2]), i64([1, 0])), [2.5], 0);
    assertClose(embedding(f64([1, 2, 3, 4, 5, 6], [3, 2]), i64([2, 0, 2])), f64([5, 6, 1, 2, 5, 6], [3, 2]), 0);
  }));
