// issue 27's audit of string-keyed tables: a name the user gives (a grow operator key, a target
// preset, a GLUE task, a --text-field) that is also an Object property (`constructor`, `toString`,
// `__proto__`) is unknown, in one line, like any other unknown name; it used to reach Object's own
// members (`grow --op constructor=x` died with "OP_VALUES[key].includes is not a function", `plan
// --target constructor` asked for --seq-length).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseOps } from '../../src/grow/grow.js';
import { parseTaskList } from '../../src/eval/glue-suite.js';
import { fieldValue } from '../../src/data/field-path.js';
import { parseConfig, resolveConfig } from '../../src/train/config.js';

const NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];
const oneLine = (re: RegExp) => (e: Error) =>
  e.name === 'GrowbertError' && !e.message.includes('\n') && re.test(e.message);

test('names that are Object properties are unknown names, not Object members', () => {
  for (const n of NAMES) {
    assert.throws(() => parseOps(`${n}=x`), oneLine(/grow ops: unknown key/), n);
    assert.throws(() => parseTaskList(n), oneLine(/unknown GLUE task/), n);
    assert.equal(fieldValue({ text: 'a' }, n), undefined, n);
    assert.equal(fieldValue({ meta: { text: 'a' } }, `meta.${n}`), undefined, n);
  }
  assert.equal(fieldValue(JSON.parse('{"__proto__": "own"}'), '__proto__'), 'own', 'an own field of that name is read');
  const c = parseConfig({ out: '/tmp/x' });
  assert.throws(() => resolveConfig({ ...c, preset: 'constructor' as never }), oneLine(/unknown preset 'constructor'/));
});

test('CLI: plan --target constructor is an unknown target', () => {
  const r = spawnSync(process.execPath, ['bin/growbert.js', 'plan', '--schedule', 'full', '--target', 'constructor'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    "growbert: unknown target 'constructor'; use tiny, mini, small, base or large",
  ]);
});
