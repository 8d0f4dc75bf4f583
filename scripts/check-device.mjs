// `npm run check:device`: the one-command check for a GPU machine (docs/device.md). On a machine
// with CUDA and PyTorch's libtorch (LIBTORCH_USE_PYTORCH=1, as ../shared/device/prelude.sh sets)
// it builds the addon, runs the CUDA tests, times `growbert bench` in bf16 at BERT-base and
// BERT-small against Hugging Face's BertForMaskedLM (../shared/bench/hf_bert_peer.py) in the same
// call, runs a short BERT-small `compare` (full, compound, small-only), loads a growbert export
// with transformers' own BertForMaskedLM.from_pretrained and compares its logits with growbert's,
// and prints one JSON summary last. Without CUDA it says so in one line and runs the CPU subset
// (build, the CUDA tests, which then skip with their reason, a mini bench in auto precision, the
// export parity where transformers is installed). Each step has a time limit; the whole stays
// under 9 minutes, and a step that does not fit in what is left is skipped, saying so.
//   node scripts/check-device.mjs [--out DIR] [--corpus FILE...]     (env CHECK_COMPARE_BUDGET=60s)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv[i + 1];
};
const out = path.resolve(opt('out') ?? process.env.OUT ?? fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-check-')));
const corpus = argv.includes('--corpus')
  ? argv.slice(argv.indexOf('--corpus') + 1).filter((a) => !a.startsWith('--'))
  : [];
fs.mkdirSync(out, { recursive: true });
const started = Date.now();
const DEADLINE_S = 9 * 60 - 20;
const left = () => DEADLINE_S - (Date.now() - started) / 1000;
// The Python with torch (and transformers, where installed): $PYTHON (the device machine's, which
// LIBTORCH_USE_PYTORCH uses too), else $GROWBERT_PYTHON, else the project's .venv, else python3.
const python =
  process.env.PYTHON ||
  process.env.GROWBERT_PYTHON ||
  (fs.existsSync(path.join(root, '.venv/bin/python')) ? path.join(root, '.venv/bin/python') : 'python3');
const growbert = path.join(root, 'bin/growbert.js');
const summary = { cuda: false, steps: {} };

/** Runs a command with a time limit; returns { ok, stdout, stderr, seconds }. */
function sh(cmd, args, limitS, env = {}) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: limitS * 1000,
    maxBuffer: 64 << 20,
  });
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  const timedOut = r.error?.code === 'ETIMEDOUT';
  return {
    ok: r.status === 0 && !timedOut,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (timedOut ? `\n(stopped after ${limitS} s)` : ''),
    seconds,
  };
}
const lastJson = (s) => {
  const l = s
    .trim()
    .split('\n')
    .reverse()
    .find((x) => x.startsWith('{'));
  return l ? JSON.parse(l) : undefined;
};
const tail = (s) => s.trim().split('\n').slice(-3).join(' | ').slice(0, 400);

/** A step: skipped if it does not fit in the time left; its result goes into the summary. */
function step(name, needS, fn) {
  if (left() < needS) {
    summary.steps[name] = {
      status: 'skipped',
      reason: `needs about ${needS} s, ${Math.round(left())} s left of the 9 minutes`,
    };
  } else {
    try {
      summary.steps[name] = fn();
    } catch (e) {
      summary.steps[name] = { status: 'failed', reason: e instanceof Error ? e.message : String(e) };
    }
  }
  const s = summary.steps[name];
  console.error(`check:device: ${name}: ${s.status}${s.reason ? ` (${s.reason})` : ''}`);
}

