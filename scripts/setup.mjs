#!/usr/bin/env node
// One-time (and idempotent) set-up, run by `npm test`, `npm run demo` and `npm run setup`:
//   1. libtorch: found via LIBTORCH (a folder, or `system` for Debian's libtorch-dev) / LIBTORCH_USE_PYTORCH /
//      the project's .venv; if none, makes .venv with PyTorch's CPU wheel (scripts/libtorch.mjs); and
//      libgloo-dev (apt, as root on Debian) where that libtorch lacks the Gloo headers data-parallel
//      training (c10d over Gloo) compiles against.
//   2. npm ci, when node_modules is missing or older than package-lock.json.
//   3. the native addon (skipped when its sources and flags are unchanged).
//   4. the TypeScript build (skipped when no source changed).
//   5. that the addon loads (libtorch's libraries present: a damaged .venv's torch is reinstalled;
//      scripts/setup-checks.mjs), so "ready" means every command can start.
//   6. with --browser (as `npm test` runs it): a system Chromium for the browser tests
//      (scripts/browser.mjs; installed with apt as root on Debian when missing).
//   7. with --interop (as `npm test` runs it): the interop tests' Python packages
//      (scripts/python-deps.txt) in .venv, installed as torch is; without them those tests skip.
// A step that must write into a read-only checkout stops with one line saying so.
// With --package (scripts/install.mjs runs it in an installed package), steps 1 and 3 only: npm has
// installed the dependencies and the package ships its compiled JavaScript; and without Gloo's headers
// the addon is built without data-parallel training (a warning) rather than failing the install.
// Plain JS with no dependencies: it must run before `npm ci`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch, SETUP_AGAIN, TORCH_SPEC, VENV_DIR } from './libtorch.mjs';
import { distSupport } from './build-native.mjs';
import { ensurePythonDeps, ensureWritable, missingLibs, verifyAddon } from './setup-checks.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const asPackage = process.argv.includes('--package');
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

// The default libtorch: PyTorch's CPU wheel (TORCH_SPEC) in a venv, VENV_DIR (measured against Debian's 1.13
// in the README: faster, bf16 matmuls through oneDNN, and the same libtorch a GPU user's torch is).
const TORCH_INDEX = process.env.GROWBERT_TORCH_INDEX || 'https://download.pytorch.org/whl/cpu';

function isDebianRoot() {
  return fs.existsSync('/etc/debian_version') && typeof process.getuid === 'function' && process.getuid() === 0;
}

function aptInstall(pkgs) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['install', '-y', '-q', '--no-install-recommends', ...pkgs];
  const opts = { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', cwd: root, env };
  if (spawnSync('apt-get', args, opts).status === 0) return true;
  spawnSync('apt-get', ['update', '-q'], opts);
  return spawnSync('apt-get', args, opts).status === 0;
}

/** Makes the venv (python3 -m venv) when it is not there; the error line, or null when it is there now. */
function createVenv() {
  const py = process.env.PYTHON || 'python3';
  if (fs.existsSync(path.join(VENV_DIR, 'bin/python'))) return null;
  if (VENV_DIR.startsWith(root + path.sep)) ensureWritable(root, 'make .venv', die);
  const mk = () => spawnSync(py, ['-m', 'venv', VENV_DIR], { stdio: ['ignore', 'ignore', 'pipe'] });
  let r = mk();
  // Debian's python3 has no venv module until python3-venv is installed.
  if (r.status !== 0 && isDebianRoot() && aptInstall(['python3-venv', 'python3-pip'])) r = mk();
  if (r.status === 0) return null;
  fs.rmSync(VENV_DIR, { recursive: true, force: true });
  return `\`${py} -m venv\` failed (${String(r.stderr).trim().split('\n').pop()})`;
}

