// tidy() scopes, keep(), dispose() and the memory() counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispose, keep, memory, ones, tidy, zeros, type Tensor } from '../../src/tensor/index.js';

const live = () => memory().tensors;

test('tidy frees intermediates and keeps the returned tensor', () => {
  const before = live();
  const r = tidy(() => {
    const a = ones([4]);
    const b = a.add(1);
    return b.mul(2);
  });
  assert.equal(live(), before + 1);
  assert.deepEqual(r.toArray(), [4, 4, 4, 4]);
  r.dispose();
  assert.equal(live(), before);
});

test('tidy keeps tensors nested in arrays, plain objects and Maps', () => {
  const before = live();
  const r = tidy(() => {
    ones([2]).add(3); // garbage
    return { a: ones([1]), list: [ones([2]), { deep: ones([3]) }], m: new Map([['x', ones([4])]]), n: 5 };
  });
  assert.equal(live(), before + 4);
  assert.deepEqual(
    [r.a.shape, (r.list[0] as Tensor).shape, (r.list[1] as { deep: Tensor }).deep.shape, r.m.get('x')!.shape, r.n],
    [[1], [2], [3], [4], 5],
  );
  dispose(r);
  assert.equal(live(), before);
  assert.ok(r.a.isDisposed && r.m.get('x')!.isDisposed);
});

test('nested tidy: the inner result moves to the outer scope', () => {
  const before = live();
  let inner: Tensor | undefined;
  const outer = tidy(() => {
    inner = tidy(() => ones([2]).mul(2));
    assert.equal(live(), before + 1);
    const kept = tidy(() => inner!.add(1));
    return kept;
  });
  assert.ok(inner!.isDisposed, 'the outer scope freed the inner result it did not return');
  assert.ok(!outer.isDisposed);
  assert.equal(live(), before + 1);
  outer.dispose();
  assert.equal(live(), before);
});

test('tidy rethrows and frees everything the scope created', () => {
  const before = live();
  let made: Tensor | undefined;
  assert.throws(
    () =>
      tidy(() => {
        made = ones([3]).exp();
        tidy(() => ones([2]).add(1)); // inner scope finished before the throw
        throw new Error('inside');
      }),
    /^Error: inside$/,
  );
  assert.ok(made!.isDisposed);
  assert.equal(live(), before);
  assert.throws(() => tidy(() => Promise.resolve(ones([1])) as unknown as Tensor), /must be synchronous/);
  assert.equal(live(), before, 'the refused async scope is freed too');
});

test('keep() protects a tensor from every enclosing scope; tensors outside scopes live on', () => {
  const before = live();
  let kept: Tensor | undefined;
  tidy(() =>
    tidy(() => {
      kept = keep(ones([2]).add(1));
    }),
  );
  assert.ok(!kept!.isDisposed);
  const free = ones([2]); // created outside any scope: the caller owns it
  tidy(() => {
    free.add(1);
  });
  assert.ok(!free.isDisposed);
  assert.equal(live(), before + 2);
  dispose([kept, free]);
  assert.equal(live(), before);
});

test('tidy leaves tensors created before the scope alone, even when returned', () => {
  const x = ones([2]);
  const r = tidy(() => {
    x.add(1);
    return x;
  });
  assert.equal(r, x);
  assert.ok(!x.isDisposed);
  x.dispose();
});

test('memory() counts tensors and their bytes; views count their own size', () => {
  const m0 = memory();
  const a = zeros([10]);
  const b = zeros([10], { dtype: 'float64' });
  const c = zeros([3], { dtype: 'bool' });
  assert.deepEqual(memory(), { tensors: m0.tensors + 3, bytes: m0.bytes + 40 + 80 + 3 });
  const v = a.narrow(0, 0, 5);
  assert.deepEqual(memory(), { tensors: m0.tensors + 4, bytes: m0.bytes + 123 + 20 });
  dispose([a, b, c, v]);
  assert.deepEqual(memory(), m0);
  // set_ swaps the storage under the same handle: still one live tensor once the source is gone
  const s = zeros([2]);
  const big = zeros([8]);
  s.set_(big);
  assert.deepEqual(s.shape, [8]);
  big.dispose();
  assert.deepEqual(memory(), { tensors: m0.tensors + 1, bytes: m0.bytes + 32 });
  s.dispose();
  assert.equal(memory().tensors, m0.tensors);
});
