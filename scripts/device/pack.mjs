// `npm run device:pack`: the device kit, `.device/` (git-ignored), everything a GPU device machine
// lacks for one visit (docs/device.md): that machine has python3 with CUDA PyTorch, nvcc, g++, but
// no Node.js, no registry and no network, and only 64 MiB travel to it (the tree and `carry`).
//   node.tar.xz     Node.js (this machine's, stripped) and its N-API headers
//   runtime.tar.xz  the runtime node_modules + node-addon-api (scripts/device/kit-files.mjs) and dist/'s JS
//   corpus.tar.xz   the doc corpus (data/doc-corpus, from ../shared/data/build-doc-corpus.sh), when built
//   include.tar.xz  Gloo's headers (data parallel: torch wheels ship none) and the CUDA compiler's
//                   crt/ and nv/ headers (nvidia-cuda-crt / -cccl), used only where the machine lacks them
//   visit.sh, visit-growth.sh  the prepared commands (scripts/device/); manifest.json  what was packed
// Each part is rebuilt only when its inputs changed. Fails when the kit passes 60 MiB or what
// travels (tree + kit) passes 64 MiB.
//   node scripts/device/pack.mjs [--corpus DIR] [--no-corpus] [--gloo DIR] [--cuda-headers DIR] [--xz-level N]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRUNED, runtimeFiles } from './kit-files.mjs';
import { MiB, TREE_LIMIT, travelSize } from './tree-size.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kit = path.join(root, '.device');
const stamps = path.join(root, '.cache/device-pack');
const KIT_LIMIT = 60 * 2 ** 20;
const argv = process.argv.slice(2);
const opt = (n) => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1] : undefined);
const level = opt('xz-level') ?? '6';
const say = (m) => console.error(`device:pack: ${m}`);

function fail(m) {
  say(m);
  process.exit(1);
}

