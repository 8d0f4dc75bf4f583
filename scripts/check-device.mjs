// `npm run check:device`, and the parts of a device visit (scripts/device/visit.sh): whether growbert
// works, and how fast, on a machine with an NVIDIA GPU (docs/device.md). Parts, in order, each with a
// time limit under one deadline (scripts/device/runner.mjs; a failed part is recorded and the rest run):
//   build      the addon against the machine's libtorch (LIBTORCH_USE_PYTORCH=1), with data parallel
//              (Gloo + NCCL); retried with C++20, then without data parallel, so later parts still run
//   cuda-tests test/cuda: the device, CPU/CUDA and bf16 parity, growth on the device, NCCL on one rank
//   hf-parity  a growbert export loaded by transformers' own BertForMaskedLM; logits compared
//   bench      bf16 throughput against transformers at BERT-base and BERT-small (scripts/device/bench.mjs)
//   growth     full / compound / small-only at BERT-small, sized to the time left (scripts/device/growth.mjs)
// Without CUDA, bench and growth are skipped (saying why) and run a tiny CPU smoke of their plumbing.
// OUT gets summary.json (rewritten after every part) and growth/ (report, results, loss plots):
// at most 6 files, none deeper than one folder (visit.sh adds visit.log).
//   node scripts/check-device.mjs [--out DIR] [--parts a,b] [--seeds N] [--deadline-s S] [--corpus DIR]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchPart } from './device/bench.mjs';
import { growthPart } from './device/growth.mjs';
import { Visit, lastJson, tail } from './device/runner.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (n) => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1] : undefined);
const ALL = ['build', 'cuda-tests', 'hf-parity', 'bench', 'growth'];
const parts = (opt('parts') ?? ALL.join(',')).split(',');
const unknown = parts.filter((p) => !ALL.includes(p));
if (unknown.length) {
  console.error(`check:device: unknown part ${unknown.join(', ')} (known: ${ALL.join(', ')})`);
  process.exit(2);
}
const out = path.resolve(opt('out') ?? process.env.OUT ?? fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-check-')));
fs.mkdirSync(out, { recursive: true });
const deadlineS = Number(opt('deadline-s') ?? 9 * 60 - 20);
// run folders, caches and checkpoints: never in OUT (at most 8 files come back from there)
const work = path.join(root, 'runs', `device-visit-${new Date().toISOString().replace(/[:.]/g, '-')}`);
fs.mkdirSync(work, { recursive: true });
const corpusDir = opt('corpus') ?? path.join(root, 'data/doc-corpus');
const corpus = fs.existsSync(corpusDir) && fs.readdirSync(corpusDir).some((f) => f.endsWith('.txt')) ? corpusDir : null;
// The Python with torch (and transformers): $PYTHON (the device machine's python3, which
// LIBTORCH_USE_PYTORCH uses too), else $GROWBERT_PYTHON, else the project's .venv, else python3.
const python =
  process.env.PYTHON ||
  process.env.GROWBERT_PYTHON ||
  (fs.existsSync(path.join(root, '.venv/bin/python')) ? path.join(root, '.venv/bin/python') : 'python3');
const node = process.execPath;
const growbert = path.join(root, 'bin/growbert.js');

const v = new Visit({ root, summaryFile: path.join(out, 'summary.json'), deadlineAt: Date.now() + deadlineS * 1000 });
v.summary.visit ??= 'check:device';
v.summary.deadlineS ??= deadlineS;
v.summary.startedAt ??= new Date().toISOString();

/** A small corpus, the project's own docs (docs/*.md), for the parity model and the CPU smokes. */
function docsCorpus() {
  const dir = path.join(work, 'docs-corpus');
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir);
    const src = path.join(root, 'docs');
    const text = fs
      .readdirSync(src)
      .filter((f) => f.endsWith('.md'))
      .map((f) => fs.readFileSync(path.join(src, f), 'utf8'));
    fs.writeFileSync(path.join(dir, 'docs.txt'), text.join('\n\n'));
  }
  return dir;
}

