// Random number generation and threads: manualSeed, Generator, RNG state, setNumThreads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bernoulli,
  full,
  Generator,
  getNumThreads,
  getRngState,
  manualSeed,
  rand,
  randint,
  randn,
  randperm,
  setNumThreads,
  setRngState,
  tidy,
  type Tensor,
} from '../../src/tensor/index.js';

const bits = (t: Tensor) => Array.from(new Uint8Array((t.data() as Float32Array).buffer));

test('manualSeed then randn twice gives identical bits', () =>
  tidy(() => {
    manualSeed(42);
    const a = randn([64]);
    manualSeed(42);
    const b = randn([64]);
    assert.deepEqual(bits(a), bits(b));
    assert.notDeepEqual(bits(randn([64])), bits(a), 'the stream moves on');
    manualSeed(42);
    const draws = () => [
      rand([5]),
      randint(0, 100, [5]),
      randperm(5),
      bernoulli(full([20], 0.5)),
      randn([3, 3], { dtype: 'float64' }),
    ];
    const first = draws().map((t) => t.toArray());
    manualSeed(42);
    assert.deepEqual(
      draws().map((t) => t.toArray()),
      first,
    );
  }));

test('a Generator draws reproducibly and independently of the global seed', () =>
  tidy(() => {
    manualSeed(1);
    const a = randn([32], { generator: new Generator(7) });
    manualSeed(2);
    const g = new Generator(7);
    const b = randn([32], { generator: g });
    assert.deepEqual(bits(a), bits(b));
    assert.notDeepEqual(bits(randn([32], { generator: g })), bits(a), 'the generator advances');
    // drawing from a Generator leaves the global stream where it was
    manualSeed(3);
    const x1 = randn([8]);
    manualSeed(3);
    randn([100], { generator: new Generator(9) });
    rand([100], { generator: new Generator(9) });
    assert.deepEqual(bits(randn([8])), bits(x1));
    // different seeds, different draws
    assert.notDeepEqual(
      bits(randn([8], { generator: new Generator(1) })),
      bits(randn([8], { generator: new Generator(2) })),
    );
  }));

test('getRngState / setRngState replay the same numbers (global and Generator)', () =>
  tidy(() => {
    manualSeed(5);
    randn([3]);
    const s = getRngState();
    assert.equal(s.dtype, 'uint8');
    const a = randn([16]),
      ai = randint(0, 1000, [4]);
    setRngState(s);
    assert.deepEqual(bits(randn([16])), bits(a));
    assert.deepEqual(randint(0, 1000, [4]).toArray(), ai.toArray());

    const g = new Generator(11);
    rand([2], { generator: g });
    const gs = getRngState(g);
    const b = rand([16], { generator: g });
    setRngState(gs, g);
    assert.deepEqual(bits(rand([16], { generator: g })), bits(b));
    // a state moves between generators: the global one replays g's stream
    setRngState(gs);
    assert.deepEqual(bits(rand([16])), bits(b));
  }));

test('setNumThreads / getNumThreads; results do not depend on the thread count', () =>
  tidy(() => {
    const before = getNumThreads();
    assert.ok(Number.isInteger(before) && before >= 1);
    const x = randn([64, 64], { generator: new Generator(1) });
    try {
      setNumThreads(1);
      assert.equal(getNumThreads(), 1);
      const one = x.matmul(x).sum(1);
      setNumThreads(2);
      assert.equal(getNumThreads(), 2);
      assert.ok(x.matmul(x).sum(1).allclose(one, 1e-5, 1e-4));
    } finally {
      setNumThreads(before);
    }
    assert.equal(getNumThreads(), before);
    assert.throws(() => setNumThreads(0), /^Error: setNumThreads: need a positive integer, got 0/);
    assert.throws(() => setNumThreads(1.5), /setNumThreads/);
  }));
