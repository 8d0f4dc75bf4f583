// Nothing changes silently: a refused resume leaves schedule.json as it was; a config that
// contradicts its checkpoint is refused naming the field; a warmup longer than the run is warned
// about; a vocab.txt listing a token twice is refused naming the lines; an input named twice is
// read once, with a note; empty values of flags are refused, not read as 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pretrain } from '../../src/train/pretrain.js';
import { parseConfig } from '../../src/train/config.js';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { corpusSource, specFiles } from '../../src/data/corpus.js';
import { tinyRunConfig } from '../helpers/tiny-run.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-silent-')));
const cacheDir = path.join(tmp, 'cache');
const out = path.join(tmp, 'exp', 'r');

test('a warmup longer than the run is warned about; a refused resume leaves the plan; a changed shape is refused', async () => {
  const said: string[] = [];
  const cfg = (o: Parameters<typeof tinyRunConfig>[2]) => parseConfig(tinyRunConfig(out, cacheDir, o));
  await pretrain(cfg({ train: { maxSteps: 2, checkpointEvery: 2, warmupSteps: 500, evalBatches: 1 } }), {
    say: (l) => said.push(l),
  });
  assert.match(said.join('\n'), /warning: --warmup-steps 500 is more than the run's 2 steps/);
  const plan = fs.readFileSync(path.join(out, 'schedule.json'), 'utf8');
  await assert.rejects(
    pretrain(cfg({ resume: true, train: { maxSteps: 1, evalBatches: 1 } }), { say: () => {} }),
    /already at step 2 of 1; give a larger --max-steps/,
  );
  assert.equal(fs.readFileSync(path.join(out, 'schedule.json'), 'utf8'), plan, 'schedule.json untouched');
  await assert.rejects(
    pretrain(cfg({ resume: true, model: { hiddenSize: 48 }, train: { maxSteps: 3, evalBatches: 1 } }), {
      say: () => {},
    }),
    /gives model\.hiddenSize 48, but the checkpoint has 32; a run keeps its shape/,
  );
  assert.equal(fs.readFileSync(path.join(out, 'schedule.json'), 'utf8'), plan);
});

test('a vocab.txt listing a token twice is refused, naming the lines', () => {
  const f = path.join(tmp, 'my-vocab.txt');
  fs.writeFileSync(f, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'tree', 'leaf', 'tree', 'root'].join('\n') + '\n');
  assert.throws(() => BertTokenizer.fromFile(f), /my-vocab\.txt lists 1 token\(s\) twice \("tree" on lines 6 and 8\)/);
});

test('an input named twice (the same file, a folder or glob holding it, a link) is read once, with a note', () => {
  const d = path.join(tmp, 'corpus');
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'one.txt'), 'alpha beta\n');
  fs.writeFileSync(path.join(d, 'two.txt'), 'gamma delta\n');
  fs.symlinkSync(path.join(d, 'one.txt'), path.join(tmp, 'alias.txt'));
  const specs = [
    path.join(d, 'one.txt'),
    path.join(d, 'one.txt'),
    d,
    path.join(tmp, 'alias.txt'),
    path.join(d, '*.txt'),
  ];
  const r = specFiles(specs);
  assert.deepEqual(
    r.perSpec.flatMap((p) => p.files ?? []),
    [path.join(d, 'one.txt'), path.join(d, 'two.txt')],
  );
  // the second one.txt; one.txt in the folder; the link; both files of the glob
  assert.equal(r.repeated.length, 5);
  assert.equal(corpusSource(specs).repeated.length, 5);
  assert.equal(specFiles(['stdlib:moby-dick', 'stdlib:moby-dick']).repeated.length, 1);
});

test('empty values of flags are refused, not read as 0 or ignored', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/growbert.js', ...args], { encoding: 'utf8', timeout: 60000 });
  for (const flag of ['--eval-batches', '--seed', '--weight-decay', '--ffn-rank', '--warmup-steps', '--budget']) {
    const r = run('pretrain', flag, '', '--out', path.join(tmp, 'never'));
    assert.notEqual(r.status, 0, flag);
    assert.match(r.stderr.trim(), new RegExp(`^growbert: ${flag} "": the value is empty`), flag);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const c = run('compare', '--schedules', '', '--budget', '100', '--out', path.join(tmp, 'never-cmp'));
  assert.notEqual(c.status, 0);
  assert.match(c.stderr, /--schedules "": the value is empty/);
  assert.ok(!fs.existsSync(path.join(tmp, 'never')) && !fs.existsSync(path.join(tmp, 'never-cmp')));
});

test('a missing schedule file with a folder in its name is reported as a missing file, not an unknown preset', async () => {
  const { loadSchedule } = await import('../../src/schedule/schedule.js');
  assert.throws(
    () => loadSchedule('plans/my-growth', {} as never, 128),
    /schedule file plans\/my-growth does not exist; give a preset/,
  );
});