async function buildPart() {
  const { findLibtorch } = await import('./libtorch.mjs');
  const lt = findLibtorch(); // throws with the reason (no torch, CUDA headers missing, ...)
  if (!lt) throw new Error('no libtorch found: set LIBTORCH_USE_PYTORCH=1 (the visit does) or run `npm run setup`');
  const notes = [];
  const build = (env) => v.sh(node, ['scripts/build-native.mjs'], { limitS: 300, env });
  let env = {};
  let r = await build(env);
  if (!r.ok && lt.cxxStd < 20 && !r.timedOut) {
    notes.push(`C++${lt.cxxStd} build failed (${tail(r.stderr, 1)}); retried with C++20`);
    env = { GROWBERT_CXX_STD: '20' };
    r = await build(env);
  }
  let status = 'ok',
    reason;
  if (!r.ok && /distributed\.cc/.test(r.stderr) && !r.timedOut) {
    status = 'failed';
    reason = `data parallel did not build (${tail(r.stderr, 2)}); built without it so the other parts run`;
    env = { ...env, GROWBERT_NO_DIST: '1' };
    r = await build(env);
  }
  if (!r.ok) return { status: 'failed', reason: tail(r.stderr), notes };
  if (fs.existsSync(path.join(root, 'node_modules/typescript'))) {
    const t = await v.sh(node, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { limitS: 200 });
    if (!t.ok) return { status: 'failed', reason: `tsc: ${tail(t.stdout + t.stderr)}`, notes };
  } else if (!fs.existsSync(path.join(root, 'dist/src/cli/main.js'))) {
    return { status: 'failed', reason: 'no dist/ and no TypeScript to build it (the kit carries dist/)', notes };
  }
  const stamp = JSON.parse(
    fs.readFileSync(path.join(root, process.env.GROWBERT_BUILD_DIR || 'build', 'stamp.json'), 'utf8'),
  );
  const distributed = stamp.distributed;
  if (status === 'ok' && lt.cuda && distributed !== 'gloo+nccl') {
    status = 'failed';
    reason = `built with data parallel '${distributed}', expected gloo+nccl`;
  }
  const cudaInclude = stamp.libtorch.cudaInclude;
  return {
    status,
    reason,
    libtorch: stamp.libtorch.version,
    cuda: lt.cuda,
    cxxStd: Number(env.GROWBERT_CXX_STD ?? lt.cxxStd),
    distributed,
    cudaInclude,
    notes,
  };
}

async function probe() {
  const js =
    "const t = await import('./dist/src/tensor/index.js'); const c = t.cuda.isAvailable(); console.log(JSON.stringify({ cuda: c, built: t.cuda.isBuilt(), n: t.cuda.deviceCount(), torch: t.torchVersion(), cap: c ? t.cudaCapability('cuda') : null }))";
  const p = await v.sh(node, ['--input-type=module', '-e', js], { limitS: 60, quiet: true });
  const hw = lastJson(p.stdout) ?? { cuda: false, torch: 'unknown', error: tail(p.stderr) };
  const smi = await v.sh('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], {
    limitS: 20,
    quiet: true,
  });
  v.summary.machine = { ...hw, gpu: smi.ok ? smi.stdout.trim() : null, node: process.version, cpus: os.cpus().length };
  v.write();
  return hw;
}

