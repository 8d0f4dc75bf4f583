/**
 * The text a tokenizer is trained on, for corpora of any size: a bounded, deterministic sample
 * of training documents (never validation ones), not the whole corpus in memory.
 *
 * Each input file gives its first training documents up to its share of the budget, in
 * proportion to its size, so a corpus of many files (Wikipedia dumps, Hugging Face shards) is
 * sampled across all of them while only the budget is read. A corpus within the budget is taken
 * whole, which is exactly what growbert trained on before sampling existed.
 */
import { streamCorpus, fileDocuments, type CorpusOptions, type CorpusSource, type Document } from './corpus.js';
import { splitKey } from './split.js';

/** Default sample budget in characters (~32 MB of text: a few seconds of tokenizer training). */
export const DEFAULT_TOKENIZER_SAMPLE = 32_000_000;

export interface TokenizerSample {
  docs: Document[];
  chars: number;
  /** True when every training document is in the sample. */
  complete: boolean;
  /** One line for the log. */
  report: string;
}

const NON_SPACE = /\S/;

export async function sampleTrainingDocuments(
  source: CorpusSource,
  opts: { corpus?: CorpusOptions; validationFraction: number; splitSeed?: number | string; maxChars?: number },
): Promise<TokenizerSample> {
  const maxChars = opts.maxChars ?? DEFAULT_TOKENIZER_SAMPLE;
  const whole = source.totalBytes <= maxChars;
  const docs: Document[] = [];
  let chars = 0;
  let complete = true;
  for (const f of source.files) {
    const budget = whole ? Infinity : Math.max(1, (maxChars * f.bytes) / source.totalBytes);
    const stream = f.file.startsWith('stdlib:')
      ? streamCorpus([f.file])
      : fileDocuments(f.file, { ...opts.corpus, onRawBytes: undefined });
    let taken = 0;
    for await (const d of stream) {
      if (!NON_SPACE.test(d.text) || splitKey(d.text, opts.splitSeed ?? 0) < opts.validationFraction) continue;
      if (taken >= budget) {
        complete = false;
        break; // leaving the loop closes the file
      }
      // A document longer than what is left of the budget (a whole book on one line) is cut at a
      // space: the sample stays within its budget, in memory and in training time.
      const room = Math.max(1, Math.floor(budget - taken));
      const space = d.text.lastIndexOf(' ', room);
      const text = d.text.length <= room ? d.text : d.text.slice(0, space > room / 2 ? space : room);
      docs.push(text === d.text ? d : { ...d, text });
      taken += text.length;
    }
    chars += taken;
  }
  const mb = (n: number): string => (n / 1e6).toFixed(1);
  const report = complete
    ? `tokenizer trained on all ${docs.length} training documents (${mb(chars)}M characters)`
    : `tokenizer trained on a sample: ${docs.length} training documents, ${mb(chars)}M characters of ${mb(source.totalBytes)} MB of input ` +
      `(the first documents of each file, in proportion to its size; budget ${mb(maxChars)}M)`;
  return { docs, chars, complete, report };
}
