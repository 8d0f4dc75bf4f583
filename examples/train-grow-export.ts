// growbert as a library, start to end: pre-train a tiny BERT on a corpus of its own, grow it twice as
// deep, keep training the grown model, export it as a Hugging Face folder, and read the metrics as it
// goes (events while training, metrics.jsonl as data afterwards). Takes a minute or two on 2 CPU cores.
//   npm install growbert typescript @types/node
//   npx tsc -p . && node dist/train-grow-export.js [work-folder]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  exportToHf,
  grow,
  pretrain,
  readMetrics,
  readRunConfig,
  Interrupted,
  type PretrainConfigInput,
  type PretrainEvent,
} from 'growbert';

const work = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-example-'));
fs.mkdirSync(work, { recursive: true });

/** A corpus of its own: sentences from small word lists, one document per line, the same every time. */
function writeCorpus(file: string, lines: number): void {
  const subject = ['the cat', 'a dog', 'the old sailor', 'my neighbour', 'a small bird', 'the teacher', 'a child'];
  const verb = ['sees', 'likes', 'follows', 'watches', 'finds', 'carries', 'remembers', 'paints'];
  const object = ['the red ball', 'a quiet house', 'the green field', 'an open door', 'a wooden boat', 'the long road'];
  const place = ['in the garden', 'by the sea', 'near the school', 'under the bridge', 'on the hill', 'at the market'];
  let state = 42;
  const pick = (words: string[]) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return words[state % words.length];
  };
  const text = Array.from(
    { length: lines },
    () => `${pick(subject)} ${pick(verb)} ${pick(object)} ${pick(place)} , and ${pick(subject)} ${pick(verb)} it .`,
  );
  fs.writeFileSync(file, text.join('\n') + '\n');
}

/** Reads the run as it goes: every 20th training line, each validation, and each checkpoint. */
function show(e: PretrainEvent): void {
  if (e.type === 'metrics' && typeof e.line.loss === 'number' && e.line.step % 20 === 0)
    console.log(`  step ${e.line.step}: training loss ${e.line.loss.toFixed(3)}, ${e.line.tokensPerSecond} tokens/s`);
  else if (e.type === 'evaluation')
    console.log(
      `  step ${e.step}: validation loss ${e.valLoss.toFixed(3)}, accuracy ${(100 * e.valAccuracy).toFixed(1)}%`,
    );
  else if (e.type === 'checkpoint') console.log(`  step ${e.step}: checkpoint ${path.relative(work, e.dir)}`);
}

const corpus = path.join(work, 'corpus.txt');
writeCorpus(corpus, 3000);
// The same config `growbert pretrain --config` reads (docs/config.md), checked by the same schema.
const config: PretrainConfigInput = {
  preset: 'tiny',
  model: { numHiddenLayers: 2, hiddenSize: 64, numAttentionHeads: 2, intermediateSize: 256 },
  data: { specs: [corpus], docPerLine: true, vocabSize: 400, seqLength: 32, cacheDir: path.join(work, 'cache') },
  train: { batchSize: 16, maxSteps: 60, lr: 2e-3, warmupSteps: 6, evalEvery: 20, evalBatches: 4, logEvery: 10 },
  out: path.join(work, 'small'),
};
// A time limit for the whole example: an aborted run stops after its current step and saves a checkpoint.
const signal = AbortSignal.timeout(15 * 60_000);

try {
  console.log(`pre-training a 2-layer model on ${corpus}`);
  const small = await pretrain(config, { onEvent: show, signal });
  console.log(`small: ${small.step} steps, validation loss ${small.finalEval?.valLoss.toFixed(3)}`);

  const grown = await grow({ from: small.runDir, out: path.join(work, 'grown'), target: { numHiddenLayers: 4 } });
  const p = grown.preservation;
  const kept = grown.preserving ? 'kept exactly' : `changed (max logit difference ${p.maxAbsLogitDiff.toFixed(3)})`;
  console.log(`grew: ${grown.report.join('; ')}; the function is ${kept}`);

  // The grown run continues from its checkpoint with its saved config, as `pretrain --resume` does.
  const saved = readRunConfig(grown.out);
  const big = await pretrain(
    { ...saved, resume: true, train: { ...saved.train, maxSteps: 120 } },
    { onEvent: show, signal },
  );
  console.log(
    `grown: ${big.modelConfig.numHiddenLayers} layers, step ${big.step}, validation loss ${big.finalEval?.valLoss.toFixed(3)}`,
  );

  const hf = await exportToHf({ run: big.runDir, out: path.join(work, 'hf') });
  const files = fs.readdirSync(hf.out).filter((f) => !f.startsWith('.'));
  console.log(`exported ${hf.parameters} parameters to ${hf.out}: ${files.sort().join(', ')}`);

  // The metrics as data: every validation of the grown run, from metrics.jsonl.
  const m = readMetrics(big.runDir);
  console.log(`validation loss by step: ${m.eval.map((e) => `${e.step} ${e.valLoss.toFixed(3)}`).join(', ')}`);
  console.log('example: done');
} catch (e) {
  if (!(e instanceof Interrupted)) throw e;
  console.error(`example: stopped early (${e.message})`);
  process.exitCode = 1;
}
