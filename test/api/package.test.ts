// What `npm pack` ships (package.json's `files`): everything an installed package needs to set itself up
// and run (the compiled JavaScript and its types, the addon's sources and build scripts, the dashboard's
// page, docs, licence), and nothing else: no tests, benchmarks, runs, venv, builds or CI files. The CI
// lane `package` installs the real tarball into a project of its own; this checks the list in seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
};

function packedFiles(): string[] {
  // --ignore-scripts: the list only (prepack would run set-up; the suite has run it)
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
}

const files = packedFiles();
const has = new Set(files);
const under = (dir: string) =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative('.', path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)));

test('the tarball holds what an installed package runs and sets itself up with', () => {
  for (const f of ['LICENSE', 'README.md', 'package.json', 'src/tensor/native-api.ts'])
    assert.ok(has.has(f), `${f} missing`);
  for (const f of ['install', 'setup', 'libtorch', 'build-native', 'setup-checks'])
    assert.ok(has.has(`scripts/${f}.mjs`), `scripts/${f}.mjs missing`);
  // every script a shipped script imports statically is shipped too (set-up would not start in the package);
  // browser.mjs is imported only by `setup --browser`, in a checkout
  for (const f of files.filter((x) => x.startsWith('scripts/')))
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/^import .* from '\.\/([\w-]+\.mjs)';$/gm))
      assert.ok(has.has(`scripts/${m[1]}`), `${f} imports scripts/${m[1]}, which is not shipped`);
  for (const f of Object.values(pkg.bin)) assert.ok(has.has(f), `bin ${f} missing`);
  for (const [name, target] of Object.entries(pkg.exports)) {
    const targets = typeof target === 'string' ? [target] : [target.types, target.default];
    for (const t of targets) assert.ok(has.has(t.replace(/^\.\//, '')), `exports '${name}' -> ${t} missing`);
  }
  const needed = [
    ...under('native/src'),
    ...under('src/report/dashboard/assets'),
    ...under('dist/src').filter((f) => f.endsWith('.js') || f.endsWith('.d.ts')),
  ];
  assert.ok(needed.length > 300, `only ${needed.length} files found to check`);
  assert.deepEqual(
    needed.filter((f) => !has.has(f)),
    [],
  );
});

test('the tarball holds no tests, benchmarks, runs, venv, builds, source maps or CI files', () => {
  const banned =
    /^(test|bench|runs|build|\.venv|\.ci|\.cache|node_modules|dist\/(test|bench))\/|\.map$|^tsconfig\.json$|^src\/(?!tensor\/native-api\.ts$|report\/dashboard\/assets\/)/;
  assert.deepEqual(
    files.filter((f) => banned.test(f)),
    [],
  );
  // tsconfig.json marks a checkout (scripts/libtorch.mjs: IN_CHECKOUT): shipped, it would stop set-up
  assert.ok(!has.has('tsconfig.json'));
});
