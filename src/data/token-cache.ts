/**
 * Tokenize a corpus once into binary shards, and read token slices back on demand.
 *
 * Layout of a cache folder:
 *   shard-00000.bin       int32 little-endian token ids, the shard's documents concatenated
 *   shard-00000.docs.bin  int32 little-endian offsets: start of each document, then the end
 *   manifest.json         content hash, per-shard counts, totals; written last
 *
 * The manifest is deleted before a rebuild and written (atomically) only after every shard is
 * in place, and opening checks shard sizes against it, so a half-built cache is never trusted.
 * The hash covers the tokenizer's fingerprint, the document texts and the layout options: an
 * unchanged corpus reuses the cache, any change rebuilds it.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GrowbertError } from '../io/errors.js';
import { atomicWriteFile, atomicWriteWith, writeAll } from '../io/atomic.js';
import { ProgressBar } from '../io/progress.js';
import { corpusHash, type Document } from './corpus.js';

const FORMAT = 'growbert-token-cache';
const VERSION = 1;
const MANIFEST = 'manifest.json';

/** What the cache needs from a tokenizer (a `BertTokenizer` fits). */
export interface CacheTokenizer {
  readonly fingerprint: string;
  encodeBatch(texts: readonly string[]): Promise<Int32Array[]>;
}

export interface ShardInfo {
  /** File stem: `shard-00000` -> `shard-00000.bin` and `shard-00000.docs.bin`. */
  name: string;
  /** sha256 of its tokens and document offsets (caches built before it have none). */
  sha256?: string;
  docs: number;
  tokens: number;
}

export interface TokenCacheManifest {
  format: typeof FORMAT;
  version: number;
  hash: string;
  tokenizer: string;
  numDocs: number;
  numTokens: number;
  /** Documents that produced no tokens (e.g. only control characters) and were left out. */
  skippedDocs: number;
  shardTokens: number;
  shards: ShardInfo[];
  /**
   * What the cache holds, by content: the tokenizer and every shard's sha256. Equal wherever and
   * from whichever paths the same documents were tokenized, unlike `hash`, which also keys on the
   * files' paths and times; a resume compares this one (absent in caches built before it).
   */
  content?: string;
  createdAt: string;
}

export interface TokenCacheOptions {
  dir: string;
  docs: readonly Document[];
  tokenizer: CacheTokenizer;
  /** A shard is closed once it holds at least this many tokens (default 2^24, 64 MiB). */
  shardTokens?: number;
  /** Draw a progress bar on stderr: default only when stderr is a TTY. */
  progress?: boolean;
  /** Characters handed to one encodeBatch call (default 2M): big enough to keep its threads busy. */
  batchChars?: number;
}

/** The hash a cache for these inputs carries; equal hashes mean identical token shards. */
export function tokenCacheHash(
  docs: readonly Document[],
  tokenizer: { fingerprint: string },
  shardTokens: number,
): string {
  return crypto
    .createHash('sha256')
    .update(`${FORMAT} v${VERSION}\u0000${tokenizer.fingerprint}\u0000${shardTokens}\u0000${corpusHash(docs)}`)
    .digest('hex');
}

/** Open the cache in `opts.dir` if it matches the inputs, else (re)build it. */
export async function ensureTokenCache(opts: TokenCacheOptions): Promise<TokenCache> {
  const shardTokens = checkShardTokens(opts.shardTokens ?? 1 << 24);
  const hash = tokenCacheHash(opts.docs, opts.tokenizer, shardTokens);
  const existing = TokenCache.tryOpen(opts.dir, hash);
  if (existing) return existing;
  await buildTokenCache({ ...opts, shardTokens }, hash);
  const cache = TokenCache.open(opts.dir, hash);
  cache.rebuilt = true;
  return cache;
}

export function checkShardTokens(n: number): number {
  // Offsets are int32: keep shards well inside that.
  if (!(Number.isInteger(n) && n >= 1 && n <= 2 ** 30))
    throw new GrowbertError(`shard size ${n} tokens is out of range; use 1 .. 2^30`);
  return n;
}

function checkEndianness(): void {
  if (os.endianness() !== 'LE')
    throw new GrowbertError('token caches are little-endian; this machine is big-endian and cannot use them');
}

const shardName = (i: number): string => `shard-${String(i).padStart(5, '0')}`;

async function buildTokenCache(opts: TokenCacheOptions & { shardTokens: number }, hash: string): Promise<void> {
  const { dir, docs, tokenizer, shardTokens } = opts;
  const writer = new ShardWriter(dir, shardTokens);
  const bar = new ProgressBar({
    total: docs.length,
    label: `tokenizing ${path.basename(dir)}`,
    unit: 'docs',
    enabled: opts.progress,
  });
  const batchChars = opts.batchChars ?? 2_000_000;
  for (let i = 0; i < docs.length;) {
    let j = i;
    let chars = 0;
    while (j < docs.length && (j === i || chars + docs[j]!.text.length <= batchChars)) chars += docs[j++]!.text.length;
    const encoded = await tokenizer.encodeBatch(docs.slice(i, j).map((d) => d.text));
    for (const ids of encoded) if (writer.add(ids)) writer.flush();
    bar.update(j);
    i = j;
  }
  bar.finish();
  writer.finish(hash, tokenizer.fingerprint);
}

