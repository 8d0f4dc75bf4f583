// What travels to the GPU device machine, measured the way the device tool counts it: the
// checkout's tracked files, its untracked files that git does not ignore, a shared/ folder inside
// it, and the ignored paths named in `carry`, 64 MiB in all (../shared/device/README.md). The kit
// (scripts/device/pack.mjs) and the CI lane (.ci/lane-device.sh) both check against this one count.
//   node scripts/device/tree-size.mjs [ROOT] [--carry PATH ...] [--json]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TREE_LIMIT = 64 * 2 ** 20;
export const MiB = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Bytes under a path (files and links by their own size; a missing path is 0). */
export function bytesUnder(p) {
  let st;
  try {
    st = fs.lstatSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of fs.readdirSync(p)) n += bytesUnder(path.join(p, e));
  return n;
}

/** { tracked, shared, carried: {path: bytes}, total } for a checkout and the paths it carries. */
export function travelSize(root, carry = []) {
  const files = execFileSync('git', ['-C', root, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  })
    .split('\0')
    .filter(Boolean);
  let tracked = 0;
  for (const f of new Set(files)) {
    try {
      tracked += fs.lstatSync(path.join(root, f)).size; // a deleted tracked file no longer travels
    } catch {
      /* gone */
    }
  }
  // shared/ travels even where git ignores it; counted once (its unignored files are in `tracked`)
  const sharedDir = path.join(root, 'shared');
  const shared = fs.existsSync(sharedDir) ? bytesUnder(sharedDir) - sumOf(files, 'shared/', root) : 0;
  const carried = Object.fromEntries(carry.map((c) => [c, bytesUnder(path.join(root, c))]));
  const total = tracked + shared + Object.values(carried).reduce((a, b) => a + b, 0);
  return { tracked, shared, carried, total };
}

function sumOf(files, prefix, root) {
  let n = 0;
  for (const f of files.filter((x) => x.startsWith(prefix))) n += bytesUnder(path.join(root, f));
  return n;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--carry');
  const carry = i < 0 ? [] : args.slice(i + 1).filter((a) => !a.startsWith('--'));
  const root = args[0] && !args[0].startsWith('--') ? args[0] : '.';
  const s = travelSize(root, carry);
  if (args.includes('--json')) console.log(JSON.stringify({ ...s, limit: TREE_LIMIT }));
  else {
    const parts = [`tree ${MiB(s.tracked)}`, ...Object.entries(s.carried).map(([c, n]) => `${c} ${MiB(n)}`)];
    if (s.shared) parts.push(`shared/ ${MiB(s.shared)}`);
    console.log(`travels: ${MiB(s.total)} of ${MiB(TREE_LIMIT)} (${parts.join(', ')})`);
  }
  if (s.total > TREE_LIMIT) process.exitCode = 1;
}
