/**
 * Big test corpora for `growbert bench-data`: the built-in corpora repeated, each repetition in
 * another order, until a target size, written as plain text (documents separated by blank
 * lines), gzip-compressed JSONL or Parquet. Written as a stream: memory stays small whatever
 * the size, so the benchmark measures ingestion, not generation.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { ParquetWriter, fileWriter, schemaFromColumnData } from 'hyparquet-writer';
import { readCorpus } from './corpus.js';
import { Rng } from './rng.js';

export type SyntheticFormat = 'txt' | 'jsonl.gz' | 'parquet';
export const SYNTHETIC_FORMATS: readonly SyntheticFormat[] = ['txt', 'jsonl.gz', 'parquet'];

export interface SyntheticCorpus {
  file: string;
  /** Bytes of text (UTF-8) written, before any compression. */
  textBytes: number;
  /** Bytes of the file on disk. */
  fileBytes: number;
  docs: number;
}

/** Documents in varied order until `textBytes` bytes of UTF-8 text; each repetition reshuffled. */
async function* documents(textBytes: number, seed: number): AsyncGenerator<string> {
  const base = (await readCorpus()).map((d) => d.text.replace(/\n\s*\n/g, '\n').trim());
  let written = 0;
  for (let rep = 0; written < textBytes; rep++) {
    const order = Rng.fromSeed(seed, 'bench-data', rep).permutation(base.length);
    for (let i = 0; i < order.length && written < textBytes; i++) {
      const t = base[order[i]!]!;
      written += Buffer.byteLength(t) + 2;
      yield t;
    }
  }
}

/** Write a corpus of about `textBytes` bytes of text to `file` in `format`. */
export async function writeSyntheticCorpus(
  file: string,
  format: SyntheticFormat,
  textBytes: number,
  seed = 0,
): Promise<SyntheticCorpus> {
  let bytes = 0;
  let docs = 0;
  if (format === 'parquet') {
    const writer = fileWriter(file);
    let pw: ParquetWriter | undefined;
    let group: string[] = [];
    const flush = (): void => {
      if (group.length === 0) return;
      const columnData = [{ name: 'text', data: group, type: 'STRING' as const }];
      pw ??= new ParquetWriter({ writer, schema: schemaFromColumnData({ columnData }), statistics: false });
      pw.write({ columnData, rowGroupSize: group.length });
      group = [];
    };
    for await (const t of documents(textBytes, seed)) {
      group.push(t);
      bytes += Buffer.byteLength(t);
      docs++;
      if (group.length === 500) flush();
    }
    flush();
    pw?.finish();
  } else {
    const out = fs.createWriteStream(file);
    const gz = format === 'jsonl.gz' ? zlib.createGzip({ level: 1 }) : undefined;
    if (gz) gz.pipe(out);
    const sink = gz ?? out;
    const done = new Promise<void>((resolve, reject) => {
      out.on('finish', resolve);
      out.on('error', reject);
    });
    for await (const t of documents(textBytes, seed)) {
      const s = format === 'txt' ? `${t}\n\n` : `${JSON.stringify({ text: t })}\n`;
      bytes += Buffer.byteLength(s);
      docs++;
      if (!sink.write(s)) await new Promise<void>((r) => sink.once('drain', r));
    }
    sink.end();
    await done;
  }
  return { file, textBytes: bytes, fileBytes: fs.statSync(file).size, docs };
}