// 1. Build the addon (against the machine's libtorch) and the JavaScript.
step('build', 120, () => {
  const n = sh(process.execPath, ['scripts/build-native.mjs'], 300);
  if (!n.ok) return { status: 'failed', reason: tail(n.stderr) };
  const t = fs.existsSync(path.join(root, 'node_modules/typescript'))
    ? sh(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], 200)
    : { ok: fs.existsSync(path.join(root, 'dist')), stderr: 'no TypeScript and no dist/', seconds: 0 };
  return t.ok
    ? { status: 'ok', seconds: n.seconds + t.seconds }
    : { status: 'failed', reason: tail(t.stdout + t.stderr) };
});
const probe = sh(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    "const t = await import('./dist/src/tensor/index.js'); console.log(JSON.stringify({ cuda: t.cuda.isAvailable(), n: t.cuda.deviceCount(), torch: t.torchVersion(), cap: t.cuda.isAvailable() ? t.cudaCapability('cuda') : null }))",
  ],
  60,
);
const hw = lastJson(probe.stdout) ?? { cuda: false, torch: 'unknown' };
summary.cuda = hw.cuda;
summary.torch = hw.torch;
if (!hw.cuda)
  console.log(`check:device: no CUDA device visible to this libtorch (${hw.torch}); running the CPU subset`);
else summary.capability = hw.cap;
const dev = hw.cuda ? 'cuda' : 'cpu';

// 2. The CUDA tests (on a CPU machine they skip, printing why).
step('cuda-tests', 60, () => {
  const r = sh(process.execPath, ['--test', '--test-concurrency=1', 'dist/test/cuda/'], 240);
  const count = (k) => Number((r.stdout.match(new RegExp(`^# ${k} (\\d+)`, 'm')) ?? [])[1] ?? NaN);
  const res = {
    status: r.ok ? 'ok' : 'failed',
    pass: count('pass'),
    fail: count('fail'),
    skipped: count('skipped'),
    seconds: r.seconds,
  };
  if (!r.ok)
    res.reason = tail(
      r.stdout
        .split('\n')
        .filter((l) => /not ok|Error|error/.test(l))
        .join('\n') || r.stderr,
    );
  return res;
});

// 3. Throughput against the peer in the same call.
// dist/ exists once step 1 has built it (when it has not, every bench step fails with the reason)
const shapeFlags = await import(path.join(root, 'dist/src/cli/bench-shape.js')).then(
  (m) => m.benchShapeFlags,
  () => null,
);
function bench(shape, extra, limitS) {
  if (!shapeFlags) throw new Error('dist/ is missing: the build step failed');
  const [L, H, A, F, B, S] = shape;
  const r = sh(
    process.execPath,
    [
      growbert,
      'bench',
      '--device',
      dev,
      ...shapeFlags({ layers: L, hidden: H, heads: A, ffn: F, batch: B, seq: S }),
      '--json',
      ...extra,
    ],
    limitS,
  );
  if (!r.ok) throw new Error(`growbert bench ${shape}: ${tail(r.stderr)}`);
  return lastJson(r.stdout);
}
if (hw.cuda) {
  const peerScript = ['../shared/bench/hf_bert_peer.py', 'shared/bench/hf_bert_peer.py']
    .map((p) => path.resolve(root, p))
    .find((p) => fs.existsSync(p));
  const shapes = { base: [12, 768, 12, 3072, 128, 128], small: [4, 512, 8, 2048, 128, 128] };
  step('bench', 150, () => {
    const res = { status: 'ok' };
    const peer = peerScript ? sh(python, [peerScript, ...Object.values(shapes).map((s) => s.join(','))], 150) : null;
    const peerTps = peer?.ok
      ? [...peer.stdout.matchAll(/L(\d+) H(\d+) B\d+ S\d+: [\d.]+ ms\/step, ([\d,]+) tok\/s/g)].map((m) => ({
          L: +m[1],
          H: +m[2],
          tps: Number(m[3].replace(/,/g, '')),
        }))
      : [];
    for (const [name, shape] of Object.entries(shapes)) {
      const masked = bench(shape, ['--precision', 'bf16', '--steps', '10', '--warmup', '3'], 90);
      const full = bench(shape, ['--precision', 'bf16', '--steps', '10', '--warmup', '3', '--full-logits'], 90);
      const p = peerTps.find((x) => x.L === shape[0] && x.H === shape[1])?.tps;
      res[name] = {
        tokensPerSecond: masked.tokensPerSecond,
        tokensPerSecondFullLogits: full.tokensPerSecond,
        gflops: masked.gflops,
        hfPeerTokensPerSecond: p ?? null,
        ratio: p ? +(masked.tokensPerSecond / p).toFixed(3) : null,
        ratioFullLogits: p ? +(full.tokensPerSecond / p).toFixed(3) : null,
      };
    }
    if (!peerScript) res.peer = 'hf_bert_peer.py not found (../shared/bench): ratios left out';
    else if (!peer.ok) res.peer = `hf_bert_peer.py failed: ${tail(peer.stderr)}`;
    return res;
  });
} else {
  step('bench', 60, () => {
    const m = bench([4, 256, 4, 1024, 16, 128], ['--precision', 'auto', '--steps', '2', '--threads', '1'], 240);
    return { status: 'ok', mini: m };
  });
}

