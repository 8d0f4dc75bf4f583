// `growbert grow` as a user runs it: grows a trained run into a new run that `pretrain --resume`
// continues, reports preservation (exact for depth=identity + ffn=share, not for stack), refuses
// bad targets with one line and writes nothing, and never touches the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PreservationReport } from '../../src/grow/index.js';
import { pretrain } from '../../src/train/pretrain.js';
import { parseConfig } from '../../src/train/config.js';
import { MetricsLog } from '../../src/train/metrics-log.js';
import { loadRunModel } from '../../src/train/run-dir.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-grow-cli-'));
const cacheDir = path.join(tmp, 'cache');
const src = path.join(tmp, 'src');
const SRC_STEPS = 4;

function growbert(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/growbert.js', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}
function assertOk(r: ReturnType<typeof growbert>) {
  assert.equal(r.code, 0, `exit ${r.code}:\n${r.stderr}\n${r.stdout}`);
}
function assertOneLineError(r: ReturnType<typeof growbert>, pattern: RegExp) {
  assert.notEqual(r.code, 0, 'exit code must be non-zero');
  const lines = r.stderr.split('\n').filter((l) => l.trim());
  assert.equal(lines.length, 1, `one line of error, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
}
/** The JSON report: grow --json prints it as the last stdout line. */
function report(r: ReturnType<typeof growbert>) {
  const last = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(last) as PreservationReport;
}
/** sha256 of every file under a folder, by relative path. */
function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    out[path.relative(dir, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  }
  return out;
}
/** Nothing was written for --out: neither the folder nor a leftover temp folder beside it. */
function assertNothingWritten(out: string) {
  assert.ok(!fs.existsSync(out), `${out} must not be created`);
  const leftovers = fs
    .readdirSync(path.dirname(out))
    .filter((f) => f.startsWith(path.basename(out)) || f.endsWith('.tmp'));
  assert.deepEqual(leftovers, []);
}

let srcHashes: Record<string, string>;

test('set up: a tiny pre-trained source run (1 layer, hidden 32, 2 heads of 16, FFN 64)', async () => {
  await pretrain(
    parseConfig({
      preset: 'tiny',
      model: { hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 64 },
      data: { specs: ['stdlib:moby-dick'], cacheDir, seqLength: 32, vocabSize: 2000 },
      train: {
        batchSize: 8,
        maxSteps: SRC_STEPS,
        lr: 3e-3,
        warmupSteps: 1,
        evalEvery: SRC_STEPS,
        evalBatches: 2,
        logEvery: 1,
        seed: 3,
      },
      runtime: { progress: false },
      out: src,
    }),
    { say: () => {} },
  );
  srcHashes = hashTree(src);
  assert.ok(Object.keys(srcHashes).some((f) => f.endsWith('model.safetensors')));
});

const grown = path.join(tmp, 'grown');

test('depth=identity + ffn share preserves the function; the new run resumes', () => {
  const r = growbert(
    'grow',
    '--from',
    src,
    '--out',
    grown,
    '--layers',
    '2',
    '--ffn',
    '128',
    '--op',
    'depth=identity',
    '--json',
  );
  assertOk(r);
  const rep = report(r);
  for (const k of [
    'maxAbsLogitDiff',
    'maxRelLogitDiff',
    'lossBefore',
    'lossAfter',
    'paramsBefore',
    'paramsAfter',
  ] as const)
    assert.equal(typeof rep[k], 'number', k);
  assert.ok(rep.maxRelLogitDiff <= 1e-5, `max rel logit diff ${rep.maxRelLogitDiff}`);
  assert.ok(rep.maxAbsLogitDiff <= 1e-4, `max abs logit diff ${rep.maxAbsLogitDiff}`);
  assert.ok(
    Number.isFinite(rep.lossBefore) && Math.abs(rep.lossAfter - rep.lossBefore) <= 1e-4 * Math.abs(rep.lossBefore),
    `loss ${rep.lossBefore} -> ${rep.lossAfter}`,
  );
  assert.ok(rep.paramsBefore < rep.paramsAfter, `params ${rep.paramsBefore} -> ${rep.paramsAfter}`);
  assert.match(r.stdout, /exact by construction/);
  assert.match(
    r.stdout,
    new RegExp(`growbert pretrain --out ${grown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --resume`),
  );
  // a run folder: tokenizer, config with the grown shape, a checkpoint at the source's step
  const g = loadRunModel(grown);
  assert.deepEqual(
    [g.config.numHiddenLayers, g.config.intermediateSize, g.config.hiddenSize, g.config.numAttentionHeads],
    [2, 128, 32, 2],
  );
  assert.equal(g.trainer.step, SRC_STEPS);
  assert.equal(g.model.numParameters(), rep.paramsAfter);
  const cfg = JSON.parse(fs.readFileSync(path.join(grown, 'config.json'), 'utf8'));
  assert.deepEqual([cfg.model.numHiddenLayers, cfg.model.intermediateSize, cfg.schedule], [2, 128, 'full']);

  // continue training it
  const more = SRC_STEPS + 3;
  const p = growbert('pretrain', '--out', grown, '--resume', '--max-steps', String(more), '--no-progress');
  assertOk(p);
  const train = new MetricsLog(grown).read().filter((l) => l.loss !== undefined);
  assert.deepEqual(
    train.map((l) => l.step),
    [5, 6, 7],
  );
  for (const l of train)
    assert.ok(Number.isFinite(l.loss) && Number(l.loss) > 0, `finite loss at step ${l.step}: ${l.loss}`);
  const after = loadRunModel(grown);
  assert.equal(after.trainer.step, more);
  assert.equal(after.config.numHiddenLayers, 2);
  assert.equal(after.config.intermediateSize, 128);
});

test('depth=stack reports a nonzero difference (not preserving)', () => {
  const out = path.join(tmp, 'stacked');
  const r = growbert('grow', '--from', src, '--out', out, '--layers', '2', '--op', 'depth=stack', '--json');
  assertOk(r);
  const rep = report(r);
  assert.ok(
    rep.maxAbsLogitDiff > 1e-3 && rep.maxRelLogitDiff > 1e-5,
    `stacking changes the logits: ${JSON.stringify(rep)}`,
  );
  assert.match(r.stdout, /not exact/);
  assert.equal(loadRunModel(out).config.numHiddenLayers, 2);
});

test('bad input: one line, non-zero exit, nothing written', () => {
  const grownHashes = hashTree(grown);
  const cases: [string[], RegExp][] = [
    // the grown run has 2 layers
    [['--from', grown, '--layers', '1'], /numHiddenLayers target 1 is smaller than the source's 2/],
    [
      ['--from', src, '--ffn', '100', '--op', 'ffn=share'],
      /intermediateSize 64 -> 100 is not a multiple; use a multiple of 64/,
    ],
    // head size 16: 64 / 8 = 8 changes it (growth adds heads at a fixed head size)
    [
      ['--from', src, '--hidden', '64', '--heads', '8'],
      /hiddenSize 64 \/ numAttentionHeads 8 changes the head size 16/,
    ],
    [['--from', src, '--hidden', '40'], /hiddenSize 40 is not a multiple of the head size 16/],
    [['--from', path.join(tmp, 'cache'), '--layers', '2'], /holds no checkpoint/],
    [['--from', path.join(tmp, 'nowhere'), '--layers', '2'], /nowhere does not exist/],
    [['--from', src, '--layers', '2', '--op', 'width=share'], /grow ops: unknown key 'width'/],
    [['--from', src, '--layers', '2', '--op', 'depth=copy'], /unknown depth operator 'copy'/],
    [['--from', src, '--layers', 'two'], /--layers two: expected an integer >= 1/],
    [['--from', src], /no target shape/],
    [['--from', src, '--layers', '2', '--optimizer', 'keep'], /--optimizer keep: use map, grad or reset/],
  ];
  cases.forEach(([args, pattern], i) => {
    const out = path.join(tmp, `bad-${i}`);
    assertOneLineError(growbert('grow', ...args, '--out', out), pattern);
    assertNothingWritten(out);
  });
  // an existing non-empty --out is refused (and left as it was)
  const busy = path.join(tmp, 'busy');
  fs.mkdirSync(busy);
  fs.writeFileSync(path.join(busy, 'keep.txt'), 'mine');
  assertOneLineError(
    growbert('grow', '--from', src, '--out', busy, '--layers', '2'),
    /busy is not empty and does not hold a growbert run; growbert never replaces files it did not write/,
  );
  assert.deepEqual(fs.readdirSync(busy), ['keep.txt']);
  assert.deepEqual(hashTree(grown), grownHashes, 'a failed grow leaves its source untouched');
});

test('the source run is byte-identical after growing from it', () => {
  assert.deepEqual(hashTree(src), srcHashes);
});
