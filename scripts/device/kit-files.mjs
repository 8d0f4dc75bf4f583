// Which files the device kit carries (scripts/device/pack.mjs): the runtime node_modules (the
// production dependencies in package-lock.json, plus node-addon-api, which the native build on the
// GPU machine compiles against) and the compiled JavaScript the visit runs, minus what no visit
// loads. Each rule says why it is safe; the CI lane (.ci/lane-device.sh) proves the set by running
// the whole visit from it with nothing else on the machine.
import * as fs from 'node:fs';
import * as path from 'node:path';

// Dropped files: type declarations, source maps and prose are never loaded by Node at run time.
const DROP_FILE = [/\.d\.[cm]?ts$/, /\.map$/, /\.md$/i, /\.markdown$/i, /(^|\/)(CHANGELOG|HISTORY|AUTHORS)(\.\w+)?$/i];
// Dropped folders: packages' own tests, examples and docs (the code never imports them).
const DROP_DIR = /(^|\/)(test|tests|__tests__|example|examples|\.github|benchmark|benchmarks)\//;
// The GPU machine is x86-64 Linux with glibc: the other platforms' prebuilt binaries of tokenizers
// (12 of them, 60 MB) are never loaded there. Only the two DejaVu faces src/report/text-metrics.ts
// resolves are read (plot text); the other 20 faces are not.
const KEEP_ONLY = [
  { pkg: 'tokenizers', match: /\.node$/, keep: /^tokenizers\.linux-x64-gnu\.node$/ },
  { pkg: 'dejavu-fonts-ttf', match: /\.ttf$/, keep: /^DejaVuSans(-Bold)?\.ttf$/ },
];
// Packages the native build needs beside the production ones (a devDependency: only compiling uses it).
const BUILD_PACKAGES = ['node_modules/node-addon-api'];

/** The package folders to carry (relative to root), from the lockfile: production ones and BUILD_PACKAGES. */
export function runtimePackages(root) {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const keys = Object.entries(lock.packages ?? {})
    .filter(([k, v]) => k.startsWith('node_modules/') && !v.dev)
    .map(([k]) => k);
  const all = [...new Set([...keys, ...BUILD_PACKAGES])];
  const missing = all.filter((k) => !fs.existsSync(path.join(root, k)) && !lock.packages[k]?.optional);
  if (missing.length)
    throw new Error(`node_modules lacks ${missing.slice(0, 3).join(', ')}: run \`npm run setup\` (npm ci) first`);
  return all.filter((k) => fs.existsSync(path.join(root, k))).sort();
}

function keepFile(rel) {
  if (!rel.startsWith('node_modules/')) return true; // dist/ is chosen by runtimeFiles
  if (DROP_FILE.some((r) => r.test(rel)) || DROP_DIR.test(rel.slice('node_modules/'.length))) return false;
  for (const k of KEEP_ONLY) {
    const prefix = `node_modules/${k.pkg}/`;
    const base = path.basename(rel);
    if (rel.startsWith(prefix) && k.match.test(base) && !k.keep.test(base)) return false;
  }
  return true;
}

// Files of one package, not descending into its own node_modules (those are packages of their own).
function walk(root, rel, out) {
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') walk(root, r, out);
    } else if (e.isFile() && keepFile(r)) out.push(r);
    // links (.bin) are not carried: the visit runs every tool by its path
  }
  return out;
}

/** Every runtime file: the packages' kept files and dist's JavaScript (src/ and the CUDA tests). */
export function runtimeFiles(root) {
  const files = [];
  for (const pkg of runtimePackages(root)) walk(root, pkg, files);
  const dist = path.join(root, 'dist');
  if (!fs.existsSync(path.join(dist, 'src/cli/main.js')))
    throw new Error('dist/ is not built: run `npm run setup` (or `npm run build`) first');
  for (const sub of ['dist/src', 'dist/test/cuda'])
    files.push(...walk(root, sub, []).filter((f) => f.endsWith('.js') || f.endsWith('.json')));
  return files.sort();
}

/** The rules above in words, for the kit's manifest. */
export const PRUNED = [
  'type declarations, source maps, markdown and changelogs',
  "packages' test/example/benchmark folders",
  'tokenizers: every prebuilt binary but linux-x64-gnu',
  'dejavu-fonts-ttf: every face but DejaVuSans and DejaVuSans-Bold',
  'dev dependencies (node-addon-api kept for the native build)',
];
