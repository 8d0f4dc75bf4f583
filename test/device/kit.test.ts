// The device kit and visit machinery (scripts/device/, docs/device.md) in pieces, fast and on the CPU: what the
// kit carries of node_modules and dist/, how what travels is counted, the growth part's sizing and its reading of
// cut-off comparisons, and the visit runner's deadline, limits and summary. The whole visit is rehearsed in CI's
// device lane (.ci/lane-device.sh), not here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const load = async <T>(rel: string) => (await import(pathToFileURL(path.resolve(rel)).href)) as T;
type Part = { status: string; reason?: string; seconds?: number; [k: string]: unknown };
interface VisitT {
  summary: { parts: Record<string, Part>; ok: boolean; finished: boolean };
  left(): number;
  part(name: string, needS: number, fn: () => Promise<Part>): Promise<Part>;
  sh(
    cmd: string,
    args: string[],
    o?: { limitS?: number; quiet?: boolean },
  ): Promise<{ ok: boolean; timedOut: boolean }>;
  finish(): void;
}
const { runtimeFiles } = await load<{ runtimeFiles: (root: string) => string[] }>('scripts/device/kit-files.mjs');
const { travelSize } = await load<{
  travelSize: (root: string, carry?: string[]) => { tracked: number; carried: Record<string, number>; total: number };
}>('scripts/device/tree-size.mjs');
const { sizeBudget, finishedRuns } = await load<{
  sizeBudget: (left: number, runs: number, cuda: boolean) => number;
  finishedRuns: (dir: string) => { schedule: string; seed: number; finalValLoss: number; steps: number }[];
}>('scripts/device/growth.mjs');
const { Visit } = await load<{
  Visit: new (o: { root: string; summaryFile: string; deadlineAt: number }) => VisitT;
}>('scripts/device/runner.mjs');

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-kit-'));

test('the kit carries the runtime packages, node-addon-api and the compiled CUDA tests, not what no visit loads', () => {
  const files = runtimeFiles(process.cwd());
  const has = (f: string) => files.includes(f);
  assert.ok(has('node_modules/node-addon-api/napi.h'), 'node-addon-api (a devDependency) is needed to build');
  assert.ok(has('node_modules/zod/package.json'));
  assert.ok(has('dist/src/cli/main.js') && has('dist/test/cuda/device.test.js'));
  assert.ok(has('node_modules/dejavu-fonts-ttf/ttf/DejaVuSans.ttf'));
  assert.ok(!has('node_modules/dejavu-fonts-ttf/ttf/DejaVuSerif.ttf'));
  const tok = files.filter((f) => f.startsWith('node_modules/tokenizers/') && f.endsWith('.node'));
  assert.deepEqual(tok, ['node_modules/tokenizers/tokenizers.linux-x64-gnu.node']);
  assert.ok(!files.some((f) => f.startsWith('node_modules/typescript/') || f.startsWith('node_modules/eslint/')));
  assert.ok(!files.some((f) => f.endsWith('.d.ts') || f.endsWith('.map')));
});

test('what travels: tracked and untracked-not-ignored files plus the carried paths, not the ignored rest', () => {
  const d = tmp();
  execFileSync('git', ['init', '-q', d]);
  fs.writeFileSync(path.join(d, '.gitignore'), '/kit/\n/big/\n');
  fs.writeFileSync(path.join(d, 'a.txt'), 'x'.repeat(100));
  execFileSync('git', ['-C', d, 'add', '.gitignore', 'a.txt']);
  fs.writeFileSync(path.join(d, 'new.txt'), 'y'.repeat(50)); // untracked, not ignored: travels
  fs.mkdirSync(path.join(d, 'kit'));
  fs.writeFileSync(path.join(d, 'kit/k.bin'), Buffer.alloc(1000));
  fs.mkdirSync(path.join(d, 'big'));
  fs.writeFileSync(path.join(d, 'big/b.bin'), Buffer.alloc(5000)); // ignored and not carried
  const s = travelSize(d, ['kit']);
  assert.equal(s.tracked, 100 + 50 + '/kit/\n/big/\n'.length);
  assert.deepEqual(s.carried, { kit: 1000 });
  assert.equal(s.total, s.tracked + 1000);
  fs.rmSync(d, { recursive: true, force: true });
});

