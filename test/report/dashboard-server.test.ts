// The dashboard's server without a browser: which folders it lists, incremental metrics reads
// (torn lines, rewritten and removed runs), and that it is read-only and serves nothing outside
// the runs folder, whatever the path's spelling.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Dashboard } from '../../src/report/dashboard/server.js';
import { resolveUnder } from '../../src/report/dashboard/safe-path.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-dashboard-'));
const root = path.join(tmp, 'runs');
const secret = path.join(tmp, 'secret.txt');
fs.writeFileSync(secret, 'SECRET-OUTSIDE-THE-RUNS-FOLDER');
const line = (o: object) => JSON.stringify(o) + '\n';

// runs/a: a run; runs/cmp: a compare folder with its runs; runs/half: a half-written run;
// runs/link -> outside (a symbolic link out of the folder).
fs.mkdirSync(path.join(root, 'a', 'checkpoints', 'step-00000002'), { recursive: true });
fs.writeFileSync(path.join(root, 'a', 'config.json'), JSON.stringify({ preset: 'tiny' }));
fs.writeFileSync(path.join(root, 'a', 'metrics.jsonl'), line({ step: 1, loss: 9 }) + line({ step: 2, loss: 8 }));
fs.mkdirSync(path.join(root, 'cmp', '300', 'full'), { recursive: true });
fs.mkdirSync(path.join(root, 'cmp', '300', 'compound'), { recursive: true });
fs.writeFileSync(path.join(root, 'cmp', '300', 'full', 'metrics.jsonl'), line({ step: 1, loss: 9 }));
fs.writeFileSync(path.join(root, 'cmp', '300', 'compound', 'metrics.jsonl'), line({ step: 1, loss: 9 }));
fs.writeFileSync(
  path.join(root, 'cmp', 'results.json'),
  JSON.stringify({ schedules: [{ name: 'full' }, { name: 'small-only' }] }),
);
fs.writeFileSync(path.join(root, 'cmp', 'loss-300-flops.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
fs.mkdirSync(path.join(root, 'half'));
fs.writeFileSync(path.join(root, 'half', 'config.json'), '{"preset": "ti');
fs.writeFileSync(path.join(root, 'half', 'metrics.jsonl'), line({ step: 1, loss: 9 }) + '{"step": 2, "lo');
fs.symlinkSync(tmp, path.join(root, 'link'));

const dash = new Dashboard({ runs: root, host: '127.0.0.1', port: 0 });
let base = '';
after(() => dash.close());

/** A raw request: the path goes out exactly as written (no URL normalisation by a client library). */
function get(p: string, o: { method?: string; host?: string } = {}): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: p, method: o.method ?? 'GET', headers: o.host ? { host: o.host } : {} },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
const json = async (p: string) => {
  const r = await get(p);
  assert.equal(r.status, 200, `${p}: ${r.body}`);
  return JSON.parse(r.body);
};

/** Every file and folder under `dir`, with size and modification time. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const s = fs.lstatSync(p);
      out.push(`${path.relative(dir, p)} ${s.size} ${s.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}
const before = snapshot(tmp);

test('listens on 127.0.0.1 and serves the page and its bundled libraries', async () => {
  base = await dash.listen();
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<script src="\/assets\/vega-embed\.min\.js">/);
  assert.doesNotMatch(page.body, /https?:\/\/(?!vega\.github\.io\/schema)/, 'no other origin');
  for (const a of [
    'vega.min.js',
    'vega-lite.min.js',
    'vega-embed.min.js',
    'dashboard.js',
    'dashboard.css',
    'DejaVuSans.ttf',
  ]) {
    assert.equal((await get(`/assets/${a}`)).status, 200, a);
  }
  assert.equal((await get('/assets/package.json')).status, 404);
});

test('lists run and compare folders, not their insides', async () => {
  const { runs } = await json('/api/runs');
  const ids = runs.map((r: { id: string; kind: string }) => `${r.id}:${r.kind}`).sort();
  assert.deepEqual(ids, ['a:run', 'cmp/300/compound:run', 'cmp/300/full:run', 'cmp:compare', 'half:run']);
});

test('metrics come in increments of whole lines; a rewritten log starts over; a removed run is 404', async () => {
  const r1 = await json('/api/run?id=half&offset=0');
  assert.deepEqual(r1.lines, [{ step: 1, loss: 9 }], 'the torn last line waits');
  assert.equal(r1.config, null, 'a half-written config.json is no config yet');
  fs.appendFileSync(path.join(root, 'half', 'metrics.jsonl'), 'ss": 8}\n' + line({ step: 3, loss: 7 }));
  const r2 = await json(`/api/run?id=half&file=${r1.file}&offset=${r1.offset}`);
  assert.equal(r2.reset, false);
  assert.deepEqual(r2.lines, [
    { step: 2, loss: 8 },
    { step: 3, loss: 7 },
  ]);
  assert.equal(r2.config, undefined, 'the config comes with the first chunk only');
  const r3 = await json(`/api/run?id=half&file=${r2.file}&offset=${r2.offset}`);
  assert.deepEqual([r3.lines, r3.offset], [[], r2.offset]);
  // A resume truncates the log by writing a new file (atomic rename): the reader starts over.
  const tmpFile = path.join(root, 'half', 'metrics.jsonl.tmp');
  fs.writeFileSync(tmpFile, line({ step: 1, loss: 9 }));
  fs.renameSync(tmpFile, path.join(root, 'half', 'metrics.jsonl'));
  const r4 = await json(`/api/run?id=half&file=${r3.file}&offset=${r3.offset}`);
  assert.equal(r4.reset, true);
  assert.deepEqual(r4.lines, [{ step: 1, loss: 9 }]);
  fs.rmSync(path.join(root, 'half'), { recursive: true });
  assert.equal((await get(`/api/run?id=half&file=${r4.file}&offset=${r4.offset}`)).status, 404);
  assert.ok(!(await json('/api/runs')).runs.some((r: { id: string }) => r.id === 'half'));
  fs.mkdirSync(path.join(root, 'half')); // put back for the read-only snapshot below
  fs.writeFileSync(path.join(root, 'half', 'config.json'), '{}');
});

test("a compare folder's report and plots", async () => {
  const c = await json('/api/compare?id=cmp');
  assert.deepEqual(
    c.results.schedules.map((s: { name: string }) => s.name),
    ['full', 'small-only'],
  );
  assert.deepEqual(c.images, ['loss-300-flops.png']);
  const img = await get('/files/cmp/loss-300-flops.png');
  assert.equal(img.status, 200);
  const { config } = await json('/api/run?id=a');
  assert.deepEqual(config, { preset: 'tiny' });
});

test('nothing outside the runs folder is served, however the path is spelled', async () => {
  const attempts = [
    '/files/../secret.txt',
    '/files/a/../../secret.txt',
    '/files/%2e%2e/secret.txt',
    '/files/%2E%2E/secret.txt',
    '/files/..%2fsecret.txt',
    '/files/..%2Fsecret.txt',
    '/files/%2e%2e%2fsecret.txt',
    '/files/a%2f..%2f..%2fsecret.txt',
    '/files/..%5csecret.txt',
    '/files/..\\secret.txt',
    '/files/%252e%252e/secret.txt',
    '/files/%c0%ae%c0%ae/secret.txt',
    '/files/.%2e/secret.txt',
    '/files//' + secret.slice(1),
    '/files/' + encodeURIComponent(secret),
    '/files/link/secret.txt',
    '/files/link%2fsecret.txt',
    '/files/a/%00/../../secret.txt',
    '/files/%',
    '/assets/../../secret.txt',
    '/assets/..%2f..%2fpackage.json',
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/api/run?id=..',
    '/api/run?id=../runs/a',
    '/api/run?id=%2e%2e',
    '/api/run?id=link',
    '/api/run?id=' + encodeURIComponent(tmp),
    '/api/compare?id=..%2F',
    '/api/compare?id=link',
  ];
  for (const p of attempts) {
    const r = await get(p);
    assert.ok([400, 403, 404].includes(r.status), `${p}: status ${r.status}`);
    assert.doesNotMatch(r.body, /SECRET-OUTSIDE/, p);
  }
  // resolveUnder on its own, for the spellings an HTTP request cannot carry.
  for (const rel of ['..', '../x', 'a/../../x', 'a\\..\\..\\x', 'a\0b', 'link', 'link/secret.txt']) {
    assert.throws(() => resolveUnder(root, rel), rel);
  }
  assert.equal(resolveUnder(root, 'a/metrics.jsonl'), path.join(root, 'a', 'metrics.jsonl'));
  assert.equal(resolveUnder(root, ''), root);
});

test('read-only: other methods are refused and no file in the runs folder changed', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'])
    assert.equal((await get('/api/runs', { method })).status, 405, method);
  assert.equal(
    (await get('/api/runs', { host: 'evil.example:80' })).status,
    403,
    'a foreign Host header (DNS rebinding)',
  );
  assert.equal((await get('/api/runs', { method: 'HEAD' })).status, 200);
  const after = snapshot(tmp);
  // Only the test's own edits differ: runs/half, and so the runs folder's own time.
  const strip = (xs: string[]) => xs.filter((x) => !x.startsWith(path.join('runs', 'half')) && !x.startsWith('runs '));
  assert.deepEqual(strip(after), strip(before));
});
