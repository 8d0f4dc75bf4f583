import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lrAt, parseLrConfig, schedule } from '../../src/schedule/lr.js';
import { GrowbertError } from '../../src/io/errors.js';

const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-15, `${a} vs ${b}`);

test('linear warmup then linear decay to 0 (BERT / HF)', () => {
  const s = schedule({ peak: 1e-4, warmupSteps: 100, totalSteps: 1100 });
  near(s.lrAt(0), 0);
  near(s.lrAt(50), 5e-5);
  near(s.lrAt(100), 1e-4);
  near(s.lrAt(600), 5e-5);
  near(s.lrAt(1100), 0);
  near(s.lrAt(5000), 0);
});

test('poly, cosine and constant decays with an end lr', () => {
  const base = { peak: 1, warmupSteps: 10, totalSteps: 110, endLr: 0.1 };
  const poly = parseLrConfig({ ...base, decay: 'poly', power: 2 });
  near(lrAt(poly, 10), 1);
  near(lrAt(poly, 60), 0.1 + 0.9 * 0.25);
  near(lrAt(poly, 110), 0.1);
  near(lrAt(parseLrConfig({ ...base, decay: 'poly', power: 1 }), 60), lrAt(parseLrConfig(base), 60));
  const cos = parseLrConfig({ ...base, decay: 'cosine' });
  near(lrAt(cos, 10), 1);
  near(lrAt(cos, 60), 0.55);
  near(lrAt(cos, 110), 0.1);
  const c = parseLrConfig({ ...base, decay: 'constant' });
  near(lrAt(c, 5), 0.5);
  near(lrAt(c, 1000), 1);
  near(lrAt(parseLrConfig({ peak: 2, totalSteps: 10 }), 0), 2); // no warmup: peak at once
});

test('bad configs are GrowbertErrors naming the field', () => {
  assert.throws(() => parseLrConfig({ peak: 1, warmupSteps: 20, totalSteps: 10 }), /warmupSteps/);
  assert.throws(() => parseLrConfig({ peak: -1, totalSteps: 10 }), /peak/);
  assert.throws(() => parseLrConfig({ peak: 1, totalSteps: 10, decay: 'step' }), /decay/);
  assert.throws(() => parseLrConfig({ peak: 1, totalSteps: 10, endLr: 2 }), /endLr/);
  assert.throws(() => parseLrConfig({ peak: 1, totalSteps: 10, warmup: 3 }), GrowbertError);
});
