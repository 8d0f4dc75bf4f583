#!/usr/bin/env node
// Sets up an installed growbert package (node_modules/growbert): libtorch and the native addon, as
// @tensorflow/tfjs-node and onnxruntime-node set up their native part. It runs
//   - as npm's install hook (package.json "install"), where npm runs dependencies' install scripts (npm 11
//     blocks them unless allowed: `npm install --allow-scripts=growbert` or `npm install-scripts approve`);
//   - otherwise on first use: src/tensor/native.ts runs it (with --quiet) when the addon is missing;
//   - and by hand: `npx growbert setup` (after changing LIBTORCH, or deleting the cached venv).
// Steps: 1. libtorch, chosen as in a checkout (LIBTORCH, LIBTORCH=system, LIBTORCH_USE_PYTORCH=1), else a
// venv with PyTorch's CPU wheel in the user's cache folder (scripts/libtorch.mjs: VENV_DIR); 2. the addon,
// build/growbert.node (scripts/setup.mjs --package; written by rename, so never half a file); 3. a load
// check in a fresh process: an addon that builds but does not load (a libtorch it was not built against, a
// missing library) is deleted, so nothing half-working stays behind to crash later. A failure prints one
// line saying what to do and exits non-zero. One set-up at a time per package (a lock folder in build/).
// In a checkout of the repository it does nothing: `npm run setup` sets that up (and runs `npm ci`, which
// runs this hook). GROWBERT_SKIP_INSTALL=1 makes the install hook do nothing (set-up then happens on first
// use). Plain JS with no dependencies but node-addon-api, a dependency npm installs before the hook.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IN_CHECKOUT, SETUP_AGAIN } from './libtorch.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = path.resolve(root, process.env.GROWBERT_BUILD_DIR || 'build');
const quiet = process.argv.includes('--quiet');
const asHook = process.env.npm_lifecycle_event === 'install';

function fail(message) {
  console.error(`growbert install: ${message}`);
  process.exit(1);
}

/** Loads the addon and libtorch in a fresh process; the error's first line, or '' when it loads. */
function loadError() {
  const entry = path.join(root, 'dist/src/tensor/index.js');
  const code = `import(${JSON.stringify(entry)}).then((T) => console.log(T.torchVersion()))`;
  const env = { ...process.env, GROWBERT_NO_AUTO_SETUP: '1' }; // a missing addon must not start another set-up
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: root, env });
  if (r.status === 0) return '';
  const lines = `${r.stderr}`.split('\n').map((l) => l.trim());
  return lines.find((l) => /^(\w*Error|growbert)/.test(l)) ?? lines.find(Boolean) ?? `exit code ${r.status}`;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Waits for another set-up of this package (two processes' first use at once) to finish, then takes the lock. */
function lock() {
  const dir = path.join(buildDir, '.setup-lock');
  fs.mkdirSync(buildDir, { recursive: true });
  for (let said = false; ; sleep(2000)) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
      return () => fs.rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let pid = 0;
    try {
      pid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
    } catch {}
    const young = Date.now() - (fs.statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 10_000;
    if (pid ? !alive(pid) : !young)
      fs.rmSync(dir, { recursive: true, force: true }); // its owner died
    else if (!said && !quiet) {
      console.error(`growbert install: waiting for another set-up of ${root} (process ${pid || '?'})`);
      said = true;
    }
  }
}

if (IN_CHECKOUT) process.exit(0);
if (asHook && process.env.GROWBERT_SKIP_INSTALL === '1') {
  console.error(`growbert install: GROWBERT_SKIP_INSTALL=1: set-up happens on first use, or run ${SETUP_AGAIN}`);
  process.exit(0);
}
const unlock = lock();
let failure = '';
try {
  const args = [path.join(root, 'scripts/setup.mjs'), '--package', ...(quiet ? ['--quiet'] : [])];
  const setup = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (setup.status !== 0)
    process.exitCode = setup.status ?? 1; // setup.mjs has said what to do
  else {
    const err = loadError();
    if (err) {
      for (const f of ['growbert.node', 'stamp.json']) fs.rmSync(path.join(buildDir, f), { force: true });
      failure =
        `the native addon was built but does not load (${err}), so it was removed: check the libtorch chosen ` +
        `(LIBTORCH, LIBTORCH_USE_PYTORCH), then run ${SETUP_AGAIN}`;
    }
  }
} finally {
  unlock();
}
if (failure) fail(failure);