test('the growth part sizes its budget to the time left, and gives up below a useful one', () => {
  // GPU: 60 s corpus, 20 s a run, 15 s margin
  assert.equal(sizeBudget(330, 3, true), Math.floor((330 - 15 - 60 - 60) / 3));
  assert.equal(sizeBudget(495, 6, true), Math.floor((495 - 15 - 60 - 120) / 6));
  assert.equal(sizeBudget(150, 3, true), 0);
  assert.equal(sizeBudget(1500, 3, false), 3, 'the CPU smoke stays a smoke however long the deadline');
});

test("a cut-off comparison's finished runs are read from their own folders", () => {
  const d = tmp();
  const run = (sched: string, done: boolean) => {
    const dir = path.join(d, '60s', sched);
    fs.mkdirSync(dir, { recursive: true });
    const lines = [
      { step: 5, seconds: 30, valLoss: 7.5 },
      { step: 9, seconds: 60, valLoss: 7.1 },
      { event: 'stage', step: 9 },
    ];
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    if (done)
      fs.writeFileSync(
        path.join(dir, 'compare-done.json'),
        JSON.stringify({ schedule: sched, budget: '60s', seed: 0 }),
      );
  };
  run('full', true);
  run('compound', false); // cut off: no compare-done.json
  const got = finishedRuns(d);
  assert.equal(got.length, 1);
  assert.equal(got[0].schedule, 'full');
  assert.equal(got[0].finalValLoss, 7.1);
  assert.equal(got[0].steps, 9);
  fs.rmSync(d, { recursive: true, force: true });
});

test('a visit part runs only when its time is left, its command dies with its children at the limit, and the summary is rewritten', async () => {
  const d = tmp();
  const summaryFile = path.join(d, 'summary.json');
  fs.writeFileSync(summaryFile, JSON.stringify({ visit: 'v', parts: { unpack: { status: 'ok', seconds: 1 } } }));
  const v = new Visit({ root: d, summaryFile, deadlineAt: Date.now() + 60_000 });
  const pidFile = path.join(d, 'child.pid');
  const p = await v.part('slow', 1, async () => {
    const r = await v.sh('bash', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { limitS: 1, quiet: true });
    return { status: r.timedOut ? 'failed' : 'ok', reason: 'timed out' };
  });
  assert.equal(p.status, 'failed');
  assert.ok((p.seconds ?? 99) < 10);
  const child = Number(fs.readFileSync(pidFile, 'utf8'));
  // The kill is sent at the limit; the child's exit is awaited (a liveness bound: 300 ms failed under load).
  const alive = () => {
    try {
      process.kill(child, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 200 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(!alive(), "the command's child was killed with it");
  const skipped = await v.part('big', 3600, async () => ({ status: 'ok' }));
  assert.equal(skipped.status, 'skipped');
  assert.match(skipped.reason ?? '', /needs about 3600 s/);
  const thrown = await v.part('throws', 1, async () => {
    throw new Error('boom');
  });
  assert.deepEqual([thrown.status, thrown.reason], ['failed', 'boom']);
  const s = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
  assert.deepEqual(Object.keys(s.parts), ['unpack', 'slow', 'big', 'throws']);
  assert.equal(s.visit, 'v');
  assert.equal(s.ok, false);
  assert.equal(s.finished, false);
  v.finish();
  assert.equal(JSON.parse(fs.readFileSync(summaryFile, 'utf8')).finished, true);
  fs.rmSync(d, { recursive: true, force: true });
});