/**
 * Appends documents' token ids to a cache folder, writing a shard (atomically) whenever one
 * fills, and the manifest last. Holds at most one shard's tokens in memory. A writer can start
 * from shards an interrupted build left complete (`resumeFrom`), for resumable builds.
 */
export class ShardWriter {
  readonly shards: ShardInfo[];
  numTokens: number;
  skipped: number;
  private chunks: Int32Array[] = [];
  private starts: number[] = [];
  private shardTok = 0;

  constructor(
    readonly dir: string,
    readonly shardTokens: number,
    resumeFrom?: { shards: ShardInfo[]; skipped: number },
  ) {
    checkEndianness();
    checkShardTokens(shardTokens);
    fs.mkdirSync(dir, { recursive: true });
    // Invalidate first: from here until the new manifest lands, the folder is not a cache.
    fs.rmSync(path.join(dir, MANIFEST), { force: true });
    this.shards = resumeFrom ? resumeFrom.shards.map((s) => ({ ...s })) : [];
    this.numTokens = this.shards.reduce((n, s) => n + s.tokens, 0);
    this.skipped = resumeFrom?.skipped ?? 0;
  }

  /** Tokens waiting for the next shard. */
  get pendingTokens(): number {
    return this.shardTok;
  }

  /** Append one document; empty ones are counted and left out. True when the shard is full. */
  add(ids: Int32Array): boolean {
    if (ids.length === 0) {
      this.skipped++;
      return false;
    }
    this.starts.push(this.shardTok);
    this.chunks.push(ids);
    this.shardTok += ids.length;
    this.numTokens += ids.length;
    return this.shardTok >= this.shardTokens;
  }

