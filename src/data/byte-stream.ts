/**
 * Input files as streams of decompressed bytes, chunk by chunk, never whole: plain files,
 * gzip (Node's zlib) and zstd (`fzstd`, pure JavaScript: nothing to build or download).
 *
 * Why a module of its own: the corpus reader, the tokenizer sample and `bench-data` all need the
 * same "bytes of this file, whatever its compression" view, and every failure of a decompressor
 * (corrupt data, a truncated download) must become one line that names the file and the fix.
 */
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { GrowbertError } from '../io/errors.js';
import { checkRegularFile, notRegular } from '../io/input-file.js';

export type Compression = 'none' | 'gzip' | 'zstd';

export interface ByteStreamOptions {
  /** Bytes per read from disk (default 1 MiB); tests use tiny values to cut data at odd places. */
  chunkBytes?: number;
  /** Called with the count of raw (compressed) file bytes read so far, for progress bars. */
  onRawBytes?: (n: number) => void;
}

export function compressionOf(file: string): Compression {
  if (/\.gz$/i.test(file)) return 'gzip';
  if (/\.zst$/i.test(file)) return 'zstd';
  return 'none';
}

/** The file's decompressed bytes, chunk by chunk. Errors are GrowbertErrors naming the file. */
export async function* fileBytes(file: string, opts: ByteStreamOptions = {}): AsyncGenerator<Uint8Array> {
  const compression = compressionOf(file);
  const raw = rawChunks(file, opts);
  if (compression === 'none') yield* raw;
  else if (compression === 'gzip') yield* gunzip(file, raw);
  else yield* unzstd(file, raw);
}

async function* rawChunks(file: string, opts: ByteStreamOptions): AsyncGenerator<Uint8Array> {
  const size = opts.chunkBytes ?? 1 << 20;
  let fd: fs.promises.FileHandle;
  checkRegularFile(file, 'data file'); // a FIFO or device is refused before it is opened
  try {
    // O_NONBLOCK: a file swapped for a FIFO after the check still cannot block the open
    fd = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new GrowbertError(
      `cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check that it exists and is readable`,
    );
  }
  try {
    const st = await fd.stat();
    if (!st.isFile()) throw notRegular('data file', file, st);
    let total = 0;
    for (;;) {
      // A fresh buffer per read: consumers may keep the chunk (decompressors do).
      const buf = Buffer.allocUnsafe(size);
      const { bytesRead } = await fd.read(buf, 0, size, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      opts.onRawBytes?.(total);
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fd.close();
  }
}

function corrupt(file: string, kind: string, why: string): GrowbertError {
  return new GrowbertError(
    `'${file}' holds corrupt or truncated ${kind} data (${why}); re-download or recompress the file, or leave it out`,
  );
}

async function* gunzip(file: string, raw: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  // Node's gunzip also reads files of several gzip members back to back (as `cat a.gz b.gz`).
  const gz = zlib.createGunzip();
  const src = Readable.from(raw, { objectMode: false });
  src.on('error', (e) => gz.destroy(e));
  src.pipe(gz);
  try {
    for await (const out of gz) yield out as Buffer;
  } catch (e) {
    if (e instanceof GrowbertError) throw e;
    throw corrupt(file, 'gzip', (e as Error).message);
  } finally {
    src.destroy();
    gz.destroy();
  }
}

async function* unzstd(file: string, raw: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  let out: Uint8Array[] = [];
  let ended = false;
  const dec = new ZstdDecompress((data, final) => {
    out.push(data);
    if (final) ended = true;
  });
  const push = (c: Uint8Array, last: boolean): void => {
    try {
      dec.push(c, last);
    } catch (e) {
      throw corrupt(file, 'zstd', (e as Error).message);
    }
  };
  let any = false;
  for await (const c of raw) {
    any = true;
    push(c, false);
    if (out.length > 0) {
      const ready = out;
      out = [];
      yield* ready;
    }
  }
  if (!any) throw corrupt(file, 'zstd', 'the file is empty');
  push(new Uint8Array(0), true);
  yield* out;
  // fzstd signals the end of the last complete frame; without it the file stopped mid-frame.
  if (!ended) throw corrupt(file, 'zstd', 'unexpected end of data');
}
