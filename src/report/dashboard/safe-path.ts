// Maps a path taken from a request (URL path or query) to a file under the dashboard's runs folder,
// or refuses it. The dashboard serves nothing outside that folder: `..` segments, encoded forms
// (%2e%2e, %2f, %5c), backslashes, NUL bytes, absolute paths and symbolic links that lead out of
// the folder are all refused, checked both on the path as written and on the real path on disk.
// Every file the dashboard reads under the runs folder is opened by openInside: non-blocking, and
// kept only when the opened file is a regular file whose real path (of the open descriptor, so no
// link swapped in afterwards counts) lies inside the folder. A FIFO, a device, a folder or a link
// out of the runs folder is never read, so no request can block the server or leak a file.
import * as fs from 'node:fs';
import * as path from 'node:path';

export class PathRefused extends Error {}
/** The path names a folder, a FIFO or another thing that is not a regular file. */
export class NotAFile extends Error {}

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

/** The real path of an open descriptor (Linux: /proc/self/fd), else of the path it was opened by. */
function realOfFd(fd: number, file: string): string {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return fs.realpathSync(file);
  }
}

/**
 * Opens `file` (under `root`) for reading when it is a regular file whose real path lies inside
 * `root` (null: the page's own assets, which node_modules may link from anywhere); throws
 * PathRefused (outside), NotAFile (a folder, FIFO, socket or device) or the open error (ENOENT...).
 * The caller closes the descriptor.
 */
export function openInside(root: string | null, file: string): { fd: number; size: number } {
  // O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one, with the event loop.
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    if (root !== null && !inside(fs.realpathSync(root), realOfFd(fd, file)))
      throw new PathRefused('a link leads outside the runs folder');
    const st = fs.fstatSync(fd);
    const name = path.basename(file);
    if (st.isDirectory()) throw new NotAFile(`${name} is a folder, not a file; name a file in it`);
    if (!st.isFile()) throw new NotAFile(`${name} is not a regular file (a FIFO, socket or device); it is not read`);
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Reads up to `max` bytes from `start` of an open file (a regular file: never blocks for long). */
export function readAt(fd: number, start: number, max: number): Buffer {
  const buf = Buffer.alloc(max);
  let n = 0;
  while (n < buf.length) {
    const r = fs.readSync(fd, buf, n, buf.length - n, start + n);
    if (r === 0) break;
    n += r;
  }
  return buf.subarray(0, n);
}

/**
 * A small text file under `root` (a config, plan or report), or null when it is missing, not a
 * regular file, outside the runs folder, or larger than `max` bytes.
 */
export function readTextInside(root: string, file: string, max = 16 * 1024 * 1024): string | null {
  let opened: { fd: number; size: number };
  try {
    opened = openInside(root, file);
  } catch {
    return null;
  }
  try {
    return opened.size > max ? null : readAt(opened.fd, 0, opened.size).toString('utf8');
  } finally {
    fs.closeSync(opened.fd);
  }
}
