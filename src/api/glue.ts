// finetune() and glue(): what `growbert finetune` and `growbert glue` do. GLUE fine-tuning of a growbert
// run or a Hugging Face BERT folder, one task (finetune) or several with glue.md / glue.json (glue).
import { z } from 'zod';
import { GrowbertError } from '../io/errors.js';
import { disposeEncoder } from '../eval/encoder.js';
import { finetuneGlue, type TaskResult } from '../eval/finetune.js';
import { loadEncoder, runGlueSuite, type GlueSuiteResult } from '../eval/glue-suite.js';
import { PRECISION_SETTINGS, choosePrecision, cuda, setNumThreads, type Device } from '../tensor/index.js';
import { DeviceSchema, checkAborted, logTo, parseOptions, type CallOptions, posInt, GlueTaskSchema } from './common.js';

/** The training settings finetune() and glue() share (the same flags in both commands). */
const TrainingFields = {
  /** a growbert run (its latest checkpoint) or checkpoint folder; or `model`, a Hugging Face folder */
  run: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  /** vocab.txt / tokenizer.json, for a `model` folder without one */
  tokenizer: z.string().min(1).optional(),
  /** the GLUE root folder holding SST-2/, MRPC/, CoLA/, ... */
  dataDir: z.string().min(1),
  epochs: posInt.default(3),
  /** peak learning rate (10% linear warmup, then linear decay) */
  lr: z.number().positive().default(2e-5),
  batchSize: posInt.default(32),
  /** max tokens per example (default: 128, or the model's positions if fewer) */
  seqLength: z.number().int().min(3).optional(),
  /** first seed; seeds seed .. seed + seeds - 1 run, results as mean and std */
  seed: z.number().int().min(0).default(0),
  seeds: posInt.default(1),
  /** train on a fixed random subset of this many examples (quick runs) */
  maxTrain: posInt.optional(),
  device: DeviceSchema,
  /** auto: bf16 where the device has fast bfloat16 */
  precision: z.enum(PRECISION_SETTINGS).default('auto'),
  /** CPU threads for libtorch (default: libtorch's choice) */
  threads: posInt.optional(),
};

export const FinetuneOptionsSchema = z.object({ ...TrainingFields, task: GlueTaskSchema }).strict();
export type FinetuneOptions = z.input<typeof FinetuneOptionsSchema>;

export const GlueOptionsSchema = z
  .object({
    ...TrainingFields,
    tasks: z.array(GlueTaskSchema).min(1).default(['sst2', 'mrpc', 'cola']),
    /** where glue.md and glue.json go (default: the run / model folder; null: nowhere) */
    out: z.string().min(1).nullable().optional(),
  })
  .strict();
export type GlueOptions = z.input<typeof GlueOptionsSchema>;

export interface FinetuneResult extends TaskResult {
  /** the run or model folder fine-tuned, and which kind it is */
  source: string;
  kind: 'run' | 'hf';
  checkpoint?: string;
}

type Training = z.output<z.ZodObject<typeof TrainingFields>>;

/** Applies the runtime settings (threads; a CUDA device must exist) and returns the fine-tuning ones. */
function settings(o: Training, call: CallOptions) {
  if (o.device !== 'cpu' && !cuda.isAvailable())
    throw new GrowbertError(`--device ${o.device}: no CUDA device is available to this libtorch; use --device cpu`);
  if (o.threads !== undefined) setNumThreads(o.threads);
  const { run: _r, model: _m, tokenizer: _t, threads: _th, ...rest } = o;
  return { ...rest, device: o.device as Device, log: logTo(call) };
}

/** The log's line on the precision setting: what auto chose on this device, and why. */
const precisionLine = (o: Training) => `precision: ${choosePrecision(o.precision, o.device as Device).reason}`;

/** Fine-tunes one GLUE task and returns its dev metrics (per seed and epoch, mean and std). */
export async function finetune(options: FinetuneOptions, call: CallOptions = {}): Promise<FinetuneResult> {
  const o = parseOptions(FinetuneOptionsSchema, options, 'finetune options');
  checkAborted(call.signal, 'finetune');
  const s = settings(o, call);
  const enc = loadEncoder(o);
  try {
    for (const n of enc.notes) s.log(`note: ${n}`);
    s.log(precisionLine(o));
    const r = finetuneGlue(enc, { ...s, task: o.task });
    return { source: enc.source, kind: enc.kind, ...(enc.checkpoint ? { checkpoint: enc.checkpoint } : {}), ...r };
  } finally {
    disposeEncoder(enc);
  }
}

/** Fine-tunes several GLUE tasks and writes glue.md and glue.json (see GlueOptions.out). */
export async function glue(options: GlueOptions, call: CallOptions = {}): Promise<GlueSuiteResult> {
  const o = parseOptions(GlueOptionsSchema, options, 'glue options');
  checkAborted(call.signal, 'glue');
  const s = settings(o, call);
  s.log(precisionLine(o));
  const { out, tasks } = o;
  const r = runGlueSuite({
    ...s,
    tasks: [...new Set(tasks)],
    run: o.run,
    model: o.model,
    tokenizer: o.tokenizer,
    outDir: out,
  });
  for (const n of r.notes) s.log(`note: ${n}`);
  return r;
}
