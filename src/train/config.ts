// The pre-training config: one zod schema, with a field for every CLI flag (and a flag for every
// field; see src/cli/pretrain.ts). A run stores its resolved config as RUN/config.json.
import * as fs from 'node:fs';
import { z } from 'zod';
import { GrowbertError } from '../io/errors.js';
import { PRESETS, type PresetName } from '../model/config.js';

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

export const ModelShapeSchema = z.object({
  hiddenSize: posInt.optional(),
  numHiddenLayers: posInt.optional(),
  numAttentionHeads: posInt.optional(),
  intermediateSize: posInt.optional(),
  maxPositionEmbeddings: posInt.optional(),
  typeVocabSize: posInt.optional(),
  hiddenDropoutProb: z.number().min(0).max(1).optional(),
  attentionProbsDropoutProb: z.number().min(0).max(1).optional(),
  layerNormEps: z.number().positive().optional(),
  initializerRange: z.number().positive().optional(),
  hiddenAct: z.enum(['gelu', 'gelu_new']).optional(),
  poolingSize: posInt.optional(),
  ffnRank: nonNegInt.optional(),
}).strict();

export const PretrainConfigSchema = z.object({
  /** size preset: model shape and training defaults ('tiny' .. 'large') */
  preset: z.enum(['tiny', 'mini', 'small', 'base', 'large'], {
    errorMap: (_i, ctx) => ({ message: `unknown preset '${String(ctx.data)}'; use tiny, mini, small, base or large` }),
  }).default('tiny'),
  /** overrides of the preset's model shape */
  model: ModelShapeSchema.default({}),
  data: z.object({
    /** corpus specs: files, folders, globs, .jsonl, or stdlib:sotu / stdlib:moby-dick */
    specs: z.array(z.string()).min(1).default(['stdlib:sotu', 'stdlib:moby-dick']),
    /** one document per line instead of blank-line separated */
    docPerLine: z.boolean().default(false),
    validationFraction: z.number().gt(0).lt(1).default(0.02),
    /** vocabulary size (a prefix of the trained WordPiece vocabulary); default: the preset's */
    vocabSize: posInt.optional(),
    /** use this vocab.txt / tokenizer.json instead of training one */
    tokenizer: z.string().optional(),
    /** where token caches and trained tokenizers are kept (shared between runs) */
    cacheDir: z.string().default('.cache/growbert'),
    seqLength: posInt.optional(),
    /** max masked predictions per sequence; default round(0.15 * seqLength) */
    maxPredictions: posInt.optional(),
    maskProb: z.number().gt(0).lt(1).default(0.15),
    wholeWordMasking: z.boolean().default(false),
    nsp: z.boolean().default(false),
  }).strict().default({}),
  train: z.object({
    batchSize: posInt.optional(),
    gradAccumulation: posInt.default(1),
    maxSteps: posInt.optional(),
    optimizer: z.enum(['adamw', 'lamb']).default('adamw'),
    lr: z.number().positive().optional(),
    weightDecay: z.number().min(0).default(0.01),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    eps: z.number().positive().default(1e-6),
    clipNorm: z.number().positive().default(1.0),
    /** warmup steps; default 5% of maxSteps */
    warmupSteps: nonNegInt.optional(),
    decay: z.enum(['linear', 'poly', 'constant', 'cosine']).default('linear'),
    power: z.number().positive().default(1),
    seed: nonNegInt.default(0),
    evalEvery: posInt.optional(),
    /** validation batches per evaluation (0 = the whole validation split) */
    evalBatches: nonNegInt.default(20),
    checkpointEvery: posInt.optional(),
    keepCheckpoints: posInt.default(2),
    logEvery: posInt.default(10),
  }).strict().default({}),
  runtime: z.object({
    device: z.string().regex(/^(cpu|cuda(:\d+)?)$/, 'use cpu, cuda or cuda:N').default('cpu'),
    /** auto: bf16 mixed precision where the device has fast bfloat16 (AVX512-BF16/AMX CPUs, CUDA 8.0+), else fp32 */
    precision: z.enum(['auto', 'fp32', 'bf16']).default('auto'),
    /** CPU threads for libtorch; default: libtorch's (its physical cores), split between local workers */
    threads: posInt.optional(),
    /** draw the progress bar (default: when stderr is a terminal) */
    progress: z.boolean().optional(),
  }).strict().default({}),
  /** data-parallel training over c10d (docs/distributed.md); torchrun's launcher settings */
  dist: z.object({
    /** worker processes on this machine (1 = no data parallelism) */
    nproc: posInt.default(1),
    /** machines, each running the same command with its own nodeRank */
    nnodes: posInt.default(1),
    /** this machine's index in [0, nnodes); env NODE_RANK */
    nodeRank: nonNegInt.default(0),
    /** the address of node 0, where rank 0 serves the rendezvous store; env MASTER_ADDR */
    masterAddr: z.string().min(1).default('127.0.0.1'),
    /** its port; env MASTER_PORT; default a free port on one machine, 29500 on several */
    masterPort: z.number().int().min(1).max(65535).optional(),
    /** gloo (CPU), nccl (GPUs), or auto: nccl for CUDA devices when this libtorch has it */
    backend: z.enum(['auto', 'gloo', 'nccl']).default('auto'),
    /** seconds a collective may wait for the other ranks before the run fails naming the rank that stopped */
    timeout: z.number().positive().default(600),
  }).strict().default({}),
  /** growth schedule: a preset (full, stack, length, truncate, width, compound, small-only) or a JSON file; default full */
  schedule: z.string().default('full'),
  /** budget that schedule fractions divide: steps (600), tokens (2Mtok) or time (90s, 5m); default train.maxSteps steps */
  budget: z.string().optional(),
  /** the run folder */
  out: z.string().default('runs/latest'),
  /** continue the run in `out` from its latest checkpoint */
  resume: z.boolean().default(false),
}).strict();