/** Writes OUT (a .tar.xz) from files relative to cwd, unless its stamp says the same inputs made it. */
function tarXz(name, cwd, files, extraKey = '') {
  const out = path.join(kit, name);
  const h = createHash('sha256').update(extraKey).update(level);
  // files staged afresh (extraKey given) are keyed by what they were made from, not their new mtimes
  for (const f of extraKey ? [] : files) {
    const st = fs.statSync(path.join(cwd, f));
    h.update(`${f}\0${st.size}\0${st.mtimeMs}\0`);
  }
  const stamp = path.join(stamps, `${name}.stamp`); // beside, not in, the kit: only what the visit needs travels
  const key = h.digest('hex');
  if (fs.existsSync(out) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === key) {
    say(`${name}: up to date`);
    return;
  }
  const list = path.join(os.tmpdir(), `growbert-pack-${process.pid}.list`);
  fs.writeFileSync(list, files.join('\0'));
  const t0 = Date.now();
  // --owner/--group/--mtime: the same inputs give the same archive, whoever packs them
  execFileSync(
    'bash',
    [
      '-c',
      'set -o pipefail; tar -C "$1" --owner=0 --group=0 --numeric-owner --sort=name --null -T "$2" -cf - | ' +
        `xz -T0 -${level} > "$3"`,
      'tar',
      cwd,
      list,
      `${out}.tmp`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  fs.rmSync(list);
  fs.renameSync(`${out}.tmp`, out);
  fs.writeFileSync(stamp, key);
  say(`${name}: ${files.length} files, ${MiB(fs.statSync(out).size)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

// Node.js: the binary (stripped of its symbols: 99 -> 86 MB) and the four N-API headers the addon includes.
function packNode() {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-node-'));
  const headers = ['node_api.h', 'node_api_types.h', 'js_native_api.h', 'js_native_api_types.h'];
  const incDirs = [
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.join(os.homedir(), '.cache/node-gyp', process.versions.node, 'include', 'node'),
  ].filter(Boolean);
  const inc = incDirs.find((d) => headers.every((h) => fs.existsSync(path.join(d, h))));
  if (!inc) fail(`Node's N-API headers not found in ${incDirs.join(', ')}`);
  fs.mkdirSync(path.join(stage, 'bin'));
  fs.mkdirSync(path.join(stage, 'include/node'), { recursive: true });
  const bin = path.join(stage, 'bin/node');
  try {
    execFileSync('strip', ['-o', bin, process.execPath], { stdio: 'ignore' });
  } catch {
    fs.copyFileSync(process.execPath, bin); // no binutils: carried unstripped (about 2 MiB more packed)
  }
  fs.chmodSync(bin, 0o755);
  for (const h of headers) fs.copyFileSync(path.join(inc, h), path.join(stage, 'include/node', h));
  // the stage's files are new each time: key on Node's own identity instead
  const st = fs.statSync(process.execPath);
  tarXz(
    'node.tar.xz',
    stage,
    ['bin/node', ...headers.map((h) => `include/node/${h}`)],
    [process.version, process.execPath, st.size, st.mtimeMs].join('|'),
  );
  fs.rmSync(stage, { recursive: true, force: true });
}

// The CUDA compiler's headers (crt/, nv/) from the wheels CI pins (.ci/cuda-wheels.txt), downloaded
// once into .cache/device-wheels from the configured package index (no network needed where it is local).
function cudaHeaderDir() {
  if (opt('cuda-headers')) return path.resolve(opt('cuda-headers'));
  const pins = fs
    .readFileSync(path.join(root, '.ci/cuda-wheels.txt'), 'utf8')
    .split('\n')
    .filter((l) => /^nvidia-cuda-(crt|cccl)==/.test(l));
  const cache = path.join(root, '.cache/device-wheels');
  const out = path.join(cache, 'include');
  const stampFile = path.join(cache, 'pins');
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === pins.join('\n')) return out;
  fs.rmSync(cache, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const py = process.env.PYTHON || 'python3';
  const quick = ['--retries', '1', '--timeout', '30']; // an unreachable index falls through in seconds
  const dl = ['-m', 'pip', 'download', '-q', ...quick, '--no-deps', '--only-binary=:all:', '-d', cache];
  try {
    execFileSync(py, [...dl, ...pins], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    fail(
      `pip could not download ${pins.join(' ')} (${String(e.stderr).trim().split('\n').pop()}); pass --cuda-headers DIR`,
    );
  }
  const unzip = `import sys, zipfile, glob, os
for w in glob.glob(os.path.join(sys.argv[1], '*.whl')):
    z = zipfile.ZipFile(w)
    for m in z.namelist():
        i = m.find('/include/')
        rel = m[i + 9:] if i >= 0 else ''
        if rel.startswith(('crt/', 'nv/')) and not m.endswith('/'):
            dst = os.path.join(sys.argv[2], rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            open(dst, 'wb').write(z.read(m))`;
  execFileSync(py, ['-c', unzip, cache, out]);
  fs.writeFileSync(stampFile, pins.join('\n'));
  return out;
}

function listUnder(dir, prefix) {
  const out = [];
  const rec = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) rec(r);
      else if (e.isFile()) out.push(r);
    }
  };
  rec(prefix);
  return out;
}

function packIncludes() {
  const gloo = path.resolve(opt('gloo') ?? '/usr/include');
  if (!fs.existsSync(path.join(gloo, 'gloo/config.h')))
    fail(`no Gloo headers in ${gloo}/gloo (Debian: apt-get install libgloo-dev; or --gloo DIR holding gloo/)`);
  const cuda = cudaHeaderDir();
  for (const h of ['crt/host_config.h', 'nv/target'])
    if (!fs.existsSync(path.join(cuda, h))) fail(`${cuda} lacks ${h} (the CUDA compiler's headers)`);
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-inc-'));
  fs.cpSync(path.join(gloo, 'gloo'), path.join(stage, 'gloo-include/gloo'), { recursive: true });
  for (const d of ['crt', 'nv'])
    fs.cpSync(path.join(cuda, d), path.join(stage, `cuda-include/${d}`), { recursive: true });
  const files = listUnder(stage, '');
  const key = files.map((f) => `${f}:${fs.statSync(path.join(stage, f)).size}`).join('|');
  tarXz('include.tar.xz', stage, files, key);
  fs.rmSync(stage, { recursive: true, force: true });
  return { gloo: path.join(gloo, 'gloo'), cuda };
}

function packCorpus() {
  if (argv.includes('--no-corpus')) return null;
  const dir = path.resolve(opt('corpus') ?? path.join(root, 'data/doc-corpus'));
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.txt'))
        .sort()
    : [];
  if (!files.length) {
    say(
      `no doc corpus in ${dir} (bash ../shared/data/build-doc-corpus.sh data/doc-corpus): the visit uses the built-in one`,
    );
    fs.rmSync(path.join(kit, 'corpus.tar.xz'), { force: true });
    return null;
  }
  tarXz('corpus.tar.xz', dir, files);
  return files;
}

if (process.platform !== 'linux' || process.arch !== 'x64')
  fail(`the GPU machine is x86-64 Linux; pack on one (this is ${process.platform}-${process.arch})`);
fs.mkdirSync(kit, { recursive: true });
fs.mkdirSync(stamps, { recursive: true });
const t0 = Date.now();
let files;
try {
  files = runtimeFiles(root);
} catch (e) {
  fail(e.message);
}
packNode();
tarXz('runtime.tar.xz', root, files);
const corpus = packCorpus();
const inc = packIncludes();
for (const name of ['visit.sh', 'visit-growth.sh'])
  fs.writeFileSync(
    path.join(kit, name),
    `#!/bin/bash\n# The prepared device command (docs/device.md), run from the checkout's root with carry [".device"].\n` +
      `exec bash scripts/device/${name} "$@"\n`,
    { mode: 0o755 },
  );
const sizes = () =>
  Object.fromEntries(
    fs
      .readdirSync(kit)
      .filter((f) => fs.statSync(path.join(kit, f)).isFile())
      .map((f) => [f, fs.statSync(path.join(kit, f)).size]),
  );
const manifest = {
  packedAt: new Date().toISOString(),
  commit: execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim(),
  node: process.version,
  runtimeFiles: files.length,
  corpus,
  gloo: inc.gloo,
  cudaHeaders: inc.cuda,
  pruned: PRUNED,
  bytes: sizes(),
};
fs.writeFileSync(path.join(kit, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
const parts = sizes();
const kitBytes = Object.values(parts).reduce((a, b) => a + b, 0);
const travel = travelSize(root, ['.device']);
for (const [f, n] of Object.entries(parts)) say(`  ${f.padEnd(16)} ${MiB(n)}`);
say(`kit ${MiB(kitBytes)} of ${MiB(KIT_LIMIT)}; travels with the tree ${MiB(travel.total)} of ${MiB(TREE_LIMIT)}`);
say(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s; on the device: bash .device/visit.sh (carry [".device"])`);
if (kitBytes > KIT_LIMIT) fail(`the kit is ${MiB(kitBytes)}, over ${MiB(KIT_LIMIT)}`);
if (travel.total > TREE_LIMIT) fail(`tree + kit is ${MiB(travel.total)}, over ${MiB(TREE_LIMIT)}`);
