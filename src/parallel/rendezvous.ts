// Where the ranks of a data-parallel run meet. libtorch's TCPStore cannot bind one address: its
// server listens on every interface of rank 0's machine, so anyone who can reach that port can
// read and write the run's rendezvous keys. On one machine (the common case) the ranks need no
// network for it at all: the launcher gives them a c10d FileStore in a private temporary folder
// (mode 0700, removed when the launch ends), and Gloo itself talks over loopback. Across machines
// the TCP store stays the default (as torchrun's), with a warning; `--rdzv-file` on a filesystem
// every machine sees replaces it there too.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GrowbertError } from '../io/errors.js';

/** The environment variable through which the launcher hands its workers the rendezvous file. */
export const RDZV_FILE_ENV = 'GROWBERT_RDZV_FILE';

/**
 * Whether `head`, a file's first bytes, can be a c10d FileStore's: records of a 32-bit little-endian
 * length and then the bytes, the first a key that starts with '/' (a value's), '-' (a deletion) or
 * 'refcount/' / 'cleanup/' (newer libtorch writes one of those first). A file another rank is still
 * writing may end anywhere inside the first record.
 */
function looksLikeFileStore(head: Buffer): boolean {
  const len = Buffer.alloc(4);
  head.copy(len, 0, 0, 4);
  const n = len.readUInt32LE(0);
  if (head.length >= 4 && (n < 1 || n > 4096)) return false;
  if (head.length < 4) return head.subarray(1).every((b) => b === 0);
  const key = head.subarray(4).toString('latin1');
  return key === '' || ['/', '-', 'refcount/', 'cleanup/'].some((k) => key.startsWith(k) || k.startsWith(key));
}

/** A fresh rendezvous file in a private folder of this machine's temp dir, and how to remove it. */
export function privateRendezvous(): { file: string; dispose: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-rdzv-')); // mkdtemp: mode 0700
  return { file: path.join(dir, 'store'), dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Checks a user's `--rdzv-file`: the FileStore appends to it and deletes it when the last rank
 * leaves, so it must be new, or a rendezvous file another machine of this launch has just created.
 * Anything else (a user's file, a folder) is refused; that is how nothing the user has is lost.
 */
export function checkRendezvousFile(file: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir))
    throw new GrowbertError(
      `--rdzv-file ${file}: its folder ${dir} does not exist; create it on a filesystem every machine of the run sees`,
    );
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return; // new: the first rank creates it
  }
  if (!st.isFile()) throw new GrowbertError(`--rdzv-file ${file} is not a regular file; give the path of a new file`);
  if (st.size === 0) return;
  const head = Buffer.alloc(Math.min(st.size, 16));
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (!looksLikeFileStore(head))
    throw new GrowbertError(
      `--rdzv-file ${file} already exists and is not a rendezvous file; give the path of a new file (the store writes to it and deletes it at the end)`,
    );
}

/** The warning rank 0 gives when it serves a TCP store: who else could reach it, and how to avoid that. */
export function tcpStoreWarning(host: string, port: number): string {
  return `the rendezvous store at ${host}:${port} listens on every network interface of this machine (libtorch's TCPStore cannot bind one address): keep the port behind a firewall, or use --rdzv-file on a filesystem every machine sees (one machine needs neither: --nproc uses a private file)`;
}
