// The pre-training config: one zod schema, with a field for every CLI flag (and a flag for every
// field; see src/cli/pretrain.ts). A run stores its resolved config as RUN/config.json.
import { z } from 'zod';
import { GrowbertError, formatZodError, oneOf } from '../io/errors.js';
import { readInputText } from '../io/input-file.js';
import { ModelOverridesSchema, PRESETS, type PresetName } from '../model/config.js';
import { LR_DECAYS } from '../schedule/lr.js';
import { LR_HORIZONS } from '../schedule/schedule.js';
import { OPTIMIZERS } from './optim/index.js';
import { CLOCKS } from './budget-clock.js';
import { BudgetSchema } from '../schedule/plan.js';
import { PRECISION_SETTINGS } from '../tensor/index.js';

/** Enum values of the config, each listed once: the schema, the CLI's help and docs/config.md derive from these. */
export const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];
/** auto resolves per device (src/tensor/precision.ts) to fp32 or bf16 */
export const PRECISIONS = PRECISION_SETTINGS;
export const DIST_BACKENDS = ['auto', 'gloo', 'nccl'] as const;

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

/** Overrides of the preset's model: every model field but the vocabulary's (src/model/config.ts). */
export const ModelShapeSchema = ModelOverridesSchema;

export const PretrainConfigSchema = z
  .object({
    /** size preset: model shape and training defaults ('tiny' .. 'large') */
    preset: z
      .enum(PRESET_NAMES, {
        errorMap: (_i, ctx) => ({ message: `unknown preset '${String(ctx.data)}'; use ${oneOf(PRESET_NAMES)}` }),
      })
      .default('tiny'),
    /** overrides of the preset's model shape */
    model: ModelShapeSchema.default({}),
    data: z
      .object({
        /** corpus specs: files, folders, globs, .jsonl, or stdlib:sotu / stdlib:moby-dick */
        specs: z.array(z.string()).min(1).default(['stdlib:sotu', 'stdlib:moby-dick']),
        /** one document per line instead of blank-line separated */
        docPerLine: z.boolean().default(false),
        /** JSONL / Parquet field (column) holding the text */
        textField: z.string().min(1).default('text'),
        /** characters of training text a new tokenizer learns from (a bounded sample of a big corpus) */
        tokenizerSample: posInt.default(32_000_000),
        /** 'document': a row per document chunk (tail rows padded); 'full': rows filled across documents */
        packing: z.enum(['document', 'full']).default('document'),
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
      })
      .strict()
      .default({}),
    train: z
      .object({
        batchSize: posInt.optional(),
        gradAccumulation: posInt.default(1),
        maxSteps: posInt.optional(),
        optimizer: z.enum(OPTIMIZERS).default('adamw'),
        lr: z.number().positive().optional(),
        weightDecay: z.number().min(0).default(0.01),
        beta1: z.number().min(0).lt(1).default(0.9),
        beta2: z.number().min(0).lt(1).default(0.999),
        eps: z.number().positive().default(1e-6),
        clipNorm: z.number().positive().default(1.0),
        /** warmup steps; default 5% of maxSteps */
        warmupSteps: nonNegInt.optional(),
        decay: z.enum(LR_DECAYS).default('linear'),
        power: z.number().positive().default(1),
        seed: nonNegInt.default(0),
        evalEvery: posInt.optional(),
        /** validation batches per evaluation (0 = the whole validation split) */
        evalBatches: nonNegInt.default(20),
        checkpointEvery: posInt.optional(),
        keepCheckpoints: posInt.default(2),
        logEvery: posInt.default(10),
        /** also write the metrics as a TensorBoard event file in the run folder (src/train/tensorboard.ts) */
        tensorboard: z.boolean().default(true),
      })
      .strict()
      .default({}),
    runtime: z
      .object({
        device: z
          .string()
          .regex(/^(cpu|cuda(:\d+)?)$/, 'use cpu, cuda or cuda:N')
          .default('cpu'),
        /**
         * auto: bf16 mixed precision where the device has fast bfloat16 (AVX512-BF16/AMX CPUs, CUDA 8.0+), else fp32
         */
        precision: z.enum(PRECISIONS).default('auto'),
        /** CPU threads for libtorch; default: libtorch's (its physical cores), split between local workers */
        threads: posInt.optional(),
        /** draw the progress bar (default: when stderr is a terminal) */
        progress: z.boolean().optional(),
      })
      .strict()
      .default({}),
    /** data-parallel training over c10d (docs/distributed.md); torchrun's launcher settings */
    dist: z
      .object({
        /** worker processes on this machine (1 = no data parallelism) */
        nproc: posInt.default(1),
        /** machines, each running the same command with its own nodeRank */
        nnodes: posInt.default(1),
        /** this machine's index in [0, nnodes); env NODE_RANK */
        nodeRank: nonNegInt.default(0),
        /** the address of node 0, where rank 0 serves the rendezvous store; env MASTER_ADDR */
        masterAddr: z.string().min(1).default('127.0.0.1'),
        /** its port across machines (one machine uses a private file store); env MASTER_PORT; default 29500 */
        masterPort: z.number().int().min(1).max(65535).optional(),
        /**
         * rendezvous through a c10d file store at this path (a filesystem every machine sees) instead of
         * rank 0's TCP store; with one machine the launcher uses a private file without it
         */
        rdzvFile: z.string().min(1).optional(),
        /** gloo (CPU), nccl (GPUs), or auto: nccl for CUDA devices when this libtorch has it */
        backend: z.enum(DIST_BACKENDS).default('auto'),
        /** seconds a collective may wait for the other ranks before the run fails naming the rank that stopped */
        timeout: z.number().positive().default(600),
      })
      .strict()
      .default({}),
    /**
     * growth schedule: a preset (full, stack, length, truncate, width, compound, small-only) or a JSON file; default
     * full
     */
    schedule: z.string().default('full'),
    /**
     * LR decay horizon of a preset schedule's stages (and of a JSON schedule's stages that leave
     * lr.horizon out): stage, run, none or lemon (LEMON's: the peak kept, decayed to 0 at the run's
     * end, no warmup after growth); default the presets' (stage). docs/schedules.md.
     */
    lrHorizon: z.enum(LR_HORIZONS).optional(),
    /**
     * budget that schedule fractions divide: steps (600), tokens (2Mtok), time (90s, 5m) or FLOPs by the cost model
     * (5e13flops); default train.maxSteps steps. A time budget is enforced by the clock (training time only).
     */
    // checked when the config is read, before any data work (parseBudget's one-line message)
    budget: BudgetSchema.optional(),
    /** the clock a time budget charges: wall (the default), or cpu: this process's CPU time, all its threads */
    clock: z.enum(CLOCKS).default('wall'),
    /** the run folder */
    out: z.string().default('runs/latest'),
    /** continue the run in `out` from its latest checkpoint */
    resume: z.boolean().default(false),
  })
  .strict();

