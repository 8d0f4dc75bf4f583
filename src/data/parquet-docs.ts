/**
 * Documents from a Parquet file (the format Hugging Face datasets are stored in), one row group
 * at a time, only the text column: memory holds one row group's texts, not the file.
 *
 * Reader: `hyparquet` (pure JavaScript, maintained) with `hyparquet-compressors` for the codecs
 * datasets use (snappy, gzip, zstd, brotli, lz4).
 */
import * as fs from 'node:fs';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { GrowbertError } from '../io/errors.js';
import { checkRegularFile } from '../io/input-file.js';
import type { Document } from './corpus.js';
import { warnMissingTexts, type DocStreamOptions } from './doc-stream.js';
import { fieldValue, topColumn } from './field-path.js';

const utf8 = new TextDecoder();

function corrupt(file: string, why: string): GrowbertError {
  return new GrowbertError(
    `'${file}' is not a readable Parquet file (${why}); re-download or rewrite it, or leave it out`,
  );
}

export async function* parquetDocuments(file: string, opts: DocStreamOptions = {}): AsyncGenerator<Document> {
  const field = opts.textField ?? 'text';
  let buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>;
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  checkRegularFile(file, 'data file'); // a FIFO or device is refused before it is opened
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code)
      throw new GrowbertError(
        `cannot read '${file}' (${(e as NodeJS.ErrnoException).code}); check that it exists and is readable`,
      );
    throw corrupt(file, (e as Error).message);
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  // a dotted field reads its top-level (struct) column and walks into it
  const column = topColumn(columns, field);
  if (column === undefined) {
    throw new GrowbertError(
      `'${file}' has no column "${field}" (it has ${columns.join(', ')}); name the text column with --text-field (a.b for a struct field)`,
    );
  }
  let rowStart = 0;
  let read = 0;
  const missing: number[] = []; // rows whose text is null: skipped, and said so at the end
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, columns: [column], rowStart, rowEnd, compressors });
    } catch (e) {
      throw corrupt(file, (e as Error).message);
    }
    // Progress counts the file's bytes: a row group's compressed size is what was read.
    read += Number(group.total_compressed_size ?? 0);
    opts.onRawBytes?.(Math.min(read, buffer.byteLength));
    for (let i = 0; i < rows.length; i++) {
      let text = fieldValue(rows[i], field);
      if (text instanceof Uint8Array) text = utf8.decode(text); // a binary column without the UTF8 annotation
      if (text === null || text === undefined) {
        missing.push(rowStart + i + 1); // a missing value: no document
        continue;
      }
      if (typeof text !== 'string') {
        throw new GrowbertError(
          `${file}: row ${rowStart + i + 1}: "${field}" holds ${typeof text}, not text; name the text column with --text-field (a.b for a struct field)`,
        );
      }
      yield { source: `${file}:row ${rowStart + i + 1}`, text };
    }
    rowStart = rowEnd;
  }
  warnMissingTexts(opts, file, field, 'row', missing);
  opts.onRawBytes?.(fs.statSync(file).size);
}
