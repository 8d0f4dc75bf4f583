import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, hashString32 } from '../../src/data/rng.js';

test('same seed, same stream; labels and seeds give different streams', () => {
  const a = Rng.fromSeed(42);
  const b = Rng.fromSeed(42);
  const xs = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(
    Array.from({ length: 100 }, () => b.nextU32()),
    xs,
  );
  assert.notDeepEqual(
    Array.from({ length: 10 }, () => Rng.fromSeed(43).nextU32()),
    xs.slice(0, 10),
  );
  assert.notEqual(Rng.fromSeed(42, 'order', 0).nextU32(), Rng.fromSeed(42, 'order', 1).nextU32());
  assert.equal(Rng.fromSeed('42').nextU32(), Rng.fromSeed(42).nextU32(), 'seeds compare as strings');
  assert.ok(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32));
  assert.equal(hashString32('abc'), hashString32('abc'));
});

test('state survives JSON and continues the stream exactly', () => {
  const r = Rng.fromSeed(7);
  for (let i = 0; i < 37; i++) r.float();
  const saved = JSON.parse(JSON.stringify(r.state()));
  assert.ok(
    saved.every((v: number) => Number.isInteger(v) && v >= 0 && v < 2 ** 32),
    'uint32 words',
  );
  const expect = Array.from({ length: 50 }, () => r.nextU32());
  const q = Rng.restore(saved);
  assert.deepEqual(
    Array.from({ length: 50 }, () => q.nextU32()),
    expect,
  );
  assert.throws(() => Rng.restore([1, 2, 3] as never), TypeError);
});

test('int, intBetween, float and permutation stay in range and look uniform', () => {
  const r = Rng.fromSeed(1);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 20000; i++) counts[r.int(10)]++;
  for (const c of counts) assert.ok(c > 1700 && c < 2300, `bucket ${c}`);
  for (let i = 0; i < 1000; i++) {
    const v = r.intBetween(3, 5);
    assert.ok(v >= 3 && v <= 5);
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
  }
  assert.equal(r.int(1), 0);
  assert.throws(() => r.int(0), RangeError);
  const p = r.permutation(1000);
  assert.deepEqual(
    [...p].sort((a, b) => a - b),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  assert.notDeepEqual(
    [...p.slice(0, 20)],
    Array.from({ length: 20 }, (_, i) => i),
  );
});
