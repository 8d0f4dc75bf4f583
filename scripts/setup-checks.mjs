// What set-up verifies before it says "ready", in one place: that the native addon really loads
// (a .venv whose libtorch_cpu.so was deleted used to pass set-up and then fail every command),
// that libtorch's core libraries are there (repaired by reinstalling torch when it is the
// project's own .venv), that a step which must write into the checkout can (a read-only checkout
// used to fail deep inside `npm ci` with exit 226), and the Python packages the interop tests
// use (scripts/python-deps.txt), installed into .venv the same way torch is.
// Plain JS with no dependencies: it runs before `npm ci`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The shared libraries of libtorch the addon links (build-native.mjs's -l flags). */
export function coreLibs(lt) {
  return ['libtorch.so', 'libtorch_cpu.so', 'libc10.so', ...(lt.cuda ? ['libtorch_cuda.so', 'libc10_cuda.so'] : [])];
}

/** The core libraries missing from `lt.libDir`. */
export function missingLibs(lt) {
  return coreLibs(lt).filter((f) => !fs.existsSync(path.join(lt.libDir, f)));
}

/**
 * Loads the addon in a child process (as every command will): { ok } or { ok: false, missing,
 * why }, `missing` naming a shared library the loader could not find.
 */
export function verifyAddon(file) {
  if (!fs.existsSync(file)) return { ok: false, missing: null, why: `${file} is missing` };
  const r = spawnSync(process.execPath, ['-e', `process.dlopen({ exports: {} }, ${JSON.stringify(file)})`], {
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });
  if (r.status === 0) return { ok: true };
  const err = String(r.stderr);
  const missing = err.match(/([^\s:/]+\.so[.\d]*): cannot open shared object file/)?.[1] ?? null;
  const line = err.split('\n').find((l) => /Error:/.test(l)) ?? err.trim().split('\n')[0] ?? '';
  return { ok: false, missing, why: line.replace(/^.*?Error: /, '').trim() };
}

/**
 * Dies with one line when `root` cannot be written and `step` must write there (a read-only
 * checkout, or one mounted read-only).
 */
export function ensureWritable(root, step, die) {
  try {
    fs.accessSync(root, fs.constants.W_OK);
    const probe = path.join(root, `.growbert-write-test-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (e) {
    die(
      `${root} cannot be written (${e.code ?? e.message}), and set-up must ${step} there: run set-up once in a ` +
        'writable copy of growbert (or as a user who may write it), then use that copy',
    );
  }
}

/**
 * The interop tests' Python packages in .venv (made when missing, as for torch): pip from the
 * configured index and local stores, skipped when the stamp says this list is installed. Never
 * fatal: without them the interop tests are skipped, and the test run's summary names why.
 */
export function ensurePythonDeps({ root, venvDir, makeVenv, torchIndex, say, warn, quiet }) {
  const list = path.join(root, 'scripts', 'python-deps.txt');
  const want = createHash('sha256').update(fs.readFileSync(list)).digest('hex');
  const stamp = path.join(venvDir, '.growbert-python-deps');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return true;
  const py = path.join(venvDir, 'bin', 'python');
  if (!fs.existsSync(py) && !makeVenv()) {
    warn("no .venv for the interop tests' Python packages (python3 -m venv failed); those tests will be skipped");
    return false;
  }
  say('installing the Python packages the interop tests use (scripts/python-deps.txt) into .venv, once');
  // --retries 1 and --timeout 30: where an index cannot be reached, pip falls through to a configured local store
  // in seconds
  const quick = ['--retries', '1', '--timeout', '30'];
  const args = ['-m', 'pip', 'install', '-q', ...quick, '--extra-index-url', torchIndex, '-r', list];
  const r = spawnSync(py, args, { stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) {
    const last = String(r.stderr).trim().split('\n').pop();
    warn(
      `pip could not install scripts/python-deps.txt into .venv (${last}); the interop tests will be skipped (named in the test summary)`,
    );
    return false;
  }
  fs.writeFileSync(stamp, want);
  return true;
}
