// The growbert side of test/export/interop.test.ts: the jobs handed to test/python/interop.py (one
// Python process for all of them), and the comparisons of their answers with growbert's.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BertTokenizer, longestFirst } from '../../src/data/tokenizer.js';
import { parquetDocuments } from '../../src/data/parquet-docs.js';
import { hfTokenizer } from '../../src/export/hf-import.js';
import { noGrad, tensor, tidy } from '../../src/tensor/index.js';
import { MetricsLog } from '../../src/train/metrics-log.js';
import { EVAL_TAGS, GROW_TAGS, TRAIN_TAGS, lineKind } from '../../src/train/tensorboard.js';
import { RunDir, loadRunModel } from '../../src/train/run-dir.js';
import { hfFixture } from '../helpers/hf-fixtures.js';
import { beforeGrowthFlags } from '../helpers/tfevents-reader.js';

export type PyResult = Record<string, unknown> & { error?: string };

/** Token ids [2, 12] for every model: below 63 (the fixture vocabulary), never the pad id 0. */
export const IDS = [
  [2, 15, 33, 41, 3, 7, 50, 42, 11, 60, 20, 3],
  [2, 44, 4, 13, 57, 19, 3, 8, 8, 12, 35, 3],
];

const idsTensor = (ids: number[][]) =>
  tensor(BigInt64Array.from(ids.flat(), BigInt), { shape: [ids.length, ids[0]!.length] });

/** growbert's masked-LM logits on `ids` for a run (flattened float32). */
export function ourLogits(run: string, ids: number[][] = IDS): number[] {
  const { model } = loadRunModel(run);
  try {
    model.eval();
    const t = idsTensor(ids);
    const out = tidy(() => noGrad(() => model.forward({ inputIds: t }).logits.toArray()));
    t.dispose();
    return out;
  } finally {
    model.dispose();
  }
}

