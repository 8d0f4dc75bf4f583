// `growbert dashboard` as a command: bad input is one line and a non-zero exit; it serves the
// runs folder on 127.0.0.1 and stops cleanly on Ctrl-C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-dashboard-cli-'));

test('a missing folder or a bad port: one line, exit 2', () => {
  const missing = spawnSync(process.execPath, ['bin/growbert.js', 'dashboard', path.join(tmp, 'nope')], {
    encoding: 'utf8',
  });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^growbert: runs folder .*nope does not exist; start a run first/);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  for (const port of ['abc', '70000', '-1', '1.5']) {
    const r = spawnSync(process.execPath, ['bin/growbert.js', 'dashboard', tmp, '--port', port], { encoding: 'utf8' });
    assert.equal(r.status, 2, port);
    assert.match(r.stderr, /^growbert: --port .*: expected an integer from 0 to 65535\n$/, port);
  }
});

test('serves on 127.0.0.1 and exits 0 on Ctrl-C', async () => {
  fs.mkdirSync(path.join(tmp, 'r1'));
  fs.writeFileSync(path.join(tmp, 'r1', 'metrics.jsonl'), '{"step":1,"loss":3}\n');
  const child = spawn(process.execPath, ['bin/growbert.js', 'dashboard', tmp, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  for (let i = 0; i < 300 && !/http:\/\//.test(out); i++) await new Promise((r) => setTimeout(r, 100));
  const url = out.match(/(http:\/\/127\.0\.0\.1:\d+\/)/)?.[1];
  assert.ok(url, out);
  const runs = (await (await fetch(`${url}api/runs`)).json()) as { runs: { id: string }[] };
  assert.deepEqual(
    runs.runs.map((r) => r.id),
    ['r1'],
  );
  child.kill('SIGINT');
  assert.equal(await exited, 0);
});