export type PretrainConfigInput = z.input<typeof PretrainConfigSchema>;
export type PretrainConfig = z.output<typeof PretrainConfigSchema>;

/** Training defaults per size preset (model shapes come from src/model/config.ts). */
export const TRAIN_PRESETS: Record<PresetName, { seqLength: number; batchSize: number; maxSteps: number; lr: number; vocabSize: number; evalEvery: number }> = {
  tiny: { seqLength: 64, batchSize: 32, maxSteps: 300, lr: 1e-3, vocabSize: 8192, evalEvery: 100 },
  mini: { seqLength: 128, batchSize: 32, maxSteps: 5000, lr: 5e-4, vocabSize: 16384, evalEvery: 250 },
  small: { seqLength: 128, batchSize: 128, maxSteps: 20000, lr: 5e-4, vocabSize: 30522, evalEvery: 500 },
  base: { seqLength: 128, batchSize: 256, maxSteps: 100000, lr: 1e-4, vocabSize: 30522, evalEvery: 1000 },
  large: { seqLength: 128, batchSize: 256, maxSteps: 100000, lr: 1e-4, vocabSize: 30522, evalEvery: 1000 },
};

/** A config with every optional field resolved from the preset. */
export interface ResolvedConfig extends PretrainConfig {
  data: PretrainConfig['data'] & { seqLength: number; maxPredictions: number; vocabSize: number };
  train: PretrainConfig['train'] & { batchSize: number; maxSteps: number; lr: number; warmupSteps: number; evalEvery: number; checkpointEvery: number };
}

export function formatZodError(e: z.ZodError, what: string): string {
  const i = e.issues[0];
  const where = i.path.length ? i.path.join('.') : '(top level)';
  if (i.code === 'unrecognized_keys') return `${what}: unknown field(s) ${i.keys.map((k) => `'${k}'`).join(', ')} in ${where}; check the spelling (see docs/config.md)`;
  return `${what}: ${where}: ${i.message}`;
}

export function parseConfig(input: unknown, what = 'config'): PretrainConfig {
  const r = PretrainConfigSchema.safeParse(input);
  if (!r.success) throw new GrowbertError(formatZodError(r.error, what));
  return r.data;
}

export function readConfigFile(file: string): unknown {
  if (!fs.existsSync(file)) throw new GrowbertError(`config file ${file} does not exist; check the path given to --config`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new GrowbertError(`config file ${file} is not valid JSON (${(e as Error).message}); fix it`);
  }
}

export function resolveConfig(c: PretrainConfig): ResolvedConfig {
  if (!(c.preset in PRESETS)) throw new GrowbertError(`unknown preset '${c.preset}'; use one of ${Object.keys(PRESETS).join(', ')}`);
  const p = TRAIN_PRESETS[c.preset];
  const seqLength = c.data.seqLength ?? p.seqLength;
  const maxSteps = c.train.maxSteps ?? p.maxSteps;
  const evalEvery = c.train.evalEvery ?? Math.min(p.evalEvery, maxSteps);
  return {
    ...c,
    data: { ...c.data, seqLength, maxPredictions: c.data.maxPredictions ?? Math.max(1, Math.round(seqLength * c.data.maskProb)), vocabSize: c.data.vocabSize ?? p.vocabSize },
    train: {
      ...c.train,
      batchSize: c.train.batchSize ?? p.batchSize,
      maxSteps,
      lr: c.train.lr ?? p.lr,
      warmupSteps: c.train.warmupSteps ?? Math.round(0.05 * maxSteps),
      evalEvery,
      checkpointEvery: c.train.checkpointEvery ?? evalEvery,
    },
  };
}
