// The one output-folder guard (src/io/out-guard.ts): real paths through symlinks, --out neither
// is, holds nor lies inside an input, a folder of other files is never replaced (not even with
// force), and force replaces only the command's own entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { atomicWriteFile } from '../../src/io/atomic.js';
import { guardOut, isWithin, realPath, writeOutAtomically } from '../../src/io/out-guard.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-guard-')));
const mine = (dir: string) => fs.existsSync(path.join(dir, 'own.txt'));
const base = { kind: 'an own output', owns: mine, owned: ['own.txt', 'sub', 'log.*'] as const };

test('realPath resolves symlinks through the nearest existing ancestor', () => {
  fs.mkdirSync(path.join(tmp, 'real'));
  fs.symlinkSync(path.join(tmp, 'real'), path.join(tmp, 'link'));
  assert.equal(realPath(path.join(tmp, 'link')), path.join(tmp, 'real'));
  assert.equal(realPath(path.join(tmp, 'link', 'not', 'yet')), path.join(tmp, 'real', 'not', 'yet'));
  assert.ok(isWithin(path.join(tmp, 'a', 'b'), path.join(tmp, 'a')));
  assert.ok(!isWithin(path.join(tmp, 'ab'), path.join(tmp, 'a')), 'a sibling with a common prefix is not inside');
});

test('--out may not be, contain or lie inside an input, also through a symlink', () => {
  const input = path.join(tmp, 'real', 'run');
  fs.mkdirSync(input, { recursive: true });
  fs.writeFileSync(path.join(input, 'own.txt'), 'x');
  const viaLink = path.join(tmp, 'link', 'run');
  for (const [out, inputs, re] of [
    [input, [viaLink], /is the input/],
    [viaLink, [input], /is the input/],
    [path.join(tmp, 'link'), [input], /contains the input/],
    [path.join(viaLink, 'inner'), [input], /lies inside the input/],
  ] as const) {
    assert.throws(
      () => guardOut({ ...base, out, inputs: [...inputs], force: true }),
      (e: Error) => e.name === 'GrowbertError' && re.test(e.message) && !e.message.includes('\n'),
    );
  }
  assert.ok(fs.existsSync(path.join(input, 'own.txt')));
});

test("a non-empty folder that is not the command's own output is refused, even with force", () => {
  const out = path.join(tmp, 'users');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
  for (const force of [false, true]) {
    assert.throws(
      () => writeOutAtomically({ ...base, out, force }, (t) => fs.writeFileSync(path.join(t, 'own.txt'), 'new')),
      /does not hold an own output; growbert never replaces files it did not write/,
    );
  }
  assert.deepEqual(fs.readdirSync(out), ['notes.txt']);
  assert.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp') || f.endsWith('.old')),
    [],
    'no temp folder left',
  );
});

test("force replaces only the command's own entries; unrelated files beside them stay", () => {
  const out = path.join(tmp, 'own');
  writeOutAtomically({ ...base, out }, (t) => {
    fs.writeFileSync(path.join(t, 'own.txt'), 'v1');
    fs.mkdirSync(path.join(t, 'sub'));
    fs.writeFileSync(path.join(t, 'sub', 'old-only.txt'), 'v1');
    fs.writeFileSync(path.join(t, 'log.1'), 'old log');
  });
  fs.writeFileSync(path.join(out, 'notes.txt'), "the user's");
  assert.throws(() => writeOutAtomically({ ...base, out }, () => {}), /already holds an own output; pass --force/);
  writeOutAtomically({ ...base, out, force: true }, (t) => fs.writeFileSync(path.join(t, 'own.txt'), 'v2'));
  assert.deepEqual(fs.readdirSync(out).sort(), ['notes.txt', 'own.txt']);
  assert.equal(fs.readFileSync(path.join(out, 'own.txt'), 'utf8'), 'v2');
  assert.equal(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8'), "the user's");
});

test('a file where the folder should be, and a failing fill, leave everything as it was', () => {
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'x');
  assert.throws(() => guardOut({ ...base, out: file }), /exists and is not a folder/);
  const out = path.join(tmp, 'failing');
  assert.throws(
    () =>
      writeOutAtomically({ ...base, out }, () => {
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.ok(!fs.existsSync(out));
});

test('a failed write names the file asked for and the real cause, not a temp path', () => {
  // /sys is read-only (or refuses new entries) even for root, unlike a chmod-ed folder
  assert.throws(
    () => atomicWriteFile('/sys/growbert-cannot/config.json', '{}'),
    (e: Error) =>
      e.name === 'GrowbertError' &&
      /^cannot write \/sys\/growbert-cannot\/config\.json: .*\((EPERM|EROFS|EACCES)\)/.test(e.message),
  );
});
