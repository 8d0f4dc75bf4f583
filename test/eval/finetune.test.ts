import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { disposeEncoder, loadRunEncoder } from '../../src/eval/encoder.js';
import { finetuneGlue } from '../../src/eval/finetune.js';
import { loadGlue } from '../../src/eval/glue-data.js';
import { runGlueSuite } from '../../src/eval/glue-suite.js';
import { GrowbertError } from '../../src/io/errors.js';
import { memory } from '../../src/tensor/index.js';
import { runPaths } from '../../src/train/run.js';
import { GLUE_DIR, TINY, makeRun, noGlue, runCli, smallTokenizer, tmpDir } from '../export/helpers.js';

const is = (re: RegExp) => (e: unknown) =>
  e instanceof GrowbertError && re.test(e.message) && !e.message.includes('\n');
const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');

/** Specials, letters, and the given words: word-level tokens a tiny model can learn from. */
function wordTokenizer(words: string[]): BertTokenizer {
  return BertTokenizer.fromVocab([
    '[PAD]',
    '[UNK]',
    '[CLS]',
    '[SEP]',
    '[MASK]',
    ...letters,
    ...letters.map((l) => `##${l}`),
    ...new Set(words.filter((w) => w.length > 1)),
  ]);
}

/** A toy GLUE root: SST-2 (good/bad words decide the label) and STS-B (score = shared words). */
function toyGlue(): string {
  const root = tmpDir('growbert-glue-');
  const good = ['good', 'great', 'fine', 'nice'],
    bad = ['bad', 'awful', 'poor', 'dull'],
    filler = ['the', 'film', 'was', 'very', 'plot', 'and'];
  const pick = (xs: string[], i: number) => xs[i % xs.length]!;
  const sent = (i: number, pos: boolean) =>
    `${pick(filler, i)} ${pick(pos ? good : bad, i * 7)} ${pick(filler, i + 3)}`;
  const sst = (n: number, off: number) =>
    [
      'sentence\tlabel',
      ...Array.from({ length: n }, (_, i) => `${sent(i + off, i % 2 === 0)}\t${i % 2 === 0 ? 1 : 0}`),
    ].join('\n') + '\n';
  fs.mkdirSync(path.join(root, 'SST-2'));
  fs.writeFileSync(path.join(root, 'SST-2', 'train.tsv'), sst(64, 0));
  fs.writeFileSync(path.join(root, 'SST-2', 'dev.tsv'), sst(16, 5));
  const head = 'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore';
  const sts = (n: number) =>
    [
      head,
      ...Array.from(
        { length: n },
        (_, i) => `${i}\tg\tf\t2012\t${i}\ts\ts\t${sent(i, true)}\t${sent(i + (i % 3), i % 2 === 0)}\t${(i % 6) * 1.0}`,
      ),
    ].join('\n') + '\n';
  fs.mkdirSync(path.join(root, 'STS-B'));
  fs.writeFileSync(path.join(root, 'STS-B', 'train.tsv'), sts(48));
  fs.writeFileSync(path.join(root, 'STS-B', 'dev.tsv'), sts(12));
  return root;
}

function toyRun(words: string[], seed = 1): string {
  const dir = path.join(tmpDir(), 'run');
  const tok = wordTokenizer(words);
  makeRun(dir, { ...TINY, vocabSize: tok.vocabSize }, tok, seed, false).dispose();
  return dir;
}
const TOY_WORDS = [
  'good',
  'great',
  'fine',
  'nice',
  'bad',
  'awful',
  'poor',
  'dull',
  'the',
  'film',
  'was',
  'very',
  'plot',
  'and',
];

