// The native boundary: the addon exports exactly the ops declared in src/tensor/native-api.ts;
// every one of them checks its arguments against that declaration (a missing or wrong-kinded
// argument is a JS Error naming the op and the argument); handles are type-tagged, so a process
// group where a tensor belongs (or any other mix-up) is an Error, not undefined behaviour; and
// the dtype and reduction codes come from the addon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../../src/tensor/native.js';
import { NATIVE_API, type OpName } from '../../src/tensor/native-api.js';
import { DTYPES, DTYPE_CODE } from '../../src/tensor/dtype.js';
import { Generator, crossEntropy, tensor, tidy, zeros } from '../../src/tensor/index.js';

const NOT_OPS = new Set(['NativeTensor', 'dtypeCodes', 'reductionCodes']);
const hasDist = typeof (native as Record<string, unknown>).distBackends === 'function';
const declared = (Object.keys(NATIVE_API) as OpName[]).filter((n) => hasDist || !/^(dist|ddp)/.test(n));
const call = (name: string, ...args: unknown[]): unknown => (native as any)[name](...args);

function fails(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, `not an Error: ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

test('the addon exports exactly the declared ops', () => {
  const exported = Object.keys(native).filter((k) => !NOT_OPS.has(k));
  assert.deepEqual(
    exported.filter((k) => !(k in NATIVE_API)),
    [],
    'exported but not declared',
  );
  assert.deepEqual(
    declared.filter((k) => typeof (native as Record<string, unknown>)[k] !== 'function'),
    [],
    'declared but not exported',
  );
  assert.ok(declared.length > 150);
});

test('every op checks its arguments against its declaration', () => {
  const weird = Symbol('not an argument');
  for (const name of declared) {
    const [args] = NATIVE_API[name];
    const required = args.filter((a) => !a.endsWith('?')).length;
    // Too many arguments.
    fails(
      () => call(name, ...Array(args.length + 1).fill(weird)),
      new RegExp(`^${name}: (takes at most ${args.length} argument|argument 0 .*must be)`),
    );
    if (args.length === 0) continue;
    // A wrong kind in the first place: named, with what was expected.
    fails(
      () => call(name, weird),
      new RegExp(`^${name}: argument 0( \\(\\w+\\))? must be .+, got a value of another type$`),
    );
    // A required argument left out.
    if (required > 0)
      fails(() => call(name), new RegExp(`^${name}: argument \\d+( \\(\\w+\\))? is missing: it must be `));
  }
});

test('argument names and kinds appear in the message', () =>
  tidy(() => {
    const x = zeros([2, 3]);
    fails(
      () => call('crossEntropy', x.handle, zeros([2], { dtype: 'int64' }).handle, 1, -100, 0, 5),
      /^crossEntropy: argument 5 \(weight\) must be a Tensor, got the number 5/,
    );
    fails(
      () => call('add', x.handle, 'one'),
      /^add: argument 1 must be a Tensor or a number or boolean, got a string$/,
    );
    fails(
      () => call('narrow', x.handle, 0, 0.5, 1),
      /^narrow: argument 2 \(start\) must be an integer, got the number 0\.5/,
    );
  }));

test(
  'handles are type-tagged: a handle of the wrong kind is an Error',
  { skip: !hasDist && 'built without c10d' },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-tags-'));
    const group = native.distInit({
      backend: 'gloo',
      store: 'file',
      path: path.join(dir, 'store'),
      rank: 0,
      worldSize: 1,
      timeoutMs: 10000,
      heartbeatMs: 1000,
    });
    const gen = new Generator(1);
    try {
      tidy(() => {
        const x = zeros([2]);
        fails(() => call('add', group, 1), /^add: argument 0 must be a Tensor, got process group$/);
        fails(
          () => call('randn', [2], undefined, undefined, group),
          /^randn: argument 3 must be a Generator, got process group$/,
        );
        fails(() => call('distRank', gen.handle), /^distRank: argument 0 must be a process group, got Generator$/);
        fails(() => call('distWait', group), /^distWait: argument 0 must be a work handle, got process group$/);
        fails(
          () => call('ddpPrepare', group),
          /^ddpPrepare: argument 0 must be a gradient reducer, got process group$/,
        );
        fails(() => call('distRank', x.handle), /^distRank: argument 0 must be a process group, got an object$/);
        fails(() => call('distDestroy', gen.handle), /^distDestroy: argument 0 must be a process group/);
        // The right handles still work.
        assert.equal(native.distRank(group), 0);
        const w = native.distAllReduce(group, x.add(1).handle, 'sum');
        native.distWait(w);
        assert.equal(native.distIsCompleted(w), true);
      });
    } finally {
      native.distDestroy(group);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('dtype and reduction codes come from the addon', () =>
  tidy(() => {
    assert.deepEqual({ ...DTYPE_CODE }, Object.fromEntries(DTYPES.map((d) => [d, native.dtypeCodes[d]])));
    for (const d of DTYPES) assert.equal(zeros([1], { dtype: d }).dtype, d);
    fails(() => call('zeros', [1], 99), /^zeros: unsupported dtype code 99$/);
    const logits = tensor([
      [1, 2, 3],
      [3, 1, 0],
    ]);
    const target = tensor([2, 0], { dtype: 'int64' });
    const mean = crossEntropy(logits, target).item();
    const sum = crossEntropy(logits, target, { reduction: 'sum' }).item();
    const none = crossEntropy(logits, target, { reduction: 'none' });
    assert.ok(Math.abs(sum - 2 * mean) < 1e-6);
    assert.deepEqual(none.shape, [2]);
    assert.equal(new Set(Object.values(native.reductionCodes)).size, 3);
  }));
