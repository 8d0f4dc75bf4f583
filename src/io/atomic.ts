// Atomic writes: temp file beside the target, fsync, rename; readers never see half a file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsStep } from './out-guard.js';

/** A temp path beside `target`, so the final rename stays on one filesystem (and is atomic). */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
}

/** Write a whole file atomically: readers see the old file or the new one, never half of one. */
export function atomicWriteFile(target: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  atomicWriteWith(target, (fd) => writeAll(fd, bytes));
}

/**
 * Stream a file through `write(fd)` to a temp path, fsync, then rename over `target`.
 * Used for large files (checkpoints) that must not be built in memory as one buffer.
 */
export function atomicWriteWith(target: string, write: (fd: number) => void): void {
  // A failure names the file the user asked for (not the temp path) and its real cause.
  fsStep('write', target, () => fs.mkdirSync(path.dirname(target), { recursive: true }));
  const tmp = tempPathFor(target);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      write(fd);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    return fsStep('write', target, () => {
      throw e;
    });
  }
}

/** Write all bytes of `buf` to `fd` (writeSync may write fewer than asked). */
export function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.byteLength) off += fs.writeSync(fd, buf, off, buf.byteLength - off);
}
