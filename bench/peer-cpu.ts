// The CPU peer comparison: the same BERT training step timed by plain PyTorch laid out as
// Hugging Face's BertForMaskedLM (../shared/bench/torch_ref_bert.py, logits at every position)
// and by `growbert bench`, both ways (logits everywhere, and masked positions only), one after
// the other in this one command, alternating to spread the machine's noise. Needs Debian's
// python3-torch (`apt-get install python3-torch`). Last line: one JSON object with the ratios.
//   node dist/bench/peer-cpu.js [L H A F B S steps vocab] [--rounds N] [--threads N]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const flag = (name: string, d: number) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return d;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
};
const rounds = flag('rounds', 2);
const threads = flag('threads', 0);
const [L, H, A, F, B, S, steps, V] = (args.length ? args : ['4', '256', '4', '1024', '16', '128', '5', '30522']).map(Number);
const peer = ['../shared/bench/torch_ref_bert.py', 'shared/bench/torch_ref_bert.py'].map((p) => path.resolve(root, p)).find((p) => fs.existsSync(p));
if (!peer) throw new Error('torch_ref_bert.py not found beside the repository (../shared/bench)');
const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const env = threads ? { ...process.env, OMP_NUM_THREADS: String(threads) } : process.env;

function run(cmd: string, argv: string[]): string {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  return r.stdout.trim();
}
const peerTps = () => Number(run(python, [peer, ...[L, H, A, F, B, S, steps, V].map(String)]).match(/tok\/s ([\d.]+)/)![1]);
const oursTps = (full: boolean) => {
  const out = run(process.execPath, [path.join(root, 'bin/growbert.js'), 'bench', '--layers', `${L}`, '--hidden', `${H}`, '--heads', `${A}`, '--ffn', `${F}`,
    '--batch', `${B}`, '--seq', `${S}`, '--vocab', `${V}`, '--steps', `${steps}`, ...(threads ? ['--threads', `${threads}`] : []), ...(full ? ['--full-logits'] : []), '--json']);
  return (JSON.parse(out.split('\n').pop()!) as { tokensPerSecond: number }).tokensPerSecond;
};

const best = { peer: 0, full: 0, masked: 0 };
for (let r = 0; r < rounds; r++) {
  const p = peerTps(), f = oursTps(true), m = oursTps(false);
  console.log(`round ${r + 1}: PyTorch ${p.toFixed(0)} tok/s, growbert (all logits) ${f.toFixed(0)}, growbert (masked-only head) ${m.toFixed(0)}`);
  best.peer = Math.max(best.peer, p);
  best.full = Math.max(best.full, f);
  best.masked = Math.max(best.masked, m);
}
console.log(JSON.stringify({
  shape: { L, H, A, F, B, S, V }, peerTokensPerSecond: best.peer, tokensPerSecondFullLogits: best.full, tokensPerSecondMasked: best.masked,
  ratioFullLogits: Number((best.full / best.peer).toFixed(3)), ratioMasked: Number((best.masked / best.peer).toFixed(3)),
}));