// 4. A short growth comparison at BERT-small (GPU only: on CPUs see docs/schedules.md).
if (hw.cuda) {
  const budget = process.env.CHECK_COMPARE_BUDGET ?? '60s';
  const secs = Number.parseInt(budget, 10) * (budget.endsWith('m') ? 60 : 1);
  step('compare', 3 * secs + 60, () => {
    const dir = path.join(out, 'compare');
    const r = sh(
      process.execPath,
      [
        growbert,
        'compare',
        '--target',
        'small',
        '--schedules',
        'compound,small-only',
        '--budget',
        budget,
        '--device',
        'cuda',
        '--out',
        dir,
        ...(corpus.length ? ['--data', ...corpus] : []),
      ],
      3 * secs + 150,
    );
    if (!r.ok) return { status: 'failed', reason: tail(r.stderr) };
    const results = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));
    return { status: 'ok', seconds: r.seconds, results: results.budgets ?? results };
  });
} else {
  summary.steps.compare = { status: 'skipped', reason: 'no CUDA: the CPU growth comparison is in docs/schedules.md' };
}

// 5. A growbert export loaded by transformers itself; logits compared with growbert's.
step('hf-parity', 90, () => {
  const has = sh(python, ['-c', 'import transformers, torch; print(transformers.__version__)'], 60);
  if (!has.ok) return { status: 'skipped', reason: `no transformers for ${python} here` };
  const run = path.join(out, 'parity-run'),
    exp = path.join(out, 'parity-export');
  const p = sh(
    process.execPath,
    [growbert, 'pretrain', '--preset', 'tiny', '--max-steps', '20', '--device', dev, '--no-progress', '--out', run],
    240,
  );
  if (!p.ok) return { status: 'failed', reason: `pretrain: ${tail(p.stderr)}` };
  const e = sh(process.execPath, [growbert, 'export', '--run', run, '--out', exp], 60);
  if (!e.ok) return { status: 'failed', reason: `export: ${tail(e.stderr)}` };
  const ids = path.join(out, 'parity-ids.json'),
    ours = path.join(out, 'parity-growbert.f32');
  const g = sh(process.execPath, [path.join(root, 'scripts/check-device-logits.mjs'), exp, ids, ours], 60);
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
  const c = sh(python, ['-c', py, exp, ids, ours], 120);
  if (!c.ok) return { status: 'failed', reason: `transformers: ${tail(c.stderr)}` };
  const r = lastJson(c.stdout);
  return { status: r.maxAbsDiff < 1e-3 * Math.max(1, r.maxAbsLogit) ? 'ok' : 'failed', ...r };
});

summary.seconds = Math.round((Date.now() - started) / 1000);
summary.ok = Object.values(summary.steps).every((s) => s.status !== 'failed');
fs.writeFileSync(path.join(out, 'check-device.json'), JSON.stringify(summary, null, 2) + '\n');
console.log(JSON.stringify(summary));
process.exitCode = summary.ok ? 0 : 1;
