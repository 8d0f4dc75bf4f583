// The entry point: parseOps, compound growth, optimizer policies, round trip, bad inputs, memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkPreservation, grow, parseOps, type GrowTarget, type OptimizerPolicy } from '../../src/grow/index.js';
import { BertForMaskedLM } from '../../src/model/index.js';
import { dispose, loadSafetensors, memory, saveSafetensors, tidy } from '../../src/tensor/index.js';
import { createOptimizer } from '../../src/train/optim/index.js';
import {
  SMALL,
  assertUnchanged,
  disposeResult,
  makeBatch,
  snapshot,
  st,
  trainAfter,
  trainedSource,
  assertTrained,
} from './helpers.js';

const oneLine = (re: RegExp) => (e: Error) =>
  e.name === 'GrowbertError' && re.test(e.message) && !e.message.includes('\n');

test('parseOps: key=value pairs, defaults, and one-line errors', () => {
  assert.deepEqual(parseOps('depth=stack,ffn=share'), { depth: 'stack', ffn: 'share' });
  assert.deepEqual(parseOps(' depth=identity , hidden=fpi, noise=0.01, seed=3, lnTransfer=false '), {
    depth: 'identity',
    hidden: 'fpi',
    noise: 0.01,
    seed: 3,
    lnTransfer: false,
  });
  assert.deepEqual(parseOps(''), {});
  assert.throws(
    () => parseOps('depth=copy'),
    oneLine(/unknown depth operator 'copy'; use one of stack, interleave, identity/),
  );
  assert.throws(() => parseOps('ffn=lowrank'), oneLine(/unknown ffn operator 'lowrank'/));
  assert.throws(() => parseOps('width=2'), oneLine(/unknown key 'width'/));
  assert.throws(() => parseOps('depth'), oneLine(/'depth' is not key=value/));
  assert.throws(() => parseOps('seed=1.5'), oneLine(/seed=1.5 is not a non-negative integer/));
  assert.throws(() => parseOps('noise=-1'), oneLine(/noise=-1 is not a non-negative number/));
});

const EXACT: GrowTarget = { hiddenSize: 32, intermediateSize: 128, numHiddenLayers: 3 };

for (const optimizer of ['adamw', 'lamb'] as const) {
  test(`compound exact growth (hidden 16->32, ffn 32->128 share, depth 2->3 identity) with ${optimizer}: exact, source untouched, trains`, () => {
    const s = trainedSource(SMALL, { optimizer });
    const snap = snapshot(s);
    const r = grow(s.src, EXACT, parseOps('depth=identity,ffn=share'), 'map');
    assertUnchanged(s, snap);
    const c = r.model.config;
    assert.deepEqual([c.hiddenSize, c.numAttentionHeads, c.intermediateSize, c.numHiddenLayers], [32, 4, 128, 3]);
    assert.equal(r.preserving, true);
    assert.equal(r.optimizerMeta!.type, optimizer);
    assert.equal(r.optimizerMeta!.step, 3);
    assert.deepEqual(
      r.report.map((l) => l.split(':')[0]),
      ['hidden', 'ffn', 'depth', 'optimizer'],
    );
    const batch = makeBatch(20);
    const p = checkPreservation(s.model, r.model, batch);
    console.log(
      `compound exact (${optimizer}): maxRel ${p.maxRelLogitDiff.toExponential(2)}, params ${p.paramsBefore} -> ${p.paramsAfter}`,
    );
    assert.ok(p.maxRelLogitDiff <= 1e-5);
    // every parameter has complete state of the right shape
    for (const [n, t] of r.model.namedParameters()) {
      assert.deepEqual(st(r, `${n}.exp_avg`).shape, t.shape);
      assert.deepEqual(st(r, `${n}.exp_avg_sq`).shape, t.shape);
    }
    const t = trainAfter(r, 3);
    assert.ok(t.losses.every(Number.isFinite), `losses ${t.losses}`);
    assertTrained(t);
    dispose(batch);
    disposeResult(r);
    s.dispose();
  });
}

test("compound growth that changes the function (the paper's stack + pool 2 -> 1): measured", () => {
  const s = trainedSource({ ...SMALL, poolingSize: 2 });
  const r = grow(s.src, { intermediateSize: 64, numHiddenLayers: 4, poolingSize: 1 }, {}, 'map');
  assert.equal(r.preserving, false);
  assert.deepEqual(
    r.report.map((l) => l.split(':')[0]),
    ['ffn', 'depth', 'length', 'optimizer'],
  );
  const batch = makeBatch(21);
  const p = checkPreservation(s.model, r.model, batch);
  console.log(
    `compound stack+share+pool: maxRel ${p.maxRelLogitDiff.toExponential(2)}, loss ${p.lossBefore.toFixed(4)} -> ${p.lossAfter.toFixed(4)}`,
  );
  const t = trainAfter(r, 3);
  assert.ok(t.losses.every(Number.isFinite));
  t.opt.dispose();
  dispose(batch);
  disposeResult(r);
  s.dispose();
});

