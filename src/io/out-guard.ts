// The one guard every command's output folder goes through, so that no command can delete or
// overwrite anything but its own output:
// - paths are compared as real paths (symlinks resolved through the nearest existing ancestor),
//   so a symlinked path cannot walk past the check;
// - an --out that is, contains or lies inside any input is refused (writing there would replace
//   the input, or feed the output back in as input);
// - a non-empty folder that does not look like this command's own output is refused, with or
//   without --force: growbert never deletes files it did not write;
// - --force replaces only the entries the command itself writes; unrelated files beside them stay.
// File-system failures are reported with their real cause and the path (not a bare ENOENT).
// What makes a folder a growbert run, and which of its entries are growbert's, is decided by the
// run folder's owner, src/train/run-dir.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError } from './errors.js';
import { journalPath, recoverSwap, swapEntries } from './out-swap.js';

/**
 * The real path of `p` even when it does not exist yet: the nearest existing ancestor is
 * resolved with fs.realpathSync (following every symlink), and the missing rest appended.
 */
export function realPath(p: string): string {
  const abs = path.resolve(p);
  const missing: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...missing.reverse());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const parent = path.dirname(cur);
      // ENOENT: not there yet. ENOTDIR: an ancestor is a file; both resolve by the ancestor.
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === cur) return path.join(cur, ...missing.reverse());
      missing.push(path.basename(cur));
      cur = parent;
    }
  }
}

/** True when `inner` is `outer` or lies inside it (both already real, absolute paths). */
export function isWithin(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

/** What a failed file-system call means, in words, with its code (EACCES, EROFS, ENOSPC...). */
export function fsCause(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EEXIST: 'it already exists',
    ENOENT: 'no such file or folder',
    EISDIR: 'it is a folder',
    EXDEV: 'it is on another file system',
    EMFILE: 'too many open files',
  };
  return err?.code ? `${words[err.code] ?? err.message} (${err.code})` : String(err?.message ?? e);
}

/** Runs a file-system step; a failure becomes a one-line error naming the path and the real cause. */
export function fsStep<T>(what: string, p: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof GrowbertError || !(e as NodeJS.ErrnoException)?.code) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const fix =
      code === 'ENOSPC' || code === 'EDQUOT'
        ? 'free some space or choose another folder'
        : 'check the path and its permissions, or choose another folder';
    throw new GrowbertError(`cannot ${what} ${p}: ${fsCause(e)}; ${fix}`);
  }
}

export interface OutGuard {
  /** the output folder as given */
  out: string;
  /** the flag that named it, for messages (default 'out') */
  flag?: string;
  /** every file or folder the command reads: `out` must neither be, contain nor lie inside one */
  inputs?: (string | undefined)[];
  /** what the command writes, in words ('a growbert run', 'a Hugging Face model folder') */
  kind: string;
  /** true when an existing non-empty folder is this command's own earlier output */
  owns: (dir: string) => boolean;
  /** replace an own earlier output (else it is refused) */
  force?: boolean;
  /** with an own earlier output and no force: accept it (the command continues or adds to it) */
  reuse?: boolean;
  /** how to say --force in the message (null: the command has no --force) */
  forceHint?: string | null;
  /** for a folder not owned: a more precise refusal (e.g. it holds a model of the user's), or null */
  foreign?: (dir: string) => string | null;
  /** entries that do not make a folder non-empty (a run's lock file) */
  ignore?: readonly string[];
}

/** The state of an output folder after the guard: its real path, and whether it holds an own earlier output. */
export interface GuardedOut {
  real: string;
  existing: boolean;
}

/** Refuses an --out that is, contains or lies inside one of the inputs (compared as real paths). */
export function checkOutVsInputs(out: string, inputs: (string | undefined)[], flag = 'out'): string {
  const real = realPath(out);
  for (const input of inputs) {
    if (!input || (/^[a-z]+:/i.test(input) && !fs.existsSync(input))) continue; // stdlib:sotu and the like are not paths
    const r = realPath(input);
    if (isWithin(r, real))
      throw new GrowbertError(
        `--${flag} ${out} ${r === real ? 'is' : 'contains'} the input ${input}; writing there would replace it: choose another --${flag}`,
      );
    if (isWithin(real, r))
      throw new GrowbertError(`--${flag} ${out} lies inside the input ${input}; choose a --${flag} outside it`);
  }
  return real;
}

