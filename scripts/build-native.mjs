// Builds native/ into build/growbert.node with g++ against the libtorch that findLibtorch()
// picks. Objects compile in parallel; a stamp of sources + flags skips rebuilding when nothing
// changed (pass --force to rebuild anyway).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { findLibtorch } from './libtorch.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = path.join(root, 'native/src');
const outDir = path.join(root, 'build');
const target = path.join(outDir, 'growbert.node');

function nodeIncludeDir() {
  const candidates = [
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.join(os.homedir(), '.cache/node-gyp', process.versions.node, 'include', 'node'),
  ].filter(Boolean);
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
  if (!found) throw new Error(`Node's headers (node_api.h) not found in ${candidates.join(', ')}; install Node.js with its headers`);
  return found;
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

export async function buildNative({ force = false, quiet = false } = {}) {
  const lt = findLibtorch();
  if (!lt) throw new Error('no libtorch found; run `npm run setup` (installs libtorch-dev on Debian/Ubuntu) or set LIBTORCH=/path/to/libtorch');
  const require = createRequire(import.meta.url);
  const napiInclude = require('node-addon-api').include_dir.replace(/^"|"$/g, '');
  const sources = fs.readdirSync(srcDir).filter((f) => f.endsWith('.cc')).sort();
  const headers = fs.readdirSync(srcDir).filter((f) => f.endsWith('.h')).sort();
  const defines = [`-D_GLIBCXX_USE_CXX11_ABI=${lt.cxx11abi}`, '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED'];
  if (lt.cuda) defines.push('-DGROWBERT_CUDA=1');
  const cflags = ['-std=c++17', '-O2', '-fPIC', '-fvisibility=hidden', '-Wno-deprecated-declarations', '-Wno-unused-parameter',
    ...defines, `-I${nodeIncludeDir()}`, `-I${napiInclude}`, ...lt.include.map((d) => `-I${d}`)];
  const libs = ['torch', 'torch_cpu', 'c10', ...(lt.cuda ? ['torch_cuda', 'c10_cuda'] : [])];
  // --no-as-needed keeps libtorch_cuda linked although no symbol of it is referenced directly:
  // its static initialisers register the CUDA kernels.
  const ldflags = ['-shared', `-L${lt.libDir}`, `-Wl,-rpath,${lt.libDir}`, '-Wl,--no-as-needed', ...libs.map((l) => `-l${l}`), '-Wl,--as-needed'];

  const h = createHash('sha256');
  for (const f of [...sources, ...headers]) h.update(f).update(fs.readFileSync(path.join(srcDir, f)));
  h.update(JSON.stringify({ cflags, ldflags, node: process.versions.modules }));
  const stamp = h.digest('hex');
  const stampFile = path.join(outDir, 'stamp.json');
  if (!force && fs.existsSync(target) && fs.existsSync(stampFile) && JSON.parse(fs.readFileSync(stampFile, 'utf8')).stamp === stamp) {
    return { built: false, libtorch: lt };
  }
  fs.mkdirSync(path.join(outDir, 'obj'), { recursive: true });
  if (!quiet) console.error(`growbert: building the native addon against libtorch ${lt.version} (${lt.source}${lt.cuda ? ', CUDA' : ''}, ${lt.libDir})`);
  const jobs = Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, sources.length));
  const queue = [...sources];
  const objs = sources.map((f) => path.join(outDir, 'obj', f.replace(/\.cc$/, '.o')));
  await Promise.all(Array.from({ length: jobs }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      await run(process.env.CXX || 'g++', [...cflags, '-c', path.join(srcDir, f), '-o', path.join(outDir, 'obj', f.replace(/\.cc$/, '.o'))]);
    }
  }));
  const tmp = `${target}.${process.pid}.tmp`;
  await run(process.env.CXX || 'g++', [...objs, '-o', tmp, ...ldflags]);
  fs.renameSync(tmp, target);
  fs.writeFileSync(stampFile, JSON.stringify({ stamp, libtorch: lt }, null, 2));
  return { built: true, libtorch: lt };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildNative({ force: process.argv.includes('--force') }).then(
    (r) => console.error(r.built ? `growbert: built ${path.relative(process.cwd(), target)}` : 'growbert: native addon is up to date'),
    (e) => { console.error(`growbert: native build failed: ${e.message}`); process.exit(1); },
  );
}
