// Every file a command reads that the user named (data, tokenizer, config, schedule, a Hugging
// Face or run folder's files) is checked here before it is read: a FIFO, socket or device is
// refused before it is opened (opening a FIFO with no writer waits forever, and so would the
// process's exit, which joins the thread that waits), a link loop and a missing path are told
// apart, and the one-line error names the path and the fix. Opens use O_NONBLOCK, so even a file
// swapped for a FIFO between the check and the open cannot block.
import * as fs from 'node:fs';
import { GrowbertError } from './errors.js';

/** What a non-regular file is, in words. */
export function fileKind(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return st.isFile() ? 'a file' : 'not a regular file';
}

/** The refusal of a path that is not a regular file. */
export function notRegular(what: string, file: string, st: fs.Stats): GrowbertError {
  return new GrowbertError(
    `${what} ${file} is ${fileKind(st)}, not a regular file: growbert reads only regular files (a pipe or device could block it forever); save the data to a file and give that`,
  );
}

/** Why a path cannot be stat'ed, in words (a link loop is not "does not exist"). */
export function statFailure(what: string, file: string, e: unknown, fix: string): GrowbertError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ELOOP'
      ? 'is a symbolic link loop (a link that leads back to itself)'
      : code === 'ENOENT'
        ? 'does not exist'
        : code === 'ENOTDIR'
          ? 'does not exist (a part of its path is a file)'
          : code === 'EACCES' || code === 'EPERM'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${code ?? (e as Error).message})`;
  return new GrowbertError(`${what} ${file} ${why}; ${code === 'ELOOP' ? 'point it at the real file' : fix}`);
}

/** stat (following links) of a path the user named: a one-line error when it cannot be. */
export function statInput(file: string, what: string, fix = 'check the path'): fs.Stats {
  try {
    return fs.statSync(file);
  } catch (e) {
    throw statFailure(what, file, e, fix);
  }
}

/** Refuses `file` unless it is a regular file (a link to one counts); before anything opens it. */
export function checkRegularFile(file: string, what: string, fix?: string): fs.Stats {
  const st = statInput(file, what, fix);
  if (!st.isFile()) throw notRegular(what, file, st);
  return st;
}

/** Opens a regular file for reading without ever blocking on a FIFO; the caller closes the fd. */
export function openInput(file: string, what: string, fix?: string): number {
  checkRegularFile(file, what, fix);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw statFailure(what, file, e, 'check that it is readable');
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw notRegular(what, file, st);
  }
  return fd;
}

/** The whole content of a regular file the user named (refusing anything else first). */
export function readInputFile(file: string, what: string, fix?: string): Buffer {
  const fd = openInput(file, what, fix);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The text of a regular file the user named, as UTF-8 (a leading byte-order mark removed). */
export function readInputText(file: string, what: string, fix?: string): string {
  const text = readInputFile(file, what, fix).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