test('compound on a factorized, pooled source: hidden 16->32, rank 4->dense, identity 2->4, keeping pooling: exact', () => {
  const s = trainedSource({ ...SMALL, ffnRank: 4, poolingSize: 2 });
  const r = grow(s.src, { hiddenSize: 32, ffnRank: 0, numHiddenLayers: 4 }, { depth: 'identity' }, 'grad');
  assert.equal(r.preserving, true);
  assert.equal(r.model.config.ffnRank, 0);
  assert.equal(r.model.config.poolingSize, 2);
  const batch = makeBatch(23);
  const p = checkPreservation(s.model, r.model, batch);
  console.log(`compound factorized+pooled (fpi, multiply out, identity): maxRel ${p.maxRelLogitDiff.toExponential(2)}`);
  assert.ok(p.maxRelLogitDiff <= 1e-5);
  const t = trainAfter(r, 3);
  assertTrained(t);
  dispose(batch);
  disposeResult(r);
  s.dispose();
});

test('policy reset: zero moments and step 0 everywhere, meta kept; no optimizer in, none out', () => {
  const s = trainedSource(SMALL);
  const r = grow(s.src, EXACT, {}, 'reset');
  for (const [n, t] of r.optimizerState!) {
    assert.equal(t.abs().max().item(), 0, n);
  }
  assert.equal(r.optimizerMeta!.step, 3);
  assert.match(r.report.at(-1)!, /optimizer: reset/);
  disposeResult(r);
  const bare = grow({ model: s.model }, EXACT);
  assert.equal(bare.optimizerState, undefined);
  assert.equal(bare.optimizerMeta, undefined);
  disposeResult(bare);
  s.dispose();
});

test('round trip of a grown model and its optimizer state through safetensors: identical logits and state', () => {
  const s = trainedSource(SMALL);
  const r = grow(s.src, { ...EXACT, numHiddenLayers: 4 }, { depth: 'stack', noise: 0.02, seed: 9 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-grow-'));
  const sd = r.model.stateDict();
  saveSafetensors(path.join(dir, 'model.safetensors'), sd);
  saveSafetensors(path.join(dir, 'optimizer.safetensors'), r.optimizerState!);
  dispose(sd);
  const back = new BertForMaskedLM(r.model.config, { seed: 123 });
  const m = loadSafetensors(path.join(dir, 'model.safetensors'));
  back.loadStateDict(m.tensors);
  dispose(m.tensors);
  const batch = makeBatch(22);
  tidy(() => {
    back.eval();
    r.model.eval();
    assert.ok(back.forward(batch).logits.equal(r.model.forward(batch).logits));
  });
  const o = loadSafetensors(path.join(dir, 'optimizer.safetensors'));
  const opt = createOptimizer('adamw', back.namedParameters());
  opt.loadState(o.tensors, r.optimizerMeta);
  for (const [n, t] of opt.state()) assert.ok(t.equal(r.optimizerState!.get(n)!), n);
  dispose(o.tensors);
  opt.dispose();
  back.dispose();
  dispose(batch);
  fs.rmSync(dir, { recursive: true });
  disposeResult(r);
  s.dispose();
});

test('no change: the model is copied, exactly', () => {
  const s = trainedSource(SMALL);
  const r = grow(s.src, { numHiddenLayers: 2 });
  assert.equal(r.preserving, true);
  assert.match(r.report[0], /no change/);
  for (const [n, p] of r.model.namedParameters()) assert.ok(p.equal(s.model.namedParameters().get(n)!));
  assert.notEqual(
    r.model.namedParameters().get('cls.predictions.bias'),
    s.model.namedParameters().get('cls.predictions.bias'),
  );
  disposeResult(r);
  s.dispose();
});

test('bad inputs: one-line GrowbertErrors naming the dimension or the entry', () => {
  const s = trainedSource(SMALL);
  assert.throws(() => grow(s.src, { width: 3 } as GrowTarget), oneLine(/unknown target dimension 'width'/));
  assert.throws(() => grow(s.src, { numHiddenLayers: 2.5 }), oneLine(/numHiddenLayers must be an integer >= 1/));
  assert.throws(() => grow(s.src, { numHiddenLayers: 1 }), oneLine(/numHiddenLayers target 1 is smaller/));
  assert.throws(() => grow(s.src, { intermediateSize: 48 }), oneLine(/ffn=share .* 32 -> 48 is not a multiple/));
  assert.throws(() => grow(s.src, { hiddenSize: 32, numAttentionHeads: 8 }), oneLine(/changes the head size 8/));
  assert.throws(() => grow(s.src, {}, {}, 'keep' as OptimizerPolicy), oneLine(/unknown optimizer policy 'keep'/));
  const partial = new Map(s.opt.state());
  partial.delete('cls.predictions.bias.exp_avg_sq');
  assert.throws(
    () => grow({ model: s.model, optimizer: { state: partial, meta: s.opt.meta() } }, EXACT),
    oneLine(/'cls.predictions.bias' lacks cls.predictions.bias.exp_avg_sq/),
  );
  const stray = new Map(s.opt.state());
  stray.set('cls.predictions.decoder.weight.exp_avg', stray.get('cls.predictions.bias.exp_avg')!);
  assert.throws(
    () => grow({ model: s.model, optimizer: { state: stray, meta: s.opt.meta() } }, EXACT),
    oneLine(/'cls.predictions.decoder.weight.exp_avg' names no parameter/),
  );
  s.dispose();
});

test('growth frees every intermediate tensor (only the result stays alive)', () => {
  const s = trainedSource(SMALL);
  const before = memory().tensors;
  const r = grow(
    s.src,
    { hiddenSize: 24, intermediateSize: 80, numHiddenLayers: 5 },
    { ffn: 'split', depth: 'identity', noise: 0.01 },
  );
  disposeResult(r);
  assert.equal(memory().tensors, before);
  s.dispose();
});