test('tiny SST-2 fine-tune (300 real examples) runs end to end and its loss falls', { skip: noGlue }, () => {
  // a word-level vocabulary from SST-2's most frequent words, so a tiny random BERT can learn
  const counts = new Map<string, number>();
  for (const x of loadGlue('sst2', GLUE_DIR!, 'train').slice(0, 5000)) {
    for (const w of x.textA.toLowerCase().split(/[^a-z]+/)) if (w) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const run = toyRun(
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 400)
      .map(([w]) => w),
  );
  const enc = loadRunEncoder(run);
  const before = memory().tensors;
  const lines: string[] = [];
  const r = finetuneGlue(enc, {
    task: 'sst2',
    dataDir: GLUE_DIR!,
    maxTrain: 300,
    epochs: 8,
    lr: 2e-3,
    batchSize: 16,
    seqLength: 64,
    log: (l) => lines.push(l),
  });
  assert.equal(memory().tensors, before, 'no tensors leak from fine-tuning');
  disposeEncoder(enc);
  const losses = r.seeds[0]!.epochs.map((e) => e.trainLoss);
  console.log(
    `SST-2, 300 examples: train loss per epoch ${losses.map((l) => l.toFixed(4)).join(' ')}, dev accuracy ${r.mean.accuracy!.toFixed(4)}`,
  );
  assert.equal(r.trainExamples, 300);
  assert.equal(r.devExamples, 872);
  assert.equal(losses.length, 8);
  assert.ok(losses.at(-1)! < losses[0]! - 0.05, `loss fell: ${losses.join(', ')}`);
  assert.ok(r.mean.accuracy! >= 0.45 && r.mean.accuracy! <= 1);
  assert.equal(lines.length, 9, 'one line per epoch and one per seed');
  assert.match(lines[0]!, /^sst2 seed 0 epoch 1\/8: train loss \d\.\d{4}, dev accuracy \d\.\d{4}$/);
});

test('glue suite: classification and regression tasks, seeds averaged, glue.md and glue.json in the run', () => {
  const glue = toyGlue();
  const run = toyRun(TOY_WORDS);
  const r = runGlueSuite({
    run,
    tasks: ['sst2', 'stsb'],
    dataDir: glue,
    epochs: 3,
    lr: 3e-3,
    batchSize: 8,
    seeds: 2,
    seed: 5,
  });
  assert.deepEqual(
    r.tasks.map((t) => t.task),
    ['sst2', 'stsb'],
  );
  const [sst, sts] = r.tasks;
  assert.deepEqual(
    sst!.seeds.map((s) => s.seed),
    [5, 6],
  );
  assert.deepEqual(Object.keys(sts!.mean), ['pearson', 'spearman']);
  assert.ok(sst!.std.accuracy! >= 0);
  assert.equal(sst!.settings.seqLength, TINY.maxPositionEmbeddings, 'seq defaults to min(128, positions)');
  assert.ok(Math.abs(r.average - (sst!.score.mean + sts!.score.mean) / 2) < 1e-12);
  const json = JSON.parse(fs.readFileSync(path.join(run, 'glue.json'), 'utf8'));
  assert.equal(json.tasks.length, 2);
  assert.equal(json.tasks[1].metric, 'pearson_spearman');
  const md = fs.readFileSync(path.join(run, 'glue.md'), 'utf8');
  assert.match(md, /\| SST-2 \| \d+\.\d\d ± \d+\.\d\d \| accuracy /);
  assert.match(md, /\| STS-B \| .*pearson .* spearman /);
  assert.match(md, /\*\*average\*\*/);
  assert.deepEqual(
    fs.readdirSync(run).filter((f) => f.endsWith('.tmp')),
    [],
  );
  // the same seed gives the same result
  const again = runGlueSuite({
    run,
    tasks: ['sst2'],
    dataDir: glue,
    epochs: 3,
    lr: 3e-3,
    batchSize: 8,
    seed: 5,
    outDir: null,
  });
  assert.equal(again.tasks[0]!.seeds[0]!.epochs.at(-1)!.trainLoss, sst!.seeds[0]!.epochs.at(-1)!.trainLoss);
  assert.equal(again.files, undefined);
});