async function cudaTests() {
  const r = await v.sh(node, ['--test', '--test-concurrency=1', 'dist/test/cuda/'], { limitS: 180 });
  const count = (k) => Number((r.stdout.match(new RegExp(`^# ${k} (\\d+)`, 'm')) ?? [])[1] ?? NaN);
  const skips = [...new Set([...r.stdout.matchAll(/# SKIP (.*)$/gm)].map((m) => m[1].trim()))];
  const res = { status: r.ok ? 'ok' : 'failed', pass: count('pass'), fail: count('fail'), skipped: count('skipped') };
  if (skips.length) res.skipReasons = skips.slice(0, 3);
  if (!r.ok)
    res.reason = tail(
      r.stdout
        .split('\n')
        .filter((l) => /not ok|Error|error/.test(l))
        .join('\n') || r.stderr,
    );
  return res;
}

// A growbert export loaded by transformers itself, logits compared with growbert's on the same ids.
async function hfParity(dev) {
  const has = await v.sh(python, ['-c', 'import transformers, torch; print(transformers.__version__)'], {
    limitS: 90,
    quiet: true,
  });
  if (!has.ok) return { status: 'skipped', reason: `no transformers for ${python} here` };
  const docs = path.join(docsCorpus(), 'docs.txt');
  const run = path.join(work, 'parity-run'),
    exp = path.join(work, 'parity-export');
  const pre = [
    'pretrain',
    '--preset',
    'tiny',
    '--max-steps',
    '20',
    '--device',
    dev,
    '--no-progress',
    '--data',
    docs,
    '--vocab-size',
    '1000',
  ];
  const p = await v.sh(node, [growbert, ...pre, '--cache-dir', path.join(work, 'cache'), '--out', run], {
    limitS: 240,
  });
  if (!p.ok) return { status: 'failed', reason: `pretrain: ${tail(p.stderr)}` };
  const e = await v.sh(node, [growbert, 'export', '--run', run, '--out', exp], { limitS: 60 });
  if (!e.ok) return { status: 'failed', reason: `export: ${tail(e.stderr)}` };
  const ids = path.join(work, 'parity-ids.json'),
    ours = path.join(work, 'parity-growbert.f32');
  const g = await v.sh(node, [path.join(root, 'scripts/check-device-logits.mjs'), exp, ids, ours], { limitS: 60 });
  if (!g.ok) return { status: 'failed', reason: `growbert logits: ${tail(g.stderr)}` };
  const py = `
import json, sys, torch
from transformers import BertForMaskedLM
m = BertForMaskedLM.from_pretrained(sys.argv[1]).eval()
ids = torch.tensor(json.load(open(sys.argv[2])))
with torch.no_grad(): ref = m(input_ids=ids).logits.float()
ours = torch.frombuffer(bytearray(open(sys.argv[3], "rb").read()), dtype=torch.float32).reshape(ref.shape)
d = (ref - ours).abs()
print(json.dumps({"maxAbsDiff": d.max().item(), "maxAbsLogit": ref.abs().max().item(), "argmaxAgreement": (ref.argmax(-1) == ours.argmax(-1)).float().mean().item()}))`;
  const c = await v.sh(python, ['-c', py, exp, ids, ours], { limitS: 120 });
  if (!c.ok) return { status: 'failed', reason: `transformers: ${tail(c.stderr)}` };
  const r = lastJson(c.stdout);
  return { status: r.maxAbsDiff < 1e-3 * Math.max(1, r.maxAbsLogit) ? 'ok' : 'failed', pretrainedOn: dev, ...r };
}

// A GPU-only part on a machine without CUDA: skipped, saying why, with a tiny CPU smoke of its plumbing.
async function gpuOnly(hw, fn) {
  if (hw.error) throw new Error(`growbert does not load here: ${hw.error}`);
  if (hw.cuda) return fn(true);
  const why = `no CUDA device visible to this libtorch (torch ${hw.torch}, CUDA build: ${hw.built ? 'yes' : 'no'})`;
  const smoke = await fn(false).catch((e) => ({
    status: 'failed',
    reason: e instanceof Error ? e.message : String(e),
  }));
  return {
    status: 'skipped',
    reason: `GPU-only: ${why}`,
    smoke: { note: 'tiny, on the CPU: the plumbing, not a measurement', ...smoke },
  };
}

if (parts.includes('build')) await v.part('build', 60, buildPart);
const hw = await probe();
if (!hw.cuda)
  console.log(`check:device: no CUDA device visible to this libtorch (${hw.torch}); GPU-only parts run as CPU smokes`);
const shapeFlags = await import(path.join(root, 'dist/src/cli/bench-shape.js')).then(
  (m) => m.benchShapeFlags,
  () => null,
);
if (parts.includes('cuda-tests')) await v.part('cuda-tests', 40, cudaTests);
if (parts.includes('hf-parity')) await v.part('hf-parity', 60, () => hfParity(hw.cuda ? 'cuda' : 'cpu'));
if (parts.includes('bench'))
  await v.part('bench', hw.cuda ? 150 : 40, () => {
    if (!shapeFlags) throw new Error('dist/ is missing: the build part failed');
    return gpuOnly(hw, (cuda) => benchPart(v, { cuda, python, shapeFlags }));
  });
const seeds = Number(opt('seeds') ?? 1);
if (parts.includes('growth'))
  await v.part('growth', hw.cuda ? 120 : 40, () =>
    gpuOnly(hw, (cuda) => growthPart(v, { cuda, seeds, corpus: cuda ? corpus : docsCorpus(), work, out, room: 4 })),
  );
for (const p of ALL)
  if (!parts.includes(p)) v.summary.parts[p] ??= { status: 'skipped', reason: 'not asked for (--parts)' };
v.summary.secondsElapsed = Math.round((Date.now() - Date.parse(v.summary.startedAt)) / 1000);
v.finish();
console.log(
  JSON.stringify({
    ok: v.summary.ok,
    parts: Object.fromEntries(Object.entries(v.summary.parts).map(([k, p]) => [k, p.status])),
  }),
);
process.exitCode = v.summary.ok ? 0 : 1;
