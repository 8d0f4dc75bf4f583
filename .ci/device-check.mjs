// The device lane's checks on what one prepared command left in OUT (.ci/lane-device.sh), as the device tool
// would return it: at most 8 files, none more than two folders below OUT, names of letters, digits, '.', '_', '-';
// a finished summary whose parts all passed or said why they were skipped; data parallel (Gloo + NCCL) built
// with the kit's Gloo headers and the kit's CUDA compiler headers; the GPU-only parts skipped, saying why, after a
// CPU smoke of their plumbing that passed; the kit's Node.js.
//   node .ci/device-check.mjs visit|visit-growth OUT MANIFEST
import * as fs from 'node:fs';
import * as path from 'node:path';

const [cmd, out, manifestFile] = process.argv.slice(2);
const problems = [];
const check = (ok, what) => {
  if (!ok) problems.push(what);
};

const files = [];
const walk = (dir, depth) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    check(/^[A-Za-z0-9._-]+$/.test(e.name), `${p}: a name the device tool does not return`);
    if (e.isDirectory()) walk(p, depth + 1);
    else {
      files.push(path.relative(out, p));
      check(depth <= 2, `${p}: more than two folders below OUT`);
    }
  }
};
walk(out, 0);
check(files.length <= 8, `${files.length} files in OUT (at most 8 come back): ${files.join(', ')}`);
for (const f of files) check(fs.statSync(path.join(out, f)).size <= 16 * 2 ** 20, `${f}: over 16 MiB`);

const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
const parts =
  cmd === 'visit' ? ['unpack', 'build', 'cuda-tests', 'hf-parity', 'bench', 'growth'] : ['unpack', 'build', 'growth'];
check(s.visit === cmd, `summary.visit is ${s.visit}`);
check(s.finished === true && s.ok === true, `summary: finished ${s.finished}, ok ${s.ok}`);
for (const k of ['startedAt', 'deadlineS', 'kit', 'machine', 'secondsElapsed'])
  check(s[k] !== undefined, `summary.${k} missing`);
check(s.machine?.node === manifest.node, `ran on Node ${s.machine?.node}, not the kit's ${manifest.node}`);
check(s.machine?.cuda === false && s.machine?.built === true, 'expected the CUDA build of libtorch, without a GPU');
for (const p of parts) {
  const r = s.parts?.[p];
  check(r && ['ok', 'skipped'].includes(r.status), `part ${p}: ${r?.status} ${r?.reason ?? ''}`);
  check(r && typeof r.seconds === 'number', `part ${p}: no time recorded`);
}
const b = s.parts?.build ?? {};
check(b.distributed === 'gloo+nccl', `build: data parallel '${b.distributed}', expected gloo+nccl`);
check(
  (b.cudaInclude ?? []).some((d) => d.endsWith('.device/unpacked/include/cuda-include')),
  `build: the kit's CUDA header fallback was not used (${(b.cudaInclude ?? []).join(', ')})`,
);
for (const p of parts.filter((x) => ['bench', 'growth'].includes(x))) {
  const r = s.parts[p] ?? {};
  check(
    r.status === 'skipped' && /^GPU-only: no CUDA device visible/.test(r.reason ?? ''),
    `${p}: not skipped as GPU-only`,
  );
  check(r.smoke?.status === 'ok', `${p}: its CPU smoke ${r.smoke?.status}: ${r.smoke?.reason ?? ''}`);
}
if (parts.includes('growth')) {
  const g = s.parts.growth.smoke ?? {};
  const want = cmd === 'visit' ? 1 : 2;
  check(g.seeds === want, `growth: ${g.seeds} seeds, expected ${want}`);
  check((g.finishedRuns ?? []).length === 3 * want, `growth: ${(g.finishedRuns ?? []).length} runs finished`);
  check((g.returned ?? []).includes('growth/report.md'), 'growth: the report did not come back');
}
if (cmd === 'visit') {
  const t = s.parts['cuda-tests'] ?? {};
  check(t.fail === 0 && t.skipped > 0, `cuda-tests: ${t.fail} failed, ${t.skipped} skipped`);
  const h = s.parts['hf-parity'] ?? {};
  check(h.status === 'ok' && h.maxAbsDiff !== undefined, `hf-parity: ${h.status} ${h.reason ?? ''}`);
}
console.log(`ci: ${cmd}: OUT has ${files.length} files (${files.join(', ')})`);
for (const [k, p] of Object.entries(s.parts))
  console.log(`ci: ${cmd}: part ${k}: ${p.status}${p.seconds === undefined ? '' : ` in ${p.seconds} s`}`);
if (problems.length) {
  for (const p of problems) console.error(`ci: ${cmd}: ${p}`);
  process.exit(1);
}
console.log(`ci: ${cmd}: summary and OUT as the device tool would return them`);
