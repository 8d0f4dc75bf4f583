#!/usr/bin/env node
// One-time (and idempotent) set-up, run by `npm test`, `npm run demo` and `npm run setup`:
//   1. libtorch: found via LIBTORCH / LIBTORCH_USE_PYTORCH / the system; if none, installs
//      Debian's libtorch-dev with apt when running as root on Debian/Ubuntu, else explains how;
//      with it libgloo-dev, whose headers data-parallel training (c10d over Gloo) compiles against.
//   2. npm ci, when node_modules is missing or older than package-lock.json.
//   3. the native addon (skipped when its sources and flags are unchanged).
//   4. the TypeScript build (skipped when no source changed).
//   5. with --browser (as `npm test` runs it): a system Chromium for the browser tests
//      (scripts/browser.mjs; installed with apt as root on Debian when missing).
// Plain JS with no dependencies: it must run before `npm ci`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from './libtorch.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (m) => {
  if (!quiet) console.error(`growbert setup: ${m}`);
};
function die(m) {
  console.error(`growbert setup: ${m}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', cwd: root, ...opts });
  if (r.error) die(`${cmd} failed to start: ${r.error.message}`);
  if (r.status !== 0) die(`\`${cmd} ${args.join(' ')}\` exited with ${r.status}`);
}

function ensureLibtorch() {
  let lt;
  try {
    lt = findLibtorch();
  } catch (e) {
    die(e.message);
  }
  if (lt) return lt;
  const debian = fs.existsSync('/etc/debian_version');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!debian || !isRoot) {
    die(
      "no libtorch found. Install it (Debian/Ubuntu: `sudo apt-get install libtorch-dev`), or set LIBTORCH=/path/to/libtorch, or LIBTORCH_USE_PYTORCH=1 to use python3's torch package; then run `npm run setup` again",
    );
  }
  say("no libtorch found: installing Debian's libtorch-dev with apt (a few minutes, once)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-q'], { env });
  // libopenblas0 is only a Recommends of libtorch, but without it matmuls run on the reference
  // BLAS, about 30x slower.
  run(
    'apt-get',
    ['install', '-y', '-q', '--no-install-recommends', 'libtorch-dev', 'libopenblas0-pthread', 'libgloo-dev'],
    { env },
  );
  lt = findLibtorch();
  if (!lt)
    die(
      'apt-get installed libtorch-dev but its headers/libraries were not found under /usr; set LIBTORCH=/path/to/libtorch',
    );
  return lt;
}

// Debian's libtorch links libblas.so.3, which is the slow reference BLAS unless OpenBLAS is installed.
function checkBlas(lt) {
  if (lt.source !== 'system') return;
  let target = '';
  try {
    target = fs.realpathSync(`${lt.libDir}/libblas.so.3`);
  } catch {
    return;
  }
  if (target.includes('openblas') || target.includes('blis') || target.includes('mkl')) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && fs.existsSync('/etc/debian_version')) {
    say('libtorch would use the reference BLAS (very slow matmuls): installing libopenblas0-pthread');
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'libopenblas0-pthread'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } else {
    console.error(
      'growbert setup: warning: libtorch uses the reference BLAS (matmuls ~30x slower); install libopenblas0 (`sudo apt-get install libopenblas0-pthread`)',
    );
  }
}

// Debian's libtorch has c10d (PyTorch's distributed engine) compiled in, but its Gloo headers come
// from libgloo-dev; without them the addon is built without data-parallel training.
function checkGloo(lt) {
  if (
    lt.source !== 'system' ||
    fs.existsSync(path.join(lt.root, 'include/gloo/config.h')) ||
    fs.existsSync('/usr/include/gloo/config.h')
  )
    return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && fs.existsSync('/etc/debian_version')) {
    say('installing libgloo-dev (headers for data-parallel training over Gloo)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const args = ['install', '-y', '-q', '--no-install-recommends', 'libgloo-dev'];
    const opts = { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', cwd: root, env };
    if (spawnSync('apt-get', args, opts).status === 0) return;
    spawnSync('apt-get', ['update', '-q'], opts);
    if (spawnSync('apt-get', args, opts).status === 0) return;
  }
  console.error(
    'growbert setup: warning: no Gloo headers, so data-parallel training (--nproc) is off; install them (`sudo apt-get install libgloo-dev`) and run `npm run setup` again',
  );
}

function hashFiles(files) {
  const h = createHash('sha256');
  for (const f of files) h.update(f).update(fs.readFileSync(f));
  return h.digest('hex');
}

function ensureNodeModules() {
  const lock = path.join(root, 'package-lock.json');
  const stampFile = path.join(root, 'node_modules', '.growbert-lock');
  const want = hashFiles([lock, path.join(root, 'package.json')]);
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === want) return;
  say('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  fs.writeFileSync(stampFile, want);
}

function listTs(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) listTs(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function ensureTsBuild() {
  const files = ['src', 'test', 'bench'].flatMap((d) => listTs(path.join(root, d))).sort();
  files.push(path.join(root, 'tsconfig.json'));
  const want = hashFiles(files);
  const stampFile = path.join(root, 'dist', '.stamp');
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === want) return;
  say('compiling TypeScript');
  // A clean dist/ so deleted sources never leave stale compiled tests behind.
  fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')]);
  fs.writeFileSync(stampFile, want);
}

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) die(`Node.js ${process.versions.node} is too old; growbert needs Node.js 20 or newer`);
const lt = ensureLibtorch();
checkBlas(lt);
checkGloo(lt);
ensureNodeModules();
const { buildNative } = await import('./build-native.mjs');
try {
  const r = await buildNative({ quiet });
  if (r.built) say(`native addon built against libtorch ${lt.version} (${lt.source})`);
} catch (e) {
  die(`native build failed: ${e.message}`);
}
ensureTsBuild();
if (process.argv.includes('--browser')) {
  const { ensureBrowser } = await import('./browser.mjs');
  ensureBrowser({ say, quiet });
}
say('ready');
