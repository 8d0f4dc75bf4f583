// Set-up and the CLI's start when the environment is damaged (issue 27): an addon whose shared
// library is gone (as a .venv with libtorch_cpu.so deleted) makes every command, --help included,
// print one line naming the library and `npm run setup`, and set-up's check names the library
// (scripts/setup-checks.mjs); set-up in a read-only checkout stops with one line before `npm ci`;
// the interop tests' Python packages install once (a stamp) and a failed install only warns; the
// test reporter's last line names each reason tests were skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO } from '../helpers/python.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-setup-')));
const checks: any = await import(path.join(REPO, 'scripts', 'setup-checks.mjs'));

/** A growbert.node that links libgone.so, which is then deleted: the loader fails as with a damaged .venv. */
function brokenAddon(): string {
  const dir = path.join(tmp, 'broken-build');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'gone.c'), 'int gone(void) { return 1; }\n');
  fs.writeFileSync(path.join(tmp, 'addon.c'), 'int gone(void);\nint use(void) { return gone(); }\n');
  execFileSync('gcc', ['-shared', '-fPIC', '-o', path.join(tmp, 'libgone.so'), path.join(tmp, 'gone.c')]);
  const out = path.join(dir, 'growbert.node');
  execFileSync('gcc', [
    '-shared',
    '-fPIC',
    '-o',
    out,
    path.join(tmp, 'addon.c'),
    `-L${tmp}`,
    `-Wl,-rpath,${tmp}`,
    '-lgone',
  ]);
  fs.rmSync(path.join(tmp, 'libgone.so'));
  return dir;
}

test('an addon that cannot load: one line for every command, --help included; set-up names the library', () => {
  const build = brokenAddon();
  for (const args of [['--help'], ['pretrain', '--max-steps', '1'], ['plan', '--schedule', 'full']]) {
    const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'growbert.js'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, GROWBERT_BUILD_DIR: build },
    });
    assert.equal(r.status, 1, args.join(' '));
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      /^growbert: growbert's native addon .*growbert\.node does not load \(.*libgone\.so: cannot open shared object file: No such file or directory\): run `npm run setup`/,
    );
  }
  const v = checks.verifyAddon(path.join(build, 'growbert.node'));
  assert.deepEqual([v.ok, v.missing], [false, 'libgone.so']);
  assert.equal(checks.verifyAddon(path.join(REPO, 'build', 'growbert.node')).ok, true, 'the real addon loads');
  const lt = { libDir: tmp, cuda: false };
  assert.deepEqual(checks.missingLibs(lt), ['libtorch.so', 'libtorch_cpu.so', 'libc10.so']);
});

test('set-up in a read-only checkout stops with one line before npm ci', (t) => {
  if (spawnSync('unshare', ['-rm', 'true']).status !== 0)
    return t.skip('no user namespaces here (unshare -rm) to mount a folder read-only');
  const repo = path.join(tmp, 'ro-repo');
  fs.mkdirSync(repo);
  fs.cpSync(path.join(REPO, 'scripts'), path.join(repo, 'scripts'), { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(REPO, f), path.join(repo, f));
  // LIBTORCH: the libtorch this checkout built against, so set-up gets as far as npm ci
  const lib = path.join(REPO, '.venv', 'lib');
  const site = fs.existsSync(lib) ? fs.readdirSync(lib).find((d) => d.startsWith('python')) : undefined;
  if (!site) return t.skip('no .venv libtorch to point LIBTORCH at');
  const libtorch = path.join(REPO, '.venv', 'lib', site, 'site-packages', 'torch');
  const script = `mount --bind ${repo} ${repo} && mount -o remount,bind,ro ${repo} && exec ${process.execPath} ${repo}/scripts/setup.mjs --quiet`;
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', script], {
    encoding: 'utf8',
    env: { ...process.env, LIBTORCH: libtorch },
  });
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /^growbert setup: .*ro-repo cannot be written \(EROFS\), and set-up must install the npm dependencies/,
  );
});

test('the interop Python packages install once (a stamp); a failed install is a warning', () => {
  const venv = path.join(tmp, 'venv');
  fs.mkdirSync(path.join(venv, 'bin'), { recursive: true });
  const log = path.join(tmp, 'pip-calls');
  const py = path.join(venv, 'bin', 'python');
  const fake = (code: number) =>
    fs.writeFileSync(
      py,
      `#!/bin/sh\necho "$@" >> ${log}\n${code ? 'echo "ERROR: No matching distribution found for transformers==5.18.0" >&2\n' : ''}exit ${code}\n`,
      { mode: 0o755 },
    );
  const warned: string[] = [];
  const o = {
    root: REPO,
    venvDir: venv,
    makeVenv: () => true,
    torchIndex: 'https://x',
    say: () => {},
    warn: (m: string) => warned.push(m),
    quiet: true,
  };
  fake(1);
  assert.equal(checks.ensurePythonDeps(o), false);
  assert.match(
    warned[0]!,
    /pip could not install scripts\/python-deps\.txt into \.venv \(ERROR: No matching distribution found for transformers==5\.18\.0\); the interop tests will be skipped/,
  );
  assert.ok(!fs.existsSync(path.join(venv, '.growbert-python-deps')));
  fake(0);
  assert.equal(checks.ensurePythonDeps(o), true);
  assert.equal(checks.ensurePythonDeps(o), true);
  const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
  assert.equal(calls.length, 2, 'the second call is skipped by the stamp');
  assert.match(
    calls[1]!,
    /-m pip install -q --retries 1 --timeout 30 --extra-index-url https:\/\/x -r .*scripts\/python-deps\.txt/,
  );
});

test("npm test's summary line names each reason tests were skipped", () => {
  const file = path.join(tmp, 'some.test.mjs');
  fs.writeFileSync(
    file,
    "import { test } from 'node:test';\ntest('a', () => {});\ntest('b', { skip: 'no module transformers' }, () => {});\ntest('c', { skip: 'no module transformers' }, () => {});\ntest('d', { skip: 'no Chromium' }, () => {});\n",
  );
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // a test runner started inside a test reports to its parent, not to its reporter
  const reporter = `--test-reporter=${path.join(REPO, 'scripts', 'test-summary.mjs')}`;
  const r = spawnSync(process.execPath, ['--test', reporter, file], { encoding: 'utf8', env });
  assert.equal(r.stdout.trim(), 'growbert tests: 3 skipped: 2 because no module transformers; 1 because no Chromium');
  assert.match(
    JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).scripts.test,
    /setup\.mjs --browser --interop .*--test-reporter=\.\/scripts\/test-summary\.mjs/,
  );
});
