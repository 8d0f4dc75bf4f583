import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayerNorm, Linear, LowRankLinear, Module, Embedding } from '../../src/nn/index.js';
import { Generator, memory, noGrad, randn, tensor, tidy, type Tensor } from '../../src/tensor/index.js';

class Block extends Module {
  readonly proj: Linear;
  readonly norm: LayerNorm;
  readonly scale: Tensor;
  constructor() {
    super();
    this.scale = this.param('scale', tensor([1, 1, 1, 1]));
    this.proj = this.child('attention.output.dense', new Linear(4, 4));
    this.norm = this.child('LayerNorm', new LayerNorm(4));
  }
}

test('dotted names, own parameters first, shared tensors listed once', () => {
  const m = tidy(() => new Block()); // built inside a scope: parameters must survive it
  assert.deepEqual(
    [...m.namedParameters().keys()],
    ['scale', 'attention.output.dense.weight', 'attention.output.dense.bias', 'LayerNorm.weight', 'LayerNorm.bias'],
  );
  assert.ok(m.parameters().every((p) => !p.isDisposed && p.isLeaf && p.requiresGrad));
  assert.equal(m.numParameters(), 4 + 16 + 4 + 4 + 4);
  m.eval();
  assert.equal(m.proj.training, false);
  m.train();
  assert.equal(m.norm.training, true);
  m.dispose();
  assert.ok(m.parameters().every((p) => p.isDisposed));
});

test('parameters are updated in place by an optimizer step; stateDict shares memory', () => {
  const lin = new Linear(3, 2, { generator: new Generator(1) });
  const before = lin.weight.toArray();
  tidy(() => {
    lin
      .forward(randn([5, 3]))
      .sum()
      .backward();
    noGrad(() => lin.weight.add_(lin.weight.grad!, -1));
  });
  assert.notDeepEqual(lin.weight.toArray(), before);
  tidy(() => {
    const sd = lin.stateDict();
    assert.deepEqual(sd.get('weight')!.toArray(), lin.weight.toArray());
    noGrad(() => sd.get('bias')!.fill_(3));
  });
  assert.deepEqual(lin.bias!.toArray(), [3, 3]);
  lin.dispose();
});

test('loadStateDict copies in place (same tensor objects) and converts dtype', () => {
  const a = new Linear(2, 2);
  const w = a.weight;
  a.loadStateDict(
    new Map([
      [
        'weight',
        tensor(
          [
            [1, 2],
            [3, 4],
          ],
          { dtype: 'float64' },
        ),
      ],
      ['bias', tensor([5, 6])],
    ]),
  );
  assert.equal(a.weight, w);
  assert.equal(a.weight.dtype, 'float32');
  assert.deepEqual(a.weight.toArray(), [1, 2, 3, 4]);
  a.dispose();
});

test('Linear computes in its input dtype (bf16 matmul on float32 weights); LayerNorm in float32', () => {
  const lin = new Linear(4, 3);
  const ln = new LayerNorm(3);
  tidy(() => {
    const x = randn([2, 4]);
    const y16 = lin.forward(x.to('bfloat16'));
    assert.equal(y16.dtype, 'bfloat16');
    assert.ok(y16.float().sub(lin.forward(x)).abs().max().item() < 0.02);
    assert.equal(ln.forward(y16).dtype, 'float32');
    ln.forward(y16).sum().backward();
    assert.equal(lin.weight.grad!.dtype, 'float32');
  });
  lin.dispose();
  ln.dispose();
});

test('LowRankLinear equals a dense layer with W = B·A; Embedding looks up rows', () => {
  const lr = new LowRankLinear(6, 5, 2);
  const emb = new Embedding(4, 3);
  tidy(() =>
    noGrad(() => {
      lr.bias!.fill_(0.5);
      const x = randn([3, 6]);
      const dense = x.matmul(lr.denseWeight().T).add(0.5);
      assert.ok(lr.forward(x).sub(dense).abs().max().item() < 1e-6);
      assert.deepEqual(emb.forward(tensor([2], { dtype: 'int64' })).toArray(), emb.weight.select(0, 2).toArray());
    }),
  );
  assert.deepEqual([...lr.namedParameters().keys()], ['bias', 'lowrank_a.weight', 'lowrank_b.weight']);
  lr.dispose();
  emb.dispose();
});

test('modules built and used in tidy leak nothing once disposed', () => {
  const start = memory().tensors;
  const m = new Block();
  tidy(() =>
    m.norm
      .forward(m.proj.forward(randn([2, 4])))
      .sum()
      .backward(),
  );
  for (const p of m.parameters()) p.grad = null;
  m.dispose();
  assert.equal(memory().tensors, start);
});
