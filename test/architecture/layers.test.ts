// docs/architecture.md's layering rule, enforced: a src/ file imports only from its own folder,
// from a folder of a row above its own in the doc's table, or from a sibling folder of its own row
// when the two do not import each other. The table is read from the doc, so the doc and this check
// cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Row index of each src/ folder, bottom layer first, from the doc's table. */
export function layerRows(doc: string): Map<string, number> {
  const rows = new Map<string, number>();
  let row = 0;
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !cells[2].includes('`')) continue;
    const folders = [...cells[2].matchAll(/`src\/([a-z-]+)\/`/g)].map((m) => m[1]);
    if (folders.length === 0) continue;
    for (const f of folders) rows.set(f, row);
    row++;
  }
  return rows;
}

/** Relative imports of a TypeScript source: `from '..'`, `import '..'` and `import('..')`. */
function importsOf(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.[^']+)'/g)) out.push(m[1]);
  return out;
}

/**
 * Every import that breaks the rule, as 'file -> target (why)'. `files` maps paths relative to
 * the repository ('src/grow/stage.ts') to their text.
 */
export function violations(files: Map<string, string>, rows: Map<string, number>): string[] {
  const bad: string[] = [];
  const edges = new Map<string, Set<string>>(); // folder -> folders it imports
  // src/index.ts, the package's entry point, belongs to the api row (docs/architecture.md)
  const folderOf = (p: string) => (p.split('/').length === 2 ? 'api' : p.split('/')[1]);
  for (const [file, text] of files) {
    const from = folderOf(file);
    if (!rows.has(from)) {
      bad.push(`${file}: folder src/${from}/ is not in docs/architecture.md's table; add it`);
      continue;
    }
    for (const spec of importsOf(text)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      if (!target.startsWith('src/')) continue;
      const to = folderOf(target);
      if (to === from) continue;
      if (!rows.has(to)) bad.push(`${file} -> ${target}: src/${to}/ is not in docs/architecture.md's table`);
      else if (rows.get(to)! > rows.get(from)!)
        bad.push(`${file} -> ${target}: ${from} imports from ${to}, a layer above it`);
      else if (rows.get(to) === rows.get(from)) {
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)!.add(to);
      }
    }
  }
  for (const [a, tos] of edges) {
    for (const b of tos)
      if (a < b && edges.get(b)?.has(a))
        bad.push(`src/${a}/ and src/${b}/ import each other; one must sit below the other`);
  }
  return bad;
}

function sourceFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith('.ts')) continue;
    const full = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    out.set(path.relative('.', full).split(path.sep).join('/'), fs.readFileSync(full, 'utf8'));
  }
  return out;
}

const rows = layerRows(fs.readFileSync('docs/architecture.md', 'utf8'));

test('the table in docs/architecture.md is read: io lowest, cli highest, grow and schedule one row', () => {
  assert.equal(rows.get('io'), 0);
  assert.equal(rows.get('cli'), Math.max(...rows.values()));
  assert.equal(rows.get('grow'), rows.get('schedule'));
  assert.ok(rows.get('model')! < rows.get('grow')! && rows.get('grow')! < rows.get('train')!);
});

test('no src/ file imports from a layer above its own', () => {
  const files = sourceFiles('src');
  assert.ok(files.size > 50, `only ${files.size} sources found under src/`);
  assert.deepEqual(violations(files, rows), []);
});

test('the check catches an upward import, an unknown folder and a cycle within a row', () => {
  const files = new Map([
    ['src/grow/stage.ts', "import type { OptimizerMeta } from '../train/optim/index.js';"],
    ['src/schedule/plan.ts', "const x = import('../train/lr.js');"],
    ['src/tools/x.ts', "import '../io/errors.js';"],
    ['src/eval/a.ts', "import { b } from '../export/b.js';"],
    ['src/export/b.ts', "export { a } from '../eval/a.js';\nimport { ok } from './own.js';"],
  ]);
  const v = violations(files, rows);
  assert.equal(v.length, 4, v.join('\n'));
  assert.match(v[0], /src\/grow\/stage\.ts -> src\/train\/optim\/index\.js: grow imports from train/);
  assert.match(v[1], /schedule imports from train/);
  assert.match(v[2], /src\/tools\/ is not in docs\/architecture\.md/);
  assert.match(v[3], /src\/eval\/ and src\/export\/ import each other/);
});
