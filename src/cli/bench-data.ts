// `growbert bench-data`: ingestion end to end on a generated corpus (the built-in corpora repeated
// in varied order, as one big file of plain text, gzip JSONL or Parquet): tokenizer training on
// its bounded sample, then the streaming split and tokenization into token caches. Reports MB/s
// of text, peak RSS and the padding fraction of both packings; the JSON line comes last.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { GrowbertError } from '../io/errors.js';
import { positiveInt } from './args.js';
import { SYNTHETIC_FORMATS, writeSyntheticCorpus, type SyntheticFormat } from '../data/synthetic-corpus.js';
import { paddingReport, prepareCorpus } from '../train/data.js';
import { paddingFraction } from '../data/packing.js';

interface BenchDataOpts {
  size: string;
  format: string;
  data?: string[];
  docPerLine?: boolean;
  textField: string;
  work?: string;
  keep?: boolean;
  seqLength: string;
  vocabSize: string;
  tokenizerSample: string;
  json?: boolean;
}

export function registerBenchData(program: Command): void {
  program
    .command('bench-data')
    .description('ingest a generated corpus end to end into a token cache: MB/s, peak RSS, padding fraction')
    .option(
      '--size <GiB>',
      "text to generate, in GiB (2 is the benchmark; over 0.5 is also over V8's string limit)",
      '2',
    )
    .option('--format <f>', `generated file format: ${SYNTHETIC_FORMATS.join(', ')}`, 'txt')
    .option('--data <spec...>', 'ingest this corpus instead of generating one')
    .option('--doc-per-line', 'with --data: one document per line')
    .option('--text-field <name>', 'with --data: JSONL / Parquet text field', 'text')
    .option(
      '--work <dir>',
      'folder for the generated corpus and caches (default: a new folder in the temp dir, removed after)',
    )
    .option('--keep', 'keep the work folder')
    .option('--seq-length <n>', 'sequence length for the padding fractions', '128')
    .option('--vocab-size <n>', 'vocabulary size', '30522')
    .option('--tokenizer-sample <chars>', 'characters the tokenizer learns from', '32000000')
    .option('--json', 'print the result as one JSON line last')
    .action((o: BenchDataOpts) => benchData(o));
}

async function benchData(o: BenchDataOpts): Promise<void> {
  const gib = Number(o.size);
  if (!(gib > 0)) throw new GrowbertError(`--size ${o.size}: give a positive number of GiB, e.g. 0.5 or 2`);
  if (!SYNTHETIC_FORMATS.includes(o.format as SyntheticFormat))
    throw new GrowbertError(`--format ${o.format}: use ${SYNTHETIC_FORMATS.join(', ')}`);
  const seqLength = positiveInt(o.seqLength, 'seq-length');
  const ownWork = o.work === undefined;
  const work = o.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-bench-data-'));
  fs.mkdirSync(work, { recursive: true });
  try {
    let specs: string[];
    let textBytes: number | undefined;
    let generated: { file: string; docs: number; fileBytes: number; seconds: number } | undefined;
    if (o.data) {
      specs = o.data;
    } else {
      const file = path.join(work, `corpus.${o.format}`);
      console.error(`generating ${gib} GiB of text as ${file} ...`);
      const t0 = performance.now();
      const g = await writeSyntheticCorpus(file, o.format as SyntheticFormat, Math.round(gib * 2 ** 30));
      generated = { file, docs: g.docs, fileBytes: g.fileBytes, seconds: (performance.now() - t0) / 1000 };
      textBytes = g.textBytes;
      specs = [file];
      console.error(
        `generated ${g.docs} documents, ${(g.textBytes / 2 ** 20).toFixed(0)} MiB of text, ${(g.fileBytes / 2 ** 20).toFixed(0)} MiB on disk in ${generated.seconds.toFixed(0)}s`,
      );
    }
    const rssBefore = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let tokenizerSeconds = 0;
    const corpus = await prepareCorpus(
      {
        specs,
        docPerLine: o.docPerLine ?? false,
        textField: o.textField,
        validationFraction: 0.02,
        vocabSize: positiveInt(o.vocabSize, 'vocab-size'),
        cacheDir: path.join(work, 'cache'),
        tokenizerSample: positiveInt(o.tokenizerSample, 'tokenizer-sample'),
      },
      undefined,
      (line) => {
        // The tokenizer's line is said when its training ends: the first phase's time.
        if (/tokenizer trained/.test(line)) tokenizerSeconds = (performance.now() - t0) / 1000;
        console.error(line);
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const inputBytes = specs.reduce((n, s) => n + (fs.statSync(s, { throwIfNoEntry: false })?.size ?? 0), 0);
    const bytes = textBytes ?? inputBytes;
    const base = {
      seqLen: seqLength,
      specialIds: corpus.tokenizer.specialIds,
      continuation: corpus.tokenizer.continuationTable(),
    };
    const result = {
      format: o.data ? 'given' : o.format,
      textMiB: Number((bytes / 2 ** 20).toFixed(1)),
      fileMiB: Number((inputBytes / 2 ** 20).toFixed(1)),
      docs: corpus.train.numDocs + corpus.validation.numDocs,
      tokens: corpus.train.numTokens + corpus.validation.numTokens,
      seconds: Number(seconds.toFixed(1)),
      mbPerSecond: Number((bytes / 1e6 / seconds).toFixed(2)),
      tokenizerSeconds: Number(tokenizerSeconds.toFixed(1)),
      // CPU time of this process (all its threads; not the tokenizer trainer's child process):
      // on a shared machine, MB per CPU-second says more than MB per wall-clock second.
      cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)),
      peakRssMiB: Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20),
      rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
      paddingDocument: Number(paddingFraction(corpus.train, { ...base, packing: 'document' }).toFixed(4)),
      paddingFull: Number(paddingFraction(corpus.train, { ...base, packing: 'full' }).toFixed(4)),
      cpus: os.availableParallelism?.() ?? os.cpus().length,
    };
    console.log(`data: ${corpus.report}`);
    console.log(`data: ${paddingReport(corpus, { seqLength, nsp: false, packing: 'full' })}`);
    console.log(
      `ingested ${result.textMiB} MiB of text (${result.docs} documents, ${result.tokens} tokens) in ${result.seconds}s: ` +
        `${result.mbPerSecond} MB/s, peak RSS ${result.peakRssMiB} MiB (the tokenizer trainer's child process not included)`,
    );
    corpus.train.close();
    corpus.validation.close();
    if (o.json) console.log(JSON.stringify(result));
  } finally {
    if (ownWork && !o.keep) fs.rmSync(work, { recursive: true, force: true });
  }
}
