// The adversarial cases of issue 13, as a careless user runs them: no command deletes or
// overwrites an input or a folder of the user's (grow onto the runs folder, export through a
// symlink, pretrain into a folder of other files, --force beside unrelated files); numeric flags
// out of range and sizes that cannot fit are one-line errors before any work; a run folder
// without a checkpoint can be started over or resumed from step 0; file-system errors name the
// path and the real cause; the launcher's rendezvous port is not saved as the user's choice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pretrain } from '../../src/train/pretrain.js';
import { parseConfig } from '../../src/train/config.js';
import { tinyModelFlags } from '../helpers/tiny-cli.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-safety-')));
const cacheDir = path.join(tmp, 'cache');
const runs = path.join(tmp, 'runs');
const small = path.join(runs, 'small');
const TINY = [...tinyModelFlags(cacheDir), '--eval-batches', '1', '--no-progress'];

function growbert(...args: string[]) {
  // a time limit: a command that hangs (as --threads 10000 did) must fail the test, not stall the suite
  const r = spawnSync(process.execPath, ['bin/growbert.js', ...args], { encoding: 'utf8', timeout: 180000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}
function assertOneLineError(r: ReturnType<typeof growbert>, pattern: RegExp) {
  assert.notEqual(r.code, 0, `exit code must be non-zero:\n${r.stderr}\n${r.stdout}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim());
  assert.equal(lines.length, 1, `one line of error, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
}
function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    out[path.relative(dir, p)] = e.isFile() ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : 'dir';
  }
  return out;
}

test('set up: a tiny run under runs/', async () => {
  await pretrain(
    parseConfig({
      preset: 'tiny',
      model: { hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 64 },
      data: { specs: ['stdlib:moby-dick'], cacheDir, seqLength: 32, vocabSize: 2000 },
      train: { batchSize: 8, maxSteps: 2, evalEvery: 2, evalBatches: 1, logEvery: 1 },
      runtime: { progress: false },
      out: small,
    }),
    { say: () => {} },
  );
  assert.ok(fs.existsSync(path.join(small, 'checkpoints', 'latest.json')));
});

test('grow, export and import never replace an input, also through a symlink or with --force', () => {
  const before = hashTree(runs);
  fs.symlinkSync(small, path.join(tmp, 'link'));
  const link = path.join(tmp, 'link');
  assertOneLineError(
    growbert('grow', '--from', small, '--out', runs, '--force', '--layers', '2'),
    /--out .*runs contains the input/,
  );
  assertOneLineError(
    growbert('grow', '--from', small, '--out', small, '--force', '--layers', '2'),
    /--out .*small is the input/,
  );
  assertOneLineError(growbert('grow', '--from', link, '--out', small, '--force', '--layers', '2'), /is the input/);
  assertOneLineError(
    growbert('grow', '--from', small, '--out', path.join(small, 'checkpoints', 'x'), '--layers', '2'),
    /lies inside the input/,
  );
  assertOneLineError(growbert('export', '--run', link, '--out', small, '--force'), /is the input/);
  assertOneLineError(growbert('export', '--run', small, '--out', link, '--force'), /is the input/);
  const hf = path.join(tmp, 'hf');
  assert.equal(growbert('export', '--run', small, '--out', hf).code, 0);
  assertOneLineError(growbert('import', '--hf', hf, '--out', hf, '--force'), /is the input/);
  assertOneLineError(growbert('import', '--hf', hf, '--out', path.join(hf, 'run')), /lies inside the input/);
  assert.deepEqual(hashTree(runs), before, 'runs/ is untouched');
});

test('--force replaces only what the command writes; a folder of other files is refused', () => {
  const hf = path.join(tmp, 'hf');
  fs.writeFileSync(path.join(hf, 'README.md'), 'my notes');
  assert.equal(growbert('export', '--run', small, '--out', hf, '--force').code, 0);
  assert.equal(fs.readFileSync(path.join(hf, 'README.md'), 'utf8'), 'my notes', 'export --force keeps unrelated files');
  const grown = path.join(tmp, 'grown');
  assert.equal(growbert('grow', '--from', small, '--out', grown, '--layers', '2').code, 0);
  fs.writeFileSync(path.join(grown, 'notes.txt'), 'mine');
  assertOneLineError(
    growbert('grow', '--from', small, '--out', grown, '--layers', '2'),
    /already holds a growbert run; pass --force/,
  );
  assert.equal(growbert('grow', '--from', small, '--out', grown, '--layers', '3', '--force').code, 0);
  assert.equal(fs.readFileSync(path.join(grown, 'notes.txt'), 'utf8'), 'mine', 'grow --force keeps unrelated files');
  const users = path.join(tmp, 'users');
  fs.mkdirSync(path.join(users, 'tokenizer'), { recursive: true });
  fs.writeFileSync(path.join(users, 'config.json'), '{"mine": true}');
  fs.writeFileSync(path.join(users, 'tokenizer', 'vocab.txt'), 'a\nb\n');
  const before = hashTree(users);
  for (const args of [
    ['grow', '--from', small, '--out', users, '--layers', '2', '--force'],
    ['export', '--run', small, '--out', users, '--force'],
    ['import', '--hf', hf, '--out', users, '--force'],
    ['pretrain', ...TINY, '--max-steps', '1', '--out', users],
  ]) {
    assertOneLineError(
      growbert(...args),
      /is not empty and does not hold .*growbert never replaces files it did not write/,
    );
  }
  assert.deepEqual(hashTree(users), before, "the user's folder is untouched");
});

test('pretrain refuses an --out inside its corpus folder (the run would become corpus)', () => {
  const corpus = path.join(tmp, 'corpus');
  fs.mkdirSync(corpus);
  fs.writeFileSync(path.join(corpus, 'a.txt'), 'some text here\n');
  assertOneLineError(
    growbert('pretrain', '--data', corpus, '--out', path.join(corpus, 'run')),
    /lies inside the input/,
  );
  assert.deepEqual(fs.readdirSync(corpus), ['a.txt']);
});

test('numeric flags out of range and sizes that cannot fit: one line, before any work', () => {
  const out = path.join(tmp, 'never');
  assertOneLineError(
    growbert('pretrain', '--threads', '10000', '--out', out),
    /--threads 10000: expected an integer >= 1 and <= \d+ \(this machine has \d+ CPUs\)/,
  );
  assertOneLineError(growbert('pretrain', '--lr', '-1', '--out', out), /--lr -1: expected a number > 0/);
  assertOneLineError(
    growbert('pretrain', '--mask-prob', '1.5', '--out', out),
    /--mask-prob 1.5: expected a number > 0 and < 1/,
  );
  assertOneLineError(
    growbert('eval', '--run', small, '--eval-batches', '-5'),
    /--eval-batches -5: expected an integer >= 0/,
  );
  assertOneLineError(
    growbert('grow', '--from', small, '--out', out, '--layers', '100000'),
    /--layers 100000: expected an integer >= 1 and <= 1024/,
  );
  assertOneLineError(
    growbert('finetune', '--run', small, '--task', 'sst2', '--data', tmp, '--epochs', '1e9'),
    /--epochs 1e9: expected an integer >= 1 and <= 10000/,
  );
  const cfg = path.join(tmp, 'threads.json');
  fs.writeFileSync(cfg, JSON.stringify({ runtime: { threads: 10000 } }));
  assertOneLineError(growbert('pretrain', '--config', cfg, '--out', out), /--threads 10000: expected an integer/);
  assertOneLineError(
    growbert('pretrain', ...TINY, '--seq-length', '60000', '--out', out),
    /--seq-length 60000 with --batch-size 8 needs about \d+\.\d GiB to train, far more than this machine's/,
  );
  assertOneLineError(
    growbert('pretrain', ...TINY, '--seq-length', '128', '--max-positions', '64', '--out', out),
    /--seq-length 128 is longer than --max-positions 64/,
  );
  assert.ok(!fs.existsSync(out), 'nothing was written');
});

test('a run folder without a checkpoint is started over, or resumed from step 0, with a message', () => {
  for (const [name, extra, said] of [
    ['fresh', [], /stopped before its first checkpoint: starting it over/],
    ['resumed', ['--resume'], /has no checkpoint yet .*starting it from step 0/],
  ] as const) {
    const dir = path.join(tmp, `dead-${name}`);
    fs.mkdirSync(dir);
    // what a run killed before its first checkpoint leaves: its marker, config and a few metrics lines
    fs.copyFileSync(path.join(small, '.growbert-run'), path.join(dir, '.growbert-run'));
    fs.copyFileSync(path.join(small, 'config.json'), path.join(dir, 'config.json'));
    fs.copyFileSync(path.join(small, 'metrics.jsonl'), path.join(dir, 'metrics.jsonl'));
    const r = growbert('pretrain', ...TINY, '--max-steps', '1', '--checkpoint-every', '1', '--out', dir, ...extra);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, said);
    assert.ok(fs.existsSync(path.join(dir, 'checkpoints', 'step-00000001')));
  }
});

test('a file-system error names the path and its real cause', () => {
  const r = growbert('pretrain', '--out', '/sys/growbert-cannot/run');
  assertOneLineError(
    r,
    /cannot .*\/sys\/growbert-cannot.*: (operation not permitted \(EPERM\)|read-only file system \(EROFS\)|permission denied \(EACCES\))/,
  );
});

test("a worker of the launcher does not save the picked rendezvous port as the user's choice", async () => {
  const out = path.join(tmp, 'port');
  const env = {
    ...process.env,
    GROWBERT_LAUNCHED: '1',
    RANK: '0',
    WORLD_SIZE: '1',
    MASTER_ADDR: '127.0.0.1',
    MASTER_PORT: '23456',
  };
  const child = spawn(process.execPath, ['bin/growbert.js', 'pretrain', ...TINY, '--max-steps', '1', '--out', out], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  child.stdin.destroy();
  assert.equal(code, 0, stderr);
  const saved = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as {
    dist?: { masterPort?: number };
  };
  assert.equal(saved.dist?.masterPort, undefined, 'config.json keeps no launcher-picked port');
});
