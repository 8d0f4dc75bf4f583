// Maps a path taken from a request (URL path or query) to a file under the dashboard's runs folder,
// or refuses it. The dashboard serves nothing outside that folder: `..` segments, encoded forms
// (%2e%2e, %2f, %5c), backslashes, NUL bytes, absolute paths and symbolic links that lead out of
// the folder are all refused, checked both on the path as written and on the real path on disk.
import * as fs from 'node:fs';
import * as path from 'node:path';

export class PathRefused extends Error {}

const inside = (root: string, p: string) =>
  p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

/**
 * `rel` is an already URL-decoded path relative to `root` ('' or '.' is root itself). Returns the
 * absolute path (which may not exist) or throws PathRefused.
 */
export function resolveUnder(root: string, rel: string): string {
  if (rel.includes('\0') || rel.includes('\\')) throw new PathRefused('NUL or backslash in path');
  const parts = rel.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..')) throw new PathRefused('.. in path');
  const abs = path.resolve(root, ...parts);
  if (!inside(path.resolve(root), abs)) throw new PathRefused('outside the runs folder');
  // Symbolic links: the real path of the deepest existing ancestor must stay inside too.
  const realRoot = fs.realpathSync(root);
  let probe = abs;
  for (;;) {
    try {
      const real = fs.realpathSync(probe);
      if (!inside(realRoot, real)) throw new PathRefused('a link leads outside the runs folder');
      break;
    } catch (e) {
      if (e instanceof PathRefused) throw e;
      const up = path.dirname(probe);
      if (up === probe) break;
      probe = up;
    }
  }
  return abs;
}

/** Decodes a URL path component once; malformed escapes are refused. */
export function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new PathRefused('malformed percent-encoding');
  }
}
