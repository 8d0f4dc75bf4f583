// A live run, as a careless user meets it: a second pretrain or a --resume into it is refused
// naming the holder's pid; the lock goes with the process; a second Ctrl-C says what it did; a
// resume whose config.json was deleted says that; a cache folder that cannot be written is named
// before any data work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tinyModelFlags } from '../helpers/tiny-cli.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-live-')));
const cacheDir = path.join(tmp, 'cache');
const out = path.join(tmp, 'work', 'live');
const FLAGS = [...tinyModelFlags(cacheDir), '--eval-batches', '1', '--no-progress', '--log-every', '1'];

function growbert(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/growbert.js', ...args], { encoding: 'utf8', timeout: 180000 });
  return { code: r.status, stderr: r.stderr.trim() };
}

test('a live run refuses a second writer by pid; two Ctrl-C stop it at once, saying so; the lock goes', async () => {
  const args = ['bin/growbert.js', 'pretrain', ...FLAGS, '--max-steps', '100000', '--eval-every', '100000'];
  const child = spawn(process.execPath, [...args, '--checkpoint-every', '2', '--out', out], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const ckpt = path.join(out, 'checkpoints', 'latest.json');
  while (child.exitCode === null && !fs.existsSync(ckpt)) await new Promise((r) => setTimeout(r, 100));
  for (const extra of [[], ['--resume']]) {
    const second = growbert('pretrain', ...FLAGS, '--max-steps', '3', '--out', out, ...extra);
    assert.notEqual(second.code, 0);
    assert.match(
      second.stderr,
      new RegExp(`^growbert: .*live is in use by process ${child.pid} \\(since `),
      extra.join(),
    );
    assert.equal(second.stderr.split('\n').length, 1, second.stderr);
  }
  child.kill('SIGINT');
  const code = await exited;
  clearTimeout(timer);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted at step \d+; checkpoint saved/);
  assert.equal(fs.existsSync(path.join(out, '.growbert-lock')), false, 'the lock went with the process');
});

test('a second Ctrl-C stops at once and says what that means', () => {
  // Two signals sent back to back may arrive as one, so the second is delivered to StopRequest directly.
  const mod = path.resolve('dist/src/train/signals.js');
  const code = `const { StopRequest } = await import(${JSON.stringify(mod)});
    const r = new StopRequest(); r.signal('SIGINT'); r.signal('SIGINT');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 130);
  assert.match(r.stderr, /stopped at once \(second Ctrl-C\), without saving a checkpoint; continue .* with --resume/);
});

test('a resume whose config.json was deleted says so; an unwritable cache folder is named first', () => {
  fs.rmSync(path.join(out, 'config.json'));
  const r = growbert('pretrain', '--out', out, '--resume', '--max-steps', '100001');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /config\.json is missing: a resume needs the config the run started with/);
  const ro = growbert('pretrain', ...FLAGS, '--cache-dir', '/sys/growbert-cache', '--out', path.join(tmp, 'ro'));
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /^growbert: cannot use the cache folder \/sys\/growbert-cache: .*\((EPERM|EROFS|EACCES)\)/);
  assert.doesNotMatch(ro.stderr, /tokenizer trained/);
});