test('bad input through finetune: missing columns, unknown labels, empty files, sizes', () => {
  const run = toyRun(TOY_WORDS);
  const enc = loadRunEncoder(run);
  const bad = (train: string) => {
    const root = tmpDir('growbert-bad-');
    fs.mkdirSync(path.join(root, 'SST-2'));
    fs.writeFileSync(path.join(root, 'SST-2', 'train.tsv'), train);
    fs.writeFileSync(path.join(root, 'SST-2', 'dev.tsv'), 'sentence\tlabel\ngood\t1\n');
    return root;
  };
  const ft = (dataDir: string, extra = {}) => finetuneGlue(enc, { task: 'sst2', dataDir, epochs: 1, ...extra });
  assert.throws(() => ft(bad('text\tlabel\ngood\t1\n')), is(/header has no "sentence" column/));
  assert.throws(() => ft(bad('sentence\tlabel\ngood\tpositive\n')), is(/train\.tsv:2: unknown label "positive"/));
  assert.throws(() => ft(bad('')), is(/file is empty/));
  assert.throws(() => ft(bad('sentence\tlabel\n')), is(/file is empty/));
  assert.throws(() => ft(path.join(run, 'no-glue')), is(/sst2 train file not found/));
  const ok = bad('sentence\tlabel\ngood\t1\n');
  assert.throws(() => ft(ok, { seqLength: 512 }), is(/--seq 512 exceeds the model's 64 positions/));
  assert.throws(() => ft(ok, { epochs: 0 }), is(/epochs must be a positive integer/));
  assert.throws(() => ft(ok, { lr: -1 }), is(/lr must be a positive number/));
  disposeEncoder(enc);
  // a run whose tokenizer has more tokens than the model's vocabulary
  const tok = smallTokenizer();
  const mismatch = path.join(tmpDir(), 'run');
  makeRun(mismatch, { ...TINY, vocabSize: tok.vocabSize }, tok).dispose();
  fs.rmSync(runPaths(mismatch).tokenizerDir, { recursive: true });
  wordTokenizer(TOY_WORDS).save(runPaths(mismatch).tokenizerDir);
  assert.throws(
    () => loadRunEncoder(mismatch),
    is(
      new RegExp(
        `tokenizer/tokenizer\\.json has ${wordTokenizer(TOY_WORDS).vocabSize} tokens but the model .*model\\.safetensors has vocab_size ${tok.vocabSize}`,
      ),
    ),
  );
});

test('CLI: finetune --json ends with a JSON object; glue writes to --out; bad flags are one line', async () => {
  const glue = toyGlue();
  const run = toyRun(TOY_WORDS);
  const ft = await runCli([
    'finetune',
    '--run',
    run,
    '--task',
    'sst2',
    '--data',
    glue,
    '--epochs',
    '1',
    '--batch',
    '16',
    '--json',
  ]);
  assert.equal(ft.code, 0, ft.err.join('\n'));
  const last = JSON.parse(ft.out.at(-1)!);
  assert.equal(last.task, 'sst2');
  assert.equal(last.seeds.length, 1);
  assert.match(ft.out.at(-2)!, /^sst2 dev \(1 seed, last epoch\): accuracy \d\.\d{4}$/);
  const out = path.join(tmpDir(), 'results');
  const g = await runCli(['glue', '--run', run, '--tasks', 'sst2,stsb', '--data', glue, '--epochs', '1', '--out', out]);
  assert.equal(g.code, 0, g.err.join('\n'));
  assert.ok(fs.existsSync(path.join(out, 'glue.md')) && fs.existsSync(path.join(out, 'glue.json')));
  assert.ok(!fs.existsSync(path.join(run, 'glue.md')));
  for (const [args, re] of [
    [['finetune', '--run', run, '--task', 'squad', '--data', glue], /unknown GLUE task 'squad'/],
    [
      ['finetune', '--run', run, '--model', run, '--task', 'sst2', '--data', glue],
      /exactly one of --run DIR .* or --model DIR/,
    ],
    [
      ['finetune', '--run', run, '--task', 'sst2', '--data', glue, '--batch', 'x'],
      /--batch must be an integer >= 1, got 'x'/,
    ],
    [['glue', '--run', run, '--tasks', 'sst2,nope', '--data', glue], /unknown GLUE task 'nope'/],
  ] as [string[], RegExp][]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.err.length, 1);
    assert.match(r.err[0]!, re);
  }
});