  /** Write the pending documents as the next shard (nothing when none are pending). */
  flush(): void {
    if (this.starts.length === 0) return;
    const name = shardName(this.shards.length);
    const chunks = this.chunks;
    atomicWriteWith(path.join(this.dir, `${name}.bin`), (fd) => {
      for (const c of chunks) writeAll(fd, new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
    });
    const offsets = Int32Array.from([...this.starts, this.shardTok]);
    atomicWriteFile(path.join(this.dir, `${name}.docs.bin`), new Uint8Array(offsets.buffer));
    const h = crypto.createHash('sha256');
    for (const c of chunks) h.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
    h.update(new Uint8Array(offsets.buffer));
    this.shards.push({ name, docs: this.starts.length, tokens: this.shardTok, sha256: h.digest('hex') });
    this.chunks = [];
    this.starts = [];
    this.shardTok = 0;
  }

  /** Flush, drop shards of an earlier bigger build, and write the manifest: the cache is complete. */
  finish(hash: string, tokenizerFingerprint: string, allowEmpty = false): TokenCacheManifest {
    this.flush();
    const keep = new Set(this.shards.flatMap((s) => [`${s.name}.bin`, `${s.name}.docs.bin`]));
    for (const f of fs.readdirSync(this.dir)) {
      if (/^shard-\d+(\.docs)?\.bin$/.test(f) && !keep.has(f)) fs.rmSync(path.join(this.dir, f), { force: true });
    }
    if (this.numTokens === 0 && !allowEmpty)
      throw new GrowbertError(`corpus for token cache '${this.dir}' produced no tokens; give a corpus with text`);
    const manifest: TokenCacheManifest = {
      format: FORMAT,
      version: VERSION,
      hash,
      tokenizer: tokenizerFingerprint,
      numDocs: this.shards.reduce((n, s) => n + s.docs, 0),
      numTokens: this.numTokens,
      skippedDocs: this.skipped,
      shardTokens: this.shardTokens,
      shards: this.shards,
      ...(this.shards.every((sh) => sh.sha256) && {
        content: crypto
          .createHash('sha256')
          .update(`${tokenizerFingerprint}\u0000${this.shards.map((sh) => sh.sha256).join(',')}`)
          .digest('hex'),
      }),
      createdAt: new Date().toISOString(),
    };
    atomicWriteFile(path.join(this.dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  }
}

/**
 * Random access to a built cache: the document offsets live in memory (4 bytes per document),
 * tokens stay on disk and are read per request, so training reads only the rows it packs.
 */
export class TokenCache {
  readonly numDocs: number;
  readonly numTokens: number;
  /** True when `ensureTokenCache` had to build it (false when an existing cache was reused). */
  rebuilt = false;
  /** First document of each shard, and numDocs at the end (for a binary search). */
  private readonly shardFirstDoc: Int32Array;
  /** Per shard: token offsets of its documents and its end (4 bytes per document in memory). */
  private readonly offsets: Int32Array[];
  private lastShard = 0;
  private readonly fds: (number | undefined)[];

  private constructor(
    readonly dir: string,
    readonly manifest: TokenCacheManifest,
  ) {
    this.numDocs = manifest.numDocs;
    this.numTokens = manifest.numTokens;
    this.shardFirstDoc = new Int32Array(manifest.shards.length + 1);
    this.fds = new Array(manifest.shards.length);
    this.offsets = manifest.shards.map((s, si) => {
      this.shardFirstDoc[si + 1] = this.shardFirstDoc[si]! + s.docs;
      const buf = fs.readFileSync(path.join(dir, `${s.name}.docs.bin`));
      return new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    });
  }

  /** The shard holding `doc` (documents are read in runs, so the last answer is tried first). */
  private shardOf(doc: number): number {
    const f = this.shardFirstDoc;
    let si = this.lastShard;
    if (doc >= f[si]! && doc < f[si + 1]!) return si;
    let lo = 0;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (f[mid]! <= doc) lo = mid;
      else hi = mid - 1;
    }
    si = lo;
    this.lastShard = si;
    return si;
  }

  /** Open the cache in `dir`; with `expectedHash`, refuse a cache built from other inputs. */
  static open(dir: string, expectedHash?: string): TokenCache {
    const problem = TokenCache.check(dir, expectedHash);
    if (typeof problem === 'string')
      throw new GrowbertError(`token cache '${dir}' ${problem}; rebuild it (delete the folder and rerun)`);
    return new TokenCache(dir, problem);
  }

  /** Like `open`, but undefined instead of an error when the cache is missing, stale or broken. */
  static tryOpen(dir: string, expectedHash?: string): TokenCache | undefined {
    const m = TokenCache.check(dir, expectedHash);
    return typeof m === 'string' ? undefined : new TokenCache(dir, m);
  }

  /** The manifest if the folder is a complete cache (matching `expectedHash`), else why not. */
  private static check(dir: string, expectedHash?: string): TokenCacheManifest | string {
    checkEndianness();
    let m: TokenCacheManifest;
    try {
      m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8'));
    } catch {
      return 'has no readable manifest.json';
    }
    if (m.format !== FORMAT || m.version !== VERSION || !Array.isArray(m.shards))
      return `has an unknown format (${m.format} v${m.version})`;
    if (expectedHash !== undefined && m.hash !== expectedHash)
      return 'was built from another corpus, tokenizer or options';
    for (const s of m.shards) {
      const size = (f: string): number => fs.statSync(path.join(dir, f), { throwIfNoEntry: false })?.size ?? -1;
      if (size(`${s.name}.bin`) !== s.tokens * 4 || size(`${s.name}.docs.bin`) !== (s.docs + 1) * 4) {
        return `has a missing or truncated ${s.name}`;
      }
    }
    return m;
  }

  docLength(doc: number): number {
    this.checkDoc(doc);
    const si = this.shardOf(doc);
    const k = doc - this.shardFirstDoc[si]!;
    const offs = this.offsets[si]!;
    return offs[k + 1]! - offs[k]!;
  }

  /** Token counts of all documents (a copy). */
  docLengths(): Int32Array {
    const out = new Int32Array(this.numDocs);
    let d = 0;
    for (const offs of this.offsets) for (let k = 0; k + 1 < offs.length; k++) out[d++] = offs[k + 1]! - offs[k]!;
    return out;
  }

  /** Tokens [start, end) of document `doc`, read from disk into a fresh array (or into `into`). */
  readTokens(doc: number, start = 0, end?: number, into?: Int32Array): Int32Array {
    const len = this.docLength(doc);
    const e = Math.min(end ?? len, len);
    const s = Math.max(0, Math.min(start, e));
    const n = e - s;
    if (into && into.length < n) throw new RangeError(`readTokens: buffer of ${into.length} < ${n} tokens`);
    const out = into ? into.subarray(0, n) : new Int32Array(n);
    if (n === 0) return out;
    const si = this.shardOf(doc);
    const docStart = this.offsets[si]![doc - this.shardFirstDoc[si]!]!;
    let fd = this.fds[si];
    if (fd === undefined)
      fd = this.fds[si] = fs.openSync(path.join(this.dir, `${this.manifest.shards[si]!.name}.bin`), 'r');
    const bytes = new Uint8Array(out.buffer, out.byteOffset, n * 4);
    let got = 0;
    const pos = (docStart + s) * 4;
    while (got < bytes.length) {
      const r = fs.readSync(fd, bytes, got, bytes.length - got, pos + got);
      if (r === 0)
        throw new GrowbertError(`token cache '${this.dir}' shard ${si} ended early; delete the folder to rebuild it`);
      got += r;
    }
    return out;
  }

  /** Close shard files (reads reopen them). */
  close(): void {
    for (let i = 0; i < this.fds.length; i++) {
      const fd = this.fds[i];
      if (fd !== undefined) fs.closeSync(fd);
      this.fds[i] = undefined;
    }
  }

  private checkDoc(doc: number): void {
    if (!(Number.isInteger(doc) && doc >= 0 && doc < this.numDocs))
      throw new RangeError(`document ${doc} is outside 0..${this.numDocs - 1}`);
  }
}
