// issue 27: inputs that are not regular files. A FIFO, socket or device given as --data, a
// tokenizer, config or schedule file is refused in one line before it is opened (a FIFO with no
// writer used to hang the process, signals and all); a link loop is called a link loop, not
// "does not exist"; a data folder holding a link to itself (or an ancestor) is read once, not
// walked until the path is too long; a FIFO inside a data folder is passed over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCorpus, resolveSpecFiles } from '../../src/data/corpus.js';
import { readConfigFile } from '../../src/train/config.js';
import { loadSchedule } from '../../src/schedule/schedule.js';
import { bertConfig } from '../../src/model/index.js';

const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-kinds-')));
const fifo = path.join(dir, 'f.txt');
execFileSync('mkfifo', [fifo]);
const oneLine = (re: RegExp) => (e: Error) =>
  e.name === 'GrowbertError' && !e.message.includes('\n') && re.test(e.message);

test('a FIFO, a socket or a device as input is refused before it is opened', async () => {
  const sock = path.join(dir, 's.txt');
  const server = net.createServer().listen(sock);
  await new Promise((r) => server.once('listening', r));
  try {
    assert.throws(
      () => resolveSpecFiles(fifo),
      oneLine(/data path .*f\.txt is a FIFO \(named pipe\), not a regular file/),
    );
    assert.throws(() => resolveSpecFiles(sock), oneLine(/s\.txt is a socket, not a regular file/));
    assert.throws(
      () => resolveSpecFiles('/dev/zero'),
      oneLine(/\/dev\/zero is a character device, not a regular file/),
    );
    await assert.rejects(readCorpus([fifo]), /is a FIFO/);
  } finally {
    server.close();
  }
  const json = path.join(dir, 'c.json');
  execFileSync('mkfifo', [json]);
  assert.throws(() => readConfigFile(json), oneLine(/config file .*c\.json is a FIFO/));
  const target = bertConfig({
    vocabSize: 100,
    hiddenSize: 32,
    numHiddenLayers: 2,
    numAttentionHeads: 2,
    intermediateSize: 64,
  });
  assert.throws(() => loadSchedule(json, target, 32), oneLine(/schedule file .*c\.json is a FIFO/));
});

test('a link loop is named as one; a folder linking to itself is read once; a FIFO in a folder is passed over', async () => {
  const loop = path.join(dir, 'loop.txt');
  fs.symlinkSync(loop, loop);
  assert.throws(
    () => resolveSpecFiles(loop),
    oneLine(/data path .*loop\.txt is a symbolic link loop \(a link that leads back to itself\)/),
  );
  const data = path.join(dir, 'data');
  fs.mkdirSync(path.join(data, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(data, 'a.txt'), 'alpha beta\n\ngamma delta\n');
  fs.writeFileSync(path.join(data, 'sub', 'b.txt'), 'epsilon\n');
  fs.symlinkSync('..', path.join(data, 'sub', 'up')); // back to data/
  fs.symlinkSync('.', path.join(data, 'self'));
  fs.symlinkSync('nowhere', path.join(data, 'broken.txt'));
  execFileSync('mkfifo', [path.join(data, 'pipe.txt')]);
  assert.deepEqual(resolveSpecFiles(data), [path.join(data, 'a.txt'), path.join(data, 'sub', 'b.txt')]);
  assert.deepEqual(
    (await readCorpus([data])).map((d) => d.text),
    ['alpha beta', 'gamma delta', 'epsilon'],
  );
  assert.deepEqual(resolveSpecFiles(`${data}/**/*.txt`), [path.join(data, 'a.txt'), path.join(data, 'sub', 'b.txt')]);
});

test('CLI: pretrain --data FIFO exits at once with one line and leaves no lock', () => {
  const out = path.join(dir, 'run');
  const r = spawnSync(
    process.execPath,
    [
      'bin/growbert.js',
      'pretrain',
      '--data',
      fifo,
      '--out',
      out,
      '--cache-dir',
      path.join(dir, 'cache'),
      '--max-steps',
      '1',
    ],
    { encoding: 'utf8', timeout: 60000 },
  );
  assert.equal(r.signal, null, 'it did not hang');
  assert.equal(r.status, 2, r.stderr);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    `growbert: data path ${fifo} is a FIFO (named pipe), not a regular file: growbert reads only regular files (a pipe or device could block it forever); save the data to a file and give that`,
  ]);
  assert.ok(!fs.existsSync(path.join(out, '.growbert-lock')));
});