export function maxAbs(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length, 'logit counts differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Strings where tokenizers disagree when they differ at all: case, accents, CJK, punctuation, controls. */
export const STRESS = [
  'Call me Ishmael. Some years ago -- never mind how long precisely -- having little money',
  'THE WHALE, the Whale, tHe wHaLe!',
  'naïve café résumé Ångström ÉCOLE über straße',
  'Ahab\u00a0stood\tat the\u2003helm\u200b; "quoted" (parens) [brackets] {braces}',
  '中文字符 and 日本語 mixed with 한국어 text',
  'emoji 🐳🐋 and symbols ©®™ ½ ¾ — – … ‘single’ “double”',
  'numbers 1,234.56 and 3rd 21st 1851',
  "don't can't won't it's o'clock",
  'the [MASK] sat on the [SEP] mat [CLS]',
  'a\u0301 e\u0300 combining marks and \u00df ligature ﬁ',
  'tabs\tand\nnewlines\r\nand   spaces',
  '',
  'x'.repeat(150),
  'Queequeg! Starbuck? Stubb; Flask: Pequod...',
];

/**
 * Pairs for longest_first truncation: odd and even budgets (the spare token of an odd one goes to
 * the longer text, to the second on a tie), one text much longer than the other, equal lengths,
 * an empty text, a budget smaller than either.
 */
export const PAIRS: [string, string, number][] = [8, 11, 16, 17, 24, 64].flatMap((n) =>
  STRESS.slice(0, 7).map((a, i): [string, string, number] => [a, STRESS[(i + 3) % STRESS.length]!, n]),
);
PAIRS.push([STRESS[0]!, STRESS[0]!, 17], [STRESS[1]!, STRESS[1]!, 16], [STRESS[0]!, '', 9], ['', STRESS[2]!, 9]);

/** [la, lb, maxLength] over lengths around every case of the rule (equal, shorter, longer than the budget). */
const GRID: [number, number, number][] = [0, 1, 2, 3, 5, 8, 13, 21].flatMap((la) =>
  [1, 2, 3, 5, 8, 13, 21].flatMap((lb) =>
    Array.from({ length: 20 }, (_, i): [number, number, number] => [la, lb, i + 3]),
  ),
);

/** Tokens named like Object properties, which a plain-object vocabulary used to lose. */
const PROTO_VOCAB = [
  ...['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'],
  ...'abcdefghijklmnopqrstuvwxyz_'.split(''),
  ...['constructor', '__proto__', 'tostring', 'valueof', 'hasownproperty', 'whale', '##s', '##proto'],
];
const PROTO_TEXTS = ['constructor whales', 'the __proto__ of a whale', 'toString valueOf hasOwnProperty'];

/** growbert's pairs equal transformers' longest_first; its Object-named tokens equal AutoTokenizer's ids. */
function pairsAgree(root: string, r: PyResult, proto: PyResult): void {
  const tok = new RunDir(path.join(root, 'grown')).loadTokenizer();
  const got = r.pairs as { ids: number[]; types: number[] }[];
  PAIRS.forEach(([a, b, n], i) => {
    const ours = tok.encodePair(a, b, n);
    const what = `pair ${i} at max_length ${n}: ${JSON.stringify([a.slice(0, 20), b.slice(0, 20)])}`;
    assert.deepEqual([...ours.ids], got[i]!.ids, what);
    assert.deepEqual([...ours.typeIds], got[i]!.types, what);
  });
  const grid = r.grid as [number, number][];
  // one-token words: each text is first cut to min(length, n)
  GRID.forEach(([la, lb, n], i) =>
    assert.deepEqual(longestFirst(Math.min(la, n), Math.min(lb, n), n), grid[i], `${la} ${lb} at ${n}`),
  );
  const mine = BertTokenizer.fromFile(path.join(root, 'proto-tok'));
  PROTO_TEXTS.forEach((t, i) => assert.deepEqual(withSpecials(mine, t), (proto.ids as number[][])[i], t));
  assert.ok(mine.tokenToId('constructor')! > 0 && mine.tokenToId('__proto__')! > 0);
}

/** A cased WordPiece vocabulary: both cases of a few words, letters and continuation pieces. */
function writeCasedVocab(file: string): void {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const words = ['The', 'the', 'Whale', 'whale', 'Ahab', 'ahab', 'Call', 'me', 'THE', 'WHALE', 'é', 'É', 'ü'];
  const vocab = [
    ...['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'],
    ...'.,!?;:\'"()-'.split(''),
    ...letters.split(''),
    ...letters.toUpperCase().split(''),
    ...letters.split('').map((c) => `##${c}`),
    ...letters
      .toUpperCase()
      .split('')
      .map((c) => `##${c}`),
    ...words,
  ];
  fs.writeFileSync(file, [...new Set(vocab)].join('\n') + '\n');
}

/** Exports the runs, writes the inputs, and lists the Python jobs (each with an `id`). */
function prepare(
  root: string,
  ids: number[][],
  o: { exportRunToHf: (run: string, out: string) => unknown },
): { jobs: Record<string, unknown>[] } {
  const at = (...p: string[]) => path.join(root, ...p);
  const jobs: Record<string, unknown>[] = [{ id: 'versions', job: 'versions' }];
  for (const run of ['post', 'grown', 'pooled', 'factorized', 'pre', 'prenorm']) {
    o.exportRunToHf(at(run), at(`hf-${run}`));
    jobs.push({ id: `logits:${run}`, job: 'logits', dir: at(`hf-${run}`), ids });
  }
  jobs.push({ id: 'fill:prenorm', job: 'fill_mask', dir: at('hf-prenorm'), text: 'the whale [MASK] the sea.' });
  jobs.push({ id: 'clf:prenorm', job: 'base_hidden', dir: at('hf-prenorm'), ids });
  // the class that gave wrong logits with only a warning when pre-LN exports used BERT's names
  jobs.push({ id: 'bert-class:prenorm', job: 'logits', cls: 'BertForMaskedLM', dir: at('hf-prenorm'), ids });
  const vocab = hfFixture('tokenizer', 'vocab.txt');
  const saves: [string, string, string][] = [
    ['sharded', 'sharded', 'bert'],
    ['bf16', 'bf16', 'bert'],
    ['untied', 'untied', 'bert'],
    ['untied-equal', 'untied-equal', 'bert'],
    ['prenorm', 'mlm', 'prenorm'],
    ['classification-bert', 'classification', 'bert'],
    ['classification-prenorm', 'classification', 'prenorm'],
  ];
  for (const [name, kind, arch] of saves)
    jobs.push({ id: `save:${name}`, job: 'save', kind, arch, vocab, out: at(`saved-${name}`), ids, seed: 7 });
  jobs.push({ id: 'tok:export', job: 'tokenize', dir: at('hf-grown'), texts: STRESS, encode_with_tokenizers: true });
  const cased = at('cased-tok');
  fs.mkdirSync(cased, { recursive: true });
  writeCasedVocab(path.join(cased, 'vocab.txt'));
  jobs.push({ id: 'tok:cased', job: 'tokenize', dir: cased, vocab: path.join(cased, 'vocab.txt'), make_cased: true });
  jobs.at(-1)!.texts = STRESS;
  jobs.push({ id: 'pairs', job: 'pairs', dir: at('hf-grown'), pairs: PAIRS, grid: GRID });
  // a vocabulary with tokens named like Object properties, saved by growbert, read by transformers
  BertTokenizer.fromVocab(PROTO_VOCAB).save(at('proto-tok'));
  jobs.push({ id: 'tok:proto', job: 'tokenize', dir: at('proto-tok'), texts: PROTO_TEXTS });
  jobs.push({ id: 'tb:grown', job: 'tensorboard', dir: at('grown') });
  jobs.push({ id: 'parquet', job: 'parquet', out: at('nested.parquet'), rows: PARQUET_ROWS });
  return { jobs };
}

const withSpecials = (tok: BertTokenizer, text: string) => [
  tok.tokenToId('[CLS]')!,
  ...tok.encode(text),
  tok.tokenToId('[SEP]')!,
];

/** pipeline('fill-mask')'s top tokens and scores are growbert's softmax at the [MASK]. */
function fillMaskMatches(run: string, r: PyResult): void {
  const ids = r.ids as number[];
  const tok = new RunDir(run).loadTokenizer();
  const at = ids.indexOf(tok.tokenToId('[MASK]')!);
  assert.ok(at > 0, `no [MASK] in ${ids}`);
  const logits = ourLogits(run, [ids]);
  const V = logits.length / ids.length;
  const row = logits.slice(at * V, (at + 1) * V);
  const max = Math.max(...row);
  const exps = row.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  const top = (r.tokens as number[]).map((id) => exps[id]! / sum);
  const order = [...exps.keys()].sort((a, b) => exps[b]! - exps[a]!).slice(0, top.length);
  assert.deepEqual(r.tokens, order, 'the same top tokens');
  assert.ok(maxAbs(top, r.scores as number[]) < 1e-5, `scores ${r.scores} vs ours ${top}`);
}

/** Our exported tokenizer through AutoTokenizer and `tokenizers`, and an HF-saved cased one through growbert. */
function tokenizersAgree(root: string, exported: PyResult, cased: PyResult): void {
  const check = (tok: BertTokenizer, got: unknown, what: string) =>
    STRESS.forEach((s, i) =>
      assert.deepEqual(withSpecials(tok, s), (got as number[][])[i], `${what}: ${JSON.stringify(s)}`),
    );
  assert.match(String(exported.class), /^BertTokenizer(Fast)?$/); // transformers 5 drops the Fast name
  const ours = new RunDir(path.join(root, 'grown')).loadTokenizer();
  check(ours, exported.ids, 'AutoTokenizer on our export');
  check(ours, exported.tokenizers_ids, 'tokenizers.Tokenizer on our tokenizer.json');
  const { tokenizer, file } = hfTokenizer(path.join(root, 'cased-tok'));
  assert.equal(path.basename(file), 'tokenizer.json');
  const lines = fs
    .readFileSync(path.join(root, 'cased-tok', 'vocab.txt'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(tokenizer.vocabSize, lines.length, 'the whole vocabulary was saved');
  assert.notDeepEqual([...tokenizer.encode('The')], [...tokenizer.encode('the')], 'the vocabulary is cased');
  check(tokenizer, cased.ids, 'growbert on a cased tokenizer saved by transformers');
}

/** Every scalar TensorBoard's EventAccumulator keeps equals metrics.jsonl; nothing is hidden. */
function tensorboardMatches(run: string, r: PyResult): void {
  const lines = new MetricsLog(run).read();
  const before = beforeGrowthFlags(lines);
  const want: Record<string, [number, number][]> = {};
  for (const [i, l] of lines.entries()) {
    const k = lineKind(l);
    const tags = k === 'grow' ? GROW_TAGS : k === 'eval' ? EVAL_TAGS : k === 'train' ? TRAIN_TAGS : {};
    for (const [field, t] of Object.entries(tags)) {
      if (typeof l[field] !== 'number') continue;
      (want[before[i] ? `${t}_before_growth` : t] ??= []).push([l.step, Math.fround(l[field] as number)]);
    }
  }
  assert.ok(want['val/loss_before_growth']?.length === 1, 'the growth run evaluates before growing');
  const got = r.scalars as Record<string, [number, number][]>;
  assert.deepEqual(
    Object.fromEntries(Object.entries(got).map(([t, v]) => [t, v.map(([s, x]) => [s, Math.fround(x)])])),
    want,
  );
  const texts = r.texts as Record<string, [number, string][]>;
  const grow = lines.find((l) => l.event === 'grow')!;
  assert.deepEqual(
    texts['growth/event']?.map(([s]) => s),
    [grow.step],
  );
  assert.ok(texts.config?.length === 1 && texts.schedule?.length === 1, `texts: ${Object.keys(texts)}`);
}

export const PARQUET_ROWS = [
  { id: 1, meta: { text: 'first document', lang: 'en' }, tags: ['a'] },
  { id: 2, meta: { text: 'zweites Dokument', lang: 'de' }, tags: [] },
  { id: 3, meta: { text: 'third one', lang: 'en' }, tags: ['b', 'c'] },
];

/** The Parquet file `datasets` wrote reads with --text-field meta.text. */
async function parquetReads(file: string, r: PyResult): Promise<void> {
  assert.match(String(r.features), /meta/);
  const docs: string[] = [];
  for await (const d of parquetDocuments(file, { textField: 'meta.text' })) docs.push(d.text);
  assert.deepEqual(
    docs,
    PARQUET_ROWS.map((row) => row.meta.text),
  );
}

export const interopChecks = {
  prepare,
  pairsAgree,
  fillMaskMatches,
  tokenizersAgree,
  tensorboardMatches,
  parquetReads,
  hfTokenizer,
};
