// The dashboard reads only regular files inside its runs folder, on every route: a FIFO where a
// metrics log should be never blocks the server, a link out of the runs folder (config, plan,
// metrics, a compare report) is never followed, a link that stays inside still works, a folder
// where a file is expected says so, and a file over 2 GiB is streamed, not refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Dashboard } from '../../src/report/dashboard/server.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-dash-files-')));
const root = path.join(tmp, 'experiments');
const privateDir = path.join(tmp, 'home');
fs.mkdirSync(privateDir);
const creds = path.join(privateDir, 'token.ini');
fs.writeFileSync(creds, '{"PRIVATE": "KEY-NOT-FOR-THE-DASHBOARD"}\n');
const line = (o: object) => JSON.stringify(o) + '\n';

// experiments/lab/pipe-run: metrics.jsonl is a FIFO (nobody writes it); its config and plan link out.
const pipeRun = path.join(root, 'lab', 'pipe-run');
fs.mkdirSync(pipeRun, { recursive: true });
assert.equal(spawnSync('mkfifo', [path.join(pipeRun, 'metrics.jsonl')]).status, 0, 'mkfifo');
fs.symlinkSync(creds, path.join(pipeRun, 'config.json'));
fs.symlinkSync(creds, path.join(pipeRun, 'schedule.json'));
// experiments/leaky: every file links out
const leaky = path.join(root, 'leaky');
fs.mkdirSync(leaky);
fs.symlinkSync(creds, path.join(leaky, 'metrics.jsonl'));
fs.symlinkSync(creds, path.join(leaky, 'config.json'));
// experiments/sweep: a compare folder whose report and results link out
const sweep = path.join(root, 'sweep');
fs.mkdirSync(sweep);
fs.symlinkSync(creds, path.join(sweep, 'report.md'));
fs.symlinkSync(creds, path.join(sweep, 'results.json'));
// experiments/ok and experiments/alias: a link that stays inside the runs folder is followed
fs.mkdirSync(path.join(root, 'ok'));
fs.writeFileSync(path.join(root, 'ok', 'metrics.jsonl'), line({ step: 1, loss: 7 }));
fs.writeFileSync(path.join(root, 'ok', 'config.json'), JSON.stringify({ preset: 'tiny' }));
fs.mkdirSync(path.join(root, 'alias'));
fs.symlinkSync(path.join(root, 'ok', 'config.json'), path.join(root, 'alias', 'config.json'));
// a sparse file just over 2 GiB
const big = path.join(root, 'ok', 'huge.bin');
fs.closeSync(fs.openSync(big, 'w'));
fs.truncateSync(big, 2 ** 31 + 10);

const dash = new Dashboard({ runs: root, host: '127.0.0.1', port: 0 });
let base = '';
after(async () => {
  await dash.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A request that fails the test instead of hanging when the server does not answer. */
function get(p: string, o: { method?: string; firstChunk?: boolean } = {}) {
  const u = new URL(base);
  return new Promise<{ status: number; body: string; length: number }>((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: p, method: o.method ?? 'GET' }, (res) => {
      let body = '';
      const done = () => resolve({ status: res.statusCode ?? 0, body, length: Number(res.headers['content-length']) });
      res.on('data', (d) => {
        body += d;
        if (o.firstChunk) {
          req.destroy();
          done();
        }
      });
      res.on('end', done);
    });
    req.setTimeout(5000, () => reject(new Error(`${p}: no answer in 5 s (the server is blocked)`)));
    req.on('error', (e) => (o.firstChunk ? undefined : reject(e)));
    req.end();
  });
}

test('start', async () => {
  base = await dash.listen();
});

test('a FIFO named metrics.jsonl blocks nothing: the run, the list and the page still answer', async () => {
  const r = await get('/api/run?id=lab/pipe-run');
  assert.equal(r.status, 200, r.body);
  const body = JSON.parse(r.body) as { lines: unknown[]; config: unknown; schedule: unknown };
  assert.deepEqual(body.lines, []);
  assert.equal(body.config, null);
  assert.equal(body.schedule, null);
  assert.equal((await get('/api/runs')).status, 200);
  assert.equal((await get('/')).status, 200);
  const f = await get('/files/lab/pipe-run/metrics.jsonl');
  assert.equal(f.status, 404);
  assert.match(f.body, /not a regular file/);
});

test('no route follows a link out of the runs folder; one that stays inside works', async () => {
  for (const p of [
    '/api/run?id=leaky',
    '/api/run?id=lab/pipe-run',
    '/api/compare?id=sweep',
    '/files/leaky/config.json',
    '/files/sweep/report.md',
    '/api/runs',
  ]) {
    const r = await get(p);
    assert.ok([200, 403, 404].includes(r.status), `${p}: ${r.status}`);
    assert.doesNotMatch(r.body, /KEY-NOT-FOR-THE-DASHBOARD/, p);
  }
  const cmp = JSON.parse((await get('/api/compare?id=sweep')).body) as { report: unknown; results: unknown };
  assert.equal(cmp.report, null);
  assert.equal(cmp.results, null);
  const alias = JSON.parse((await get('/api/run?id=alias')).body) as { config: unknown };
  assert.deepEqual(alias.config, { preset: 'tiny' });
  const ok = JSON.parse((await get('/api/run?id=ok')).body) as { lines: unknown[] };
  assert.deepEqual(ok.lines, [{ step: 1, loss: 7 }]);
});

test('a folder where a file is expected says so; a file over 2 GiB is streamed', async () => {
  const d = await get('/files/ok');
  assert.equal(d.status, 404);
  assert.match(d.body, /ok is a folder, not a file/);
  const missing = await get('/files/ok/nothing.txt');
  assert.match(missing.body, /nothing\.txt does not exist/);
  const head = await get('/files/ok/huge.bin', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.length, 2 ** 31 + 10);
  const first = await get('/files/ok/huge.bin', { firstChunk: true });
  assert.equal(first.status, 200);
  assert.ok(first.body.length > 0);
});
