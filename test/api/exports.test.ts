// Every export of the package's entry point (src/index.ts -> src/api/index.ts) is documented in
// docs/api.md: named in a heading or in the first column of one of its tables. Types are read from
// the export list's text (they do not exist at run time); values from the loaded module too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';

/** Names in backticks in docs/api.md's headings and first table columns. */
export function documentedNames(doc: string): Set<string> {
  const names = new Set<string>();
  for (const line of doc.split('\n')) {
    const where = line.startsWith('#') ? line : line.startsWith('| ') ? line.split('|')[1] : '';
    for (const m of where.matchAll(/`([A-Za-z_$][\w$]*)/g)) names.add(m[1]);
  }
  return names;
}

/** The names `export { a, b as c, type D } from '...'` statements export. */
export function exportedNames(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g))
    for (const item of m[1].split(',')) {
      const name = item
        .replace(/\/\/.*$/gm, '')
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop()!
        .trim();
      if (name) out.push(name);
    }
  return out;
}

const documented = documentedNames(fs.readFileSync('docs/api.md', 'utf8'));

test('the export list is read: values and types, renamed ones by their new name', () => {
  const names = exportedNames(fs.readFileSync('src/api/index.ts', 'utf8'));
  for (const n of ['pretrain', 'grow', 'GrowResult', 'PretrainConfigSchema', 'RunMetrics', 'Interrupted'])
    assert.ok(names.includes(n), n);
  assert.ok(!names.includes('growRun') && !names.includes('GrowRunResult'));
  assert.ok(names.length > 60, `only ${names.length} names read`);
});

test('every export of growbert (values and types) is documented in docs/api.md', async () => {
  const typed = exportedNames(fs.readFileSync('src/api/index.ts', 'utf8'));
  const loaded = Object.keys(await import('../../src/index.js'));
  assert.deepEqual(
    loaded.filter((n) => !typed.includes(n)),
    [],
    'src/index.ts exports values that src/api/index.ts does not list',
  );
  assert.deepEqual(
    [...new Set([...typed, ...loaded])].filter((n) => !documented.has(n)).sort(),
    [],
    'exports missing from docs/api.md',
  );
});

test('the check catches an undocumented export', () => {
  const doc = '### `pretrain(config)`\n\n| export | what |\n|---|---|\n| `GrowbertError` | errors; see `grow` |\n';
  const names = documentedNames(doc);
  assert.ok(names.has('pretrain') && names.has('GrowbertError'));
  assert.ok(!names.has('grow'), 'a name in a description column is not its documentation');
});