function makeVenv(why = 'no libtorch found') {
  const venvPy = path.join(VENV_DIR, 'bin/python');
  const where = VENV_DIR.startsWith(root + path.sep) ? path.relative(root, VENV_DIR) : VENV_DIR;
  if (!fs.existsSync(venvPy)) say(`${why}: making ${where}/ with ${TORCH_SPEC} (CPU), once`);
  else say(`${why}: installing ${TORCH_SPEC} (CPU) into ${where}/ again`);
  const failed = createVenv();
  if (failed)
    die(
      `${failed}; install python3-venv, or set LIBTORCH=/path/to/libtorch or LIBTORCH_USE_PYTORCH=1, then run ${SETUP_AGAIN} again`,
    );
  // --retries 1 and --timeout 30: where the index cannot be reached (refused, or packets dropped), pip falls through
  // to a configured local store in seconds instead of retrying for minutes. A repair reinstalls torch alone
  // (--force-reinstall --no-deps).
  const again = why !== 'no libtorch found' ? ['--force-reinstall', '--no-deps'] : [];
  const pip = ['-m', 'pip', 'install', '-q', '--retries', '1', '--timeout', '30'];
  const args = [...pip, ...again, '--index-url', TORCH_INDEX, TORCH_SPEC];
  const r = spawnSync(venvPy, args, { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', cwd: root });
  if (r.status !== 0)
    die(
      `pip could not install ${TORCH_SPEC} into ${VENV_DIR} from ${TORCH_INDEX}; set GROWBERT_TORCH_INDEX to a ` +
        `reachable index, or LIBTORCH=/path/to/libtorch, then run ${SETUP_AGAIN} again`,
    );
}

function ensureLibtorch() {
  let lt;
  try {
    lt = findLibtorch();
    if (lt) return repairLibtorch(lt);
    makeVenv();
    lt = findLibtorch();
  } catch (e) {
    die(e.message);
  }
  if (!lt) die(`pip installed ${TORCH_SPEC} into .venv but its libtorch (include/, lib/) was not found there`);
  return repairLibtorch(lt);
}

/**
 * libtorch's core libraries must be there: the project's .venv gets torch reinstalled when one is
 * gone (a damaged venv); a libtorch named by LIBTORCH or the system's is the user's to repair.
 */
function repairLibtorch(lt, missing = missingLibs(lt)) {
  if (!missing.length) return lt;
  if (lt.source !== 'venv')
    die(
      `libtorch in ${lt.libDir} (${lt.source}) lacks ${missing.join(', ')}: that installation is damaged; reinstall it, or point LIBTORCH at a complete libtorch`,
    );
  makeVenv(`the torch in .venv lacks ${missing.join(', ')} (damaged)`);
  const again = findLibtorch();
  const still = again ? missingLibs(again) : missing;
  if (!again || still.length) die(`reinstalling ${TORCH_SPEC} into .venv did not bring back ${still.join(', ')}`);
  return again;
}

/** The addon must load: a library the loader misses is repaired (.venv) or named, with the fix. */
function checkAddonLoads(lt) {
  const addon = path.join(root, process.env.GROWBERT_BUILD_DIR || 'build', 'growbert.node');
  let v = verifyAddon(addon);
  if (v.ok) return;
  if (v.missing && lt.source === 'venv' && !fs.existsSync(path.join(lt.libDir, v.missing))) {
    repairLibtorch(lt, [v.missing]);
    v = verifyAddon(addon);
    if (v.ok) return;
  }
  die(
    `the native addon ${path.relative(root, addon)} does not load (${v.why})` +
      (v.missing
        ? `: the shared library ${v.missing} is missing; reinstall the libtorch it was built against (${lt.libDir}) or the package that provides it, then run ${SETUP_AGAIN} again`
        : `; rebuild it (${SETUP_AGAIN})`),
  );
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
  if (process.env.GROWBERT_NO_DIST === '1' || !distSupport(lt).why.startsWith('no Gloo headers')) return;
  if (asPackage) {
    // an install must not fail (nor run apt) for an optional part
    console.error(
      'growbert setup: warning: no Gloo headers (gloo/config.h), so the addon is built without data-parallel ' +
        `training (--nproc); to add it: \`sudo apt-get install libgloo-dev\`, then ${SETUP_AGAIN}`,
    );
    process.env.GROWBERT_NO_DIST = '1';
    return;
  }
  if (isDebianRoot()) {
    say('installing libgloo-dev (headers for data-parallel training over Gloo)');
    if (aptInstall(['libgloo-dev'])) return;
  }
  die(
    'no Gloo headers (gloo/config.h), which data-parallel training (--nproc) compiles against: install them ' +
      '(`sudo apt-get install libgloo-dev`), or set GROWBERT_NO_DIST=1 to build without data-parallel training',
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
  ensureWritable(root, 'install the npm dependencies (npm ci, into node_modules/)', die);
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
  ensureWritable(root, 'compile the TypeScript (into dist/)', die);
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
if (!asPackage) ensureNodeModules();
const { buildNative } = await import('./build-native.mjs');
try {
  const r = await buildNative({ quiet });
  if (r.built) say(`native addon built against libtorch ${lt.version} (${lt.source})`);
} catch (e) {
  // a build that must write into a read-only checkout: the same one line as the other steps
  if (['EROFS', 'EACCES', 'EPERM'].includes(e.code)) ensureWritable(root, 'build the native addon (into build/)', die);
  die(`native build failed: ${e.message}`);
}
checkAddonLoads(lt);
if (!asPackage) ensureTsBuild();
if (process.argv.includes('--browser')) {
  const { ensureBrowser } = await import('./browser.mjs');
  ensureBrowser({ say, quiet });
}
if (process.argv.includes('--interop') && !asPackage)
  ensurePythonDeps({
    root,
    venvDir: VENV_DIR,
    makeVenv: () => createVenv() === null,
    torchIndex: TORCH_INDEX,
    say,
    warn: (m) => console.error(`growbert setup: warning: ${m}`),
    quiet,
  });
say('ready');
