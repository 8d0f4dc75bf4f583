// The Python interpreter the interop tests run the real libraries in (transformers, tokenizers,
// TensorBoard, datasets): $GROWBERT_PYTHON, else the project's .venv (made by set-up, or by .ci/run
// from scripts/python-deps.txt). Its modules are probed once; a test skips, with the reason, only
// when the interpreter or a module is missing, never because a library gave a different answer.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// compiled to dist/test/helpers/: the repository is three folders up
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const PYTHON = process.env.GROWBERT_PYTHON ?? path.join(REPO, '.venv', 'bin', 'python');
/** The Python scripts the tests run (committed beside the TypeScript tests, not compiled). */
export const PY_SCRIPTS = path.join(REPO, 'test', 'python');

const probed = new Map<string, string | false>();

/**
 * False when PYTHON imports every module in `modules`, else the reason to skip (for node:test's
 * `skip` option).
 */
export function pythonMissing(modules: readonly string[]): string | false {
  const key = modules.join(',');
  const known = probed.get(key);
  if (known !== undefined) return known;
  let why: string | false = false;
  if (!fs.existsSync(PYTHON)) why = `no Python at ${PYTHON} (set GROWBERT_PYTHON or make .venv)`;
  else {
    const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
    if (r.status !== 0)
      why = `${PYTHON} cannot import ${key} (pip install -r scripts/python-deps.txt): ${lastLine(r.stderr)}`;
  }
  probed.set(key, why);
  return why;
}

const lastLine = (s: string | null) => (s ?? '').trim().split('\n').pop() ?? '';

const pyEnv = () => ({ ...process.env, OMP_NUM_THREADS: '1', TOKENIZERS_PARALLELISM: 'false' });

function parseOut<T>(script: string, stdout: string, stderr: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch (e) {
    throw new Error(`${script} printed no JSON (${(e as Error).message}): ${stdout.slice(0, 500)} ${stderr}`);
  }
}

/**
 * Starts test/python/SCRIPT now (it can import its libraries while the test prepares its inputs);
 * `run(input)` then sends the JSON input on stdin and resolves with its stdout parsed as JSON.
 */
export function startPython<T = unknown>(
  script: string,
  o: { timeoutMs?: number } = {},
): { run(input: unknown): Promise<T> } {
  const child = spawn(PYTHON, [path.join(PY_SCRIPTS, script)], { env: pyEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | string>((resolve) =>
    child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 300_000);
  return {
    async run(input: unknown): Promise<T> {
      child.stdin.end(JSON.stringify(input));
      const status = await exited;
      clearTimeout(timer);
      if (status !== 0) throw new Error(`${script} exited ${status}: ${stderr}`);
      return parseOut<T>(script, stdout, stderr);
    },
  };
}

/** Runs test/python/SCRIPT with `input` as JSON on stdin; its stdout parsed as JSON. */
export function runPython<T = unknown>(script: string, input: unknown, o: { timeoutMs?: number } = {}): T {
  const r = spawnSync(PYTHON, [path.join(PY_SCRIPTS, script)], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: o.timeoutMs ?? 120_000,
    env: pyEnv(),
  });
  if (r.status !== 0) throw new Error(`${script} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return parseOut<T>(script, r.stdout, r.stderr);
}
