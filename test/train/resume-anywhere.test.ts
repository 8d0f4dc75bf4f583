// A run resumes the same from any folder and with any cache: its config keeps absolute data
// paths and it continues with its own tokenizer (RUN/tokenizer), so a fresh --cache-dir in
// another working directory gives the same data id; a cache inside an input is refused (it would
// be read back as data on the next run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkCacheOutsideInputs } from '../../src/train/data.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-anywhere-')));
const bin = path.resolve('bin/growbert.js');
const words = ['river', 'stone', 'light', 'paper', 'window', 'garden', 'winter', 'signal', 'market', 'orange'];

function growbert(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 240000 });
  return { code: r.status, stderr: r.stderr.trim() };
}

test('a cache folder inside an input folder (or the folder of a glob) is refused, naming both', () => {
  const texts = path.join(tmp, 'texts');
  fs.mkdirSync(texts);
  fs.writeFileSync(path.join(texts, 'a.txt'), 'one two three\n');
  for (const spec of [texts, path.join(texts, '*.txt')])
    assert.throws(
      () => checkCacheOutsideInputs(path.join(texts, 'cache', 'growbert'), [spec]),
      /--cache-dir .*cache\/growbert lies inside the input .*texts.*: the cache would be read back as data/,
    );
  checkCacheOutsideInputs(path.join(tmp, 'elsewhere'), [texts, 'stdlib:moby-dick']); // no throw
});

test('--resume from another working directory with a fresh --cache-dir continues the run', () => {
  const project = path.join(tmp, 'project');
  fs.mkdirSync(project);
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++)
    lines.push(`${words[i % 10]} ${words[(i * 7) % 10]} ${words[(i * 3) % 10]} ${i % 97}.`);
  fs.writeFileSync(path.join(project, 'notes.txt'), lines.join('\n') + '\n');
  const shape = ['--vocab-size', '200', '--hidden', '32', '--layers', '1', '--heads', '2', '--ffn', '64'];
  const train = ['--doc-per-line', '--seq-length', '32', '--batch-size', '8', '--eval-batches', '1', '--no-progress'];
  const start = growbert(
    project,
    'pretrain',
    '--data',
    'notes.txt',
    ...shape,
    ...train,
    '--max-steps',
    '2',
    '--checkpoint-every',
    '2',
    '--out',
    'run',
  );
  assert.equal(start.code, 0, start.stderr);
  const other = path.join(tmp, 'somewhere-else');
  fs.mkdirSync(other);
  const r = growbert(
    other,
    'pretrain',
    '--out',
    path.join(project, 'run'),
    '--resume',
    '--max-steps',
    '3',
    '--cache-dir',
    path.join(other, 'fresh-cache'),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /resuming .*run at step 2/);
  assert.ok(fs.existsSync(path.join(project, 'run', 'checkpoints', 'step-00000003')));
  // the default cache lies inside `--data .`: refused before any work
  const dot = growbert(
    project,
    'pretrain',
    '--data',
    '.',
    ...shape,
    ...train,
    '--max-steps',
    '1',
    '--out',
    path.join(tmp, 'dot-run'),
  );
  assert.notEqual(dot.code, 0);
  assert.match(dot.stderr, /--cache-dir .* lies inside the input \.: the cache would be read back as data/);
});
