// `growbert bench`: times whole training steps (forward, backward, clipping, AdamW) of a BERT on
// synthetic batches. Compare it with ../shared/bench/torch_ref_bert.py (same shape, same machine,
// same run): see bench/README.md.
import type { Command } from 'commander';
import { GrowbertError } from '../io/errors.js';
import { positiveInt, requiredNumber } from './args.js';
import { BertForMaskedLM, bertConfig } from '../model/index.js';
import { cuda, getNumThreads, manualSeed, randint, setNumThreads, tidy, zeros, type Device } from '../tensor/index.js';
import { createOptimizer } from '../train/optim/index.js';
import { trainStep } from '../train/step.js';
import type { ModelBatch } from '../train/data.js';

interface BenchOpts {
  layers: string; hidden: string; heads: string; ffn: string; batch: string; seq: string; vocab: string; steps: string; warmup: string;
  device: string; precision: string; threads?: string; fullLogits?: boolean; json?: boolean;
}


export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('time BERT training steps on synthetic batches (tokens/s)')
    .option('--layers <n>', 'encoder layers', '4')
    .option('--hidden <n>', 'hidden size', '256')
    .option('--heads <n>', 'attention heads', '4')
    .option('--ffn <n>', 'FFN width', '1024')
    .option('--batch <n>', 'sequences per step', '16')
    .option('--seq <n>', 'sequence length', '128')
    .option('--vocab <n>', 'vocabulary size', '30522')
    .option('--steps <n>', 'timed steps', '5')
    .option('--warmup <n>', 'untimed steps first', '1')
    .option('--device <d>', 'cpu or cuda', 'cpu')
    .option('--precision <p>', 'fp32 or bf16', 'fp32')
    .option('--threads <n>', 'CPU threads (default: libtorch\'s)')
    .option('--full-logits', 'MLM logits at every position (Hugging Face layout) instead of masked positions only')
    .option('--json', 'print the result as one JSON line last')
    .action((o: BenchOpts) => bench(o));
}

function bench(o: BenchOpts): void {
  const L = positiveInt(o.layers, 'layers'), H = positiveInt(o.hidden, 'hidden'), A = positiveInt(o.heads, 'heads'), F = positiveInt(o.ffn, 'ffn');
  const B = positiveInt(o.batch, 'batch'), S = positiveInt(o.seq, 'seq'), V = positiveInt(o.vocab, 'vocab'), steps = positiveInt(o.steps, 'steps');
  const warmup = requiredNumber(o.warmup, 'warmup');
  if (o.threads) setNumThreads(positiveInt(o.threads, 'threads'));
  const device = o.device as Device;
  if (device.startsWith('cuda') && !cuda.isAvailable()) throw new GrowbertError('--device cuda, but this libtorch has no CUDA; use --device cpu');
  if (o.precision !== 'fp32' && o.precision !== 'bf16') throw new GrowbertError(`--precision ${o.precision}: use fp32 or bf16`);
  manualSeed(0);
  const config = bertConfig({ vocabSize: V, hiddenSize: H, numHiddenLayers: L, numAttentionHeads: A, intermediateSize: F, maxPositionEmbeddings: Math.max(512, S) });
  const model = new BertForMaskedLM(config, { device, seed: 0 });
  const optimizer = createOptimizer('adamw', model.namedParameters(), { lr: 1e-4 });
  // BERT's masking: P = round(0.15 S) predictions per sequence (or every position with --full-logits).
  const P = Math.max(1, Math.round(0.15 * S));
  const batch: ModelBatch = tidy(() => {
    const positions = o.fullLogits ? undefined : randint(0, S, [B, P], { device });
    return {
      inputIds: randint(5, V, [B, S], { device }),
      tokenTypeIds: zeros([B, S], { dtype: 'int64', device }),
      attentionMask: zeros([B, S], { dtype: 'int64', device }).add(1),
      maskedPositions: positions,
      maskedLabels: randint(5, V, o.fullLogits ? [B, S] : [B, P], { device }),
      tokens: B * S,
    };
  });
  const step = () => trainStep(model, optimizer, [batch], { lr: 1e-4, clipNorm: 1, bf16: o.precision === 'bf16' });
  for (let i = 0; i < warmup; i++) step();
  if (device !== 'cpu') cuda.synchronize(device);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  if (device !== 'cpu') cuda.synchronize(device);
  const stepMs = (performance.now() - t0) / steps;
  const tokensPerSecond = (B * S) / (stepMs / 1000);
  const params = model.numParameters();
  console.log(`growbert bench: L=${L} H=${H} A=${A} F=${F} batch ${B}x${S} vocab ${V} ${o.precision} on ${device}, ${getNumThreads()} thread(s), ${o.fullLogits ? 'logits at every position' : `masked-only head (P=${P})`}`);
  console.log(`step_ms ${stepMs.toFixed(1)}  tok/s ${tokensPerSecond.toFixed(1)}  params ${params}`);
  if (o.json) console.log(JSON.stringify({ tokensPerSecond: Math.round(tokensPerSecond * 10) / 10, stepMs: Math.round(stepMs * 100) / 100, params }));
}