function recoverSwapOf(out: string, real: string): void {
  try {
    recoverSwap(real);
  } catch (e) {
    if (e instanceof GrowbertError || !(e as NodeJS.ErrnoException).code) throw e;
    throw new GrowbertError(
      `cannot finish the interrupted replacement of ${out}: ${fsCause(e)}; check the folder's permissions and run again`,
    );
  }
}

/** The guard: throws a one-line GrowbertError when writing `out` could lose anything the user has. */
export function guardOut(g: OutGuard): GuardedOut {
  const flag = g.flag ?? 'out';
  const real = checkOutVsInputs(g.out, g.inputs ?? [], flag);
  // a replacement a killed growbert left is finished or undone first (src/io/out-swap.ts)
  recoverSwapOf(g.out, real);
  const st = fsStep('read', g.out, () => fs.statSync(real, { throwIfNoEntry: false }));
  if (!st) return { real, existing: false };
  if (!st.isDirectory())
    throw new GrowbertError(`--${flag} ${g.out} exists and is not a folder; choose another --${flag}`);
  const names = fsStep('read the folder', g.out, () => fs.readdirSync(real));
  if (names.every((n) => g.ignore?.includes(n))) return { real, existing: false };
  if (!g.owns(real)) {
    const said = g.foreign?.(real);
    if (said) throw new GrowbertError(said);
    throw new GrowbertError(
      `--${flag} ${g.out} is not empty and does not hold ${g.kind}; growbert never replaces files it did not write: choose an empty or new --${flag}`,
    );
  }
  if (!g.force && !g.reuse) {
    const hint = g.forceHint === null ? '' : `pass ${g.forceHint ?? '--force'} to replace it, or `;
    throw new GrowbertError(`--${flag} ${g.out} already holds ${g.kind}; ${hint}choose another --${flag}`);
  }
  return { real, existing: true };
}

/**
 * Builds the output in a temp folder beside `out`, then moves it into place: a crash never
 * leaves half an output. Replacing an earlier own output (force) swaps only the entries named in
 * `owned` (exact names, or prefixes ending in '*'; a function reads them from the folder after
 * recovery), and those the new output has: every other file in the folder stays as it was. The
 * swap runs under a journal (src/io/out-swap.ts): a kill at any instant is finished or undone by
 * the next run, which also removes temp folders killed runs left.
 */
export function writeOutAtomically(
  g: OutGuard & { owned: readonly string[] | ((dir: string) => readonly string[]) },
  fill: (tmp: string) => void,
): string {
  const { real, existing } = guardOut({ ...g, reuse: false });
  const parent = path.dirname(real);
  fsStep('create the folder', parent, () => fs.mkdirSync(parent, { recursive: true }));
  const tmp = path.join(parent, `.${path.basename(real)}.${process.pid}.${Date.now()}.tmp`);
  fsStep('write in', parent, () => fs.mkdirSync(tmp));
  try {
    fill(tmp);
    if (!existing) {
      // rename replaces an empty folder in one step (a kill leaves the folder or the output, not neither)
      fsStep('create', g.out, () => fs.renameSync(tmp, real));
      return real;
    }
    const owned = typeof g.owned === 'function' ? g.owned(real) : g.owned;
    const moveIn = fs.readdirSync(tmp);
    const moveOut = fs.readdirSync(real).filter((n) => ownedName(n, owned) || moveIn.includes(n));
    const old = `${tmp}.old`;
    fs.mkdirSync(old);
    try {
      swapEntries({ out: real, tmp, old, moveOut, moveIn });
    } catch (e) {
      if (e instanceof GrowbertError) throw e;
      throw new GrowbertError(`cannot replace ${g.out}: ${fsCause(e)}; the earlier output is left as it was`);
    }
    return real;
  } catch (e) {
    // the temp folder holds only the new output (a swap that failed moved it back there)
    if (!fs.existsSync(journalPath(real))) {
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.rmSync(`${tmp}.old`, { recursive: true, force: true });
    }
    if (e instanceof GrowbertError) throw e;
    throw (e as NodeJS.ErrnoException).code ? new GrowbertError(`cannot write ${g.out}: ${fsCause(e)}`) : e;
  }
}

/** True when `name` is one of `owned`: an exact name, or a prefix ending in '*'. */
export function ownedName(name: string, owned: readonly string[]): boolean {
  return owned.some((o) => (o.endsWith('*') ? name.startsWith(o.slice(0, -1)) : name === o));
}