export type PretrainConfigInput = z.input<typeof PretrainConfigSchema>;
export type PretrainConfig = z.output<typeof PretrainConfigSchema>;

/** Training defaults per size preset (model shapes come from src/model/config.ts). */
export const TRAIN_PRESETS: Record<
  PresetName,
  { seqLength: number; batchSize: number; maxSteps: number; lr: number; vocabSize: number }
> = {
  tiny: { seqLength: 64, batchSize: 32, maxSteps: 300, lr: 1e-3, vocabSize: 8192 },
  mini: { seqLength: 128, batchSize: 32, maxSteps: 5000, lr: 5e-4, vocabSize: 16384 },
  small: { seqLength: 128, batchSize: 128, maxSteps: 20000, lr: 5e-4, vocabSize: 30522 },
  base: { seqLength: 128, batchSize: 256, maxSteps: 100000, lr: 1e-4, vocabSize: 30522 },
  large: { seqLength: 128, batchSize: 256, maxSteps: 100000, lr: 1e-4, vocabSize: 30522 },
};

/** Evaluations per run when train.evalEvery is not given (the comparison's curves need them). */
export const DEFAULT_EVALS_PER_RUN = 20;
/** Warmup as a share of the run's steps when train.warmupSteps is not given. */
export const DEFAULT_WARMUP_FRACTION = 0.05;

/** A config with every optional field resolved from the preset. */
export interface ResolvedConfig extends PretrainConfig {
  data: PretrainConfig['data'] & { seqLength: number; maxPredictions: number; vocabSize: number };
  train: PretrainConfig['train'] & {
    batchSize: number;
    maxSteps: number;
    lr: number;
    warmupSteps: number;
    evalEvery: number;
    checkpointEvery: number;
  };
}

export { formatZodError }; // moved to io/errors.ts so that schedule/ need not import train/

export function parseConfig(input: unknown, what = 'config'): PretrainConfig {
  const r = PretrainConfigSchema.safeParse(input);
  if (!r.success) throw new GrowbertError(formatZodError(r.error, what));
  return r.data;
}

export function readConfigFile(file: string): unknown {
  const text = readInputText(file, 'config file', 'check the path given to --config'); // missing, a link loop, a FIFO: one line, never a wait
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new GrowbertError(`config file ${file} is not valid JSON (${(e as Error).message}); fix it`);
  }
}

/**
 * The config with every optional field resolved from the preset. The defaults that scale with the
 * run's length (warmup 5%, about 20 evaluations, a checkpoint at each evaluation) follow
 * `totalSteps`: the run's steps when a budget or schedule sets them (pretrain passes them once
 * planned), else maxSteps.
 */
export function resolveConfig(c: PretrainConfig, totalSteps?: number): ResolvedConfig {
  if (!Object.hasOwn(PRESETS, c.preset))
    throw new GrowbertError(`unknown preset '${c.preset}'; use one of ${Object.keys(PRESETS).join(', ')}`);
  const p = TRAIN_PRESETS[c.preset];
  const seqLength = c.data.seqLength ?? p.seqLength;
  const maxSteps = c.train.maxSteps ?? p.maxSteps;
  const total = totalSteps ?? maxSteps;
  const evalEvery = c.train.evalEvery ?? Math.max(1, Math.round(total / DEFAULT_EVALS_PER_RUN));
  return {
    ...c,
    data: {
      ...c.data,
      seqLength,
      maxPredictions: c.data.maxPredictions ?? Math.max(1, Math.round(seqLength * c.data.maskProb)),
      vocabSize: c.data.vocabSize ?? p.vocabSize,
    },
    train: {
      ...c.train,
      batchSize: c.train.batchSize ?? p.batchSize,
      maxSteps,
      lr: c.train.lr ?? p.lr,
      warmupSteps: c.train.warmupSteps ?? Math.round(DEFAULT_WARMUP_FRACTION * total),
      evalEvery,
      checkpointEvery: c.train.checkpointEvery ?? evalEvery,
    },
  };
}
