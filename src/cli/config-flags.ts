// The pre-training flags, one per config field (and one field per flag): a table maps each flag
// to its path in PretrainConfig, so `--lr 1e-3` and {"train": {"lr": 1e-3}} are the same thing.
// The choices of enum fields are not restated here: the help reads them from the schema.
import type { Command } from 'commander';
import { z } from 'zod';
import { GrowbertError } from '../io/errors.js';
import { SCHEDULE_PRESETS } from '../schedule/schedule.js';
import { PretrainConfigSchema } from '../train/config.js';
import { checkRange } from './args.js';

type Kind = 'int' | 'number' | 'string' | 'bool' | 'list';
export interface FlagSpec {
  flag: string;
  path: string;
  kind: Kind;
  help: string;
}

export const PRETRAIN_FLAGS: FlagSpec[] = [
  { flag: 'preset', path: 'preset', kind: 'string', help: 'size preset' },
  {
    flag: 'arch',
    path: 'model.arch',
    kind: 'string',
    help: 'encoder variant (bert: post-LN, the default; prenorm: pre-LN)',
  },
  { flag: 'hidden', path: 'model.hiddenSize', kind: 'int', help: 'hidden size' },
  { flag: 'layers', path: 'model.numHiddenLayers', kind: 'int', help: 'encoder layers' },
  { flag: 'heads', path: 'model.numAttentionHeads', kind: 'int', help: 'attention heads' },
  { flag: 'ffn', path: 'model.intermediateSize', kind: 'int', help: 'FFN (intermediate) width' },
  { flag: 'max-positions', path: 'model.maxPositionEmbeddings', kind: 'int', help: 'position embeddings' },
  { flag: 'type-vocab', path: 'model.typeVocabSize', kind: 'int', help: 'segment (token type) vocabulary' },
  { flag: 'dropout', path: 'model.hiddenDropoutProb', kind: 'number', help: 'hidden dropout' },
  { flag: 'attention-dropout', path: 'model.attentionProbsDropoutProb', kind: 'number', help: 'attention dropout' },
  { flag: 'layer-norm-eps', path: 'model.layerNormEps', kind: 'number', help: 'LayerNorm epsilon' },
  { flag: 'init-range', path: 'model.initializerRange', kind: 'number', help: 'init std' },
  {
    flag: 'activation',
    path: 'model.hiddenAct',
    kind: 'string',
    help: 'FFN activation (gelu: erf; gelu_new: tanh approximation)',
  },
  { flag: 'pooling', path: 'model.poolingSize', kind: 'int', help: 'length pooling factor k (1 = off)' },
  { flag: 'ffn-rank', path: 'model.ffnRank', kind: 'int', help: 'low-rank FFN rank (0 = full)' },
  {
    flag: 'data',
    path: 'data.specs',
    kind: 'list',
    help: 'corpus: files, folders, globs (.txt, .jsonl, .gz, .zst, .parquet), stdlib:sotu, stdlib:moby-dick (repeatable)',
  },
  {
    flag: 'doc-per-line',
    path: 'data.docPerLine',
    kind: 'bool',
    help: 'one document per line (else blank-line separated)',
  },
  {
    flag: 'text-field',
    path: 'data.textField',
    kind: 'string',
    help: 'JSONL / Parquet field holding the text (default text; a.b: field b of object / struct a)',
  },
  {
    flag: 'tokenizer-sample',
    path: 'data.tokenizerSample',
    kind: 'int',
    help: 'characters of training text a new tokenizer learns from',
  },
  {
    flag: 'packing',
    path: 'data.packing',
    kind: 'string',
    help: 'document (one document per row) or full (rows filled across documents)',
  },
  {
    flag: 'validation-fraction',
    path: 'data.validationFraction',
    kind: 'number',
    help: 'share of documents held out for validation',
  },
  {
    flag: 'vocab-size',
    path: 'data.vocabSize',
    kind: 'int',
    help: 'vocabulary size (prefix of the trained WordPiece vocabulary)',
  },
  {
    flag: 'tokenizer',
    path: 'data.tokenizer',
    kind: 'string',
    help: 'vocab.txt or tokenizer.json to use instead of training one',
  },
  { flag: 'cache-dir', path: 'data.cacheDir', kind: 'string', help: 'where tokenizers and token caches are kept' },
  { flag: 'seq-length', path: 'data.seqLength', kind: 'int', help: 'sequence length' },
  { flag: 'max-predictions', path: 'data.maxPredictions', kind: 'int', help: 'max masked predictions per sequence' },
  { flag: 'mask-prob', path: 'data.maskProb', kind: 'number', help: 'masking probability' },
  { flag: 'whole-word-masking', path: 'data.wholeWordMasking', kind: 'bool', help: 'mask whole words' },
  { flag: 'nsp', path: 'data.nsp', kind: 'bool', help: 'next-sentence pairs (random B half the time)' },
  { flag: 'batch-size', path: 'train.batchSize', kind: 'int', help: 'sequences per micro-batch' },
  { flag: 'grad-accumulation', path: 'train.gradAccumulation', kind: 'int', help: 'micro-batches per optimizer step' },
  { flag: 'max-steps', path: 'train.maxSteps', kind: 'int', help: 'optimizer steps' },
  { flag: 'optimizer', path: 'train.optimizer', kind: 'string', help: 'optimizer' },
  { flag: 'lr', path: 'train.lr', kind: 'number', help: 'peak learning rate' },
  { flag: 'weight-decay', path: 'train.weightDecay', kind: 'number', help: 'decoupled weight decay' },
  { flag: 'beta1', path: 'train.beta1', kind: 'number', help: 'Adam beta1' },
  { flag: 'beta2', path: 'train.beta2', kind: 'number', help: 'Adam beta2' },
  { flag: 'eps', path: 'train.eps', kind: 'number', help: 'Adam epsilon' },
  { flag: 'clip-norm', path: 'train.clipNorm', kind: 'number', help: 'global gradient-norm clip' },
  {
    flag: 'warmup-steps',
    path: 'train.warmupSteps',
    kind: 'int',
    help: "LR warmup steps (default 5% of the run's steps)",
  },
  { flag: 'decay', path: 'train.decay', kind: 'string', help: 'LR decay after warmup' },
  { flag: 'power', path: 'train.power', kind: 'number', help: 'polynomial decay power' },
  { flag: 'seed', path: 'train.seed', kind: 'int', help: 'random seed' },
  {
    flag: 'eval-every',
    path: 'train.evalEvery',
    kind: 'int',
    help: 'evaluate every N steps (default: about 20 evaluations per run)',
  },
  { flag: 'eval-batches', path: 'train.evalBatches', kind: 'int', help: 'validation batches per evaluation (0 = all)' },
  {
    flag: 'checkpoint-every',
    path: 'train.checkpointEvery',
    kind: 'int',
    help: 'checkpoint every N steps (default: at each evaluation)',
  },
  { flag: 'keep-checkpoints', path: 'train.keepCheckpoints', kind: 'int', help: 'checkpoints kept' },
  { flag: 'log-every', path: 'train.logEvery', kind: 'int', help: 'metrics line every N steps' },
  {
    flag: 'tensorboard',
    path: 'train.tensorboard',
    kind: 'bool',
    help: 'write a TensorBoard event file in the run folder (default on)',
  },
  { flag: 'device', path: 'runtime.device', kind: 'string', help: 'cpu, cuda or cuda:N' },
  {
    flag: 'precision',
    path: 'runtime.precision',
    kind: 'string',
    help: 'compute precision; auto: bf16 where the device has fast bfloat16, else fp32',
  },
  { flag: 'threads', path: 'runtime.threads', kind: 'int', help: 'CPU threads (default: all cores)' },
  { flag: 'progress', path: 'runtime.progress', kind: 'bool', help: 'draw the progress bar (default: on a terminal)' },
  {
    flag: 'nproc',
    path: 'dist.nproc',
    kind: 'int',
    help: 'data-parallel worker processes on this machine (torchrun --nproc-per-node)',
  },
  { flag: 'nnodes', path: 'dist.nnodes', kind: 'int', help: 'machines in the data-parallel run (env NNODES)' },
  {
    flag: 'node-rank',
    path: 'dist.nodeRank',
    kind: 'int',
    help: "this machine's index in [0, nnodes) (env NODE_RANK)",
  },
  {
    flag: 'master-addr',
    path: 'dist.masterAddr',
    kind: 'string',
    help: 'address of node 0, which hosts the rendezvous (env MASTER_ADDR)',
  },
  {
    flag: 'master-port',
    path: 'dist.masterPort',
    kind: 'int',
    help: "port of rank 0's rendezvous store across machines (env MASTER_PORT; default 29500)",
  },
  {
    flag: 'rdzv-file',
    path: 'dist.rdzvFile',
    kind: 'string',
    help: 'rendezvous through a new file on a filesystem every machine sees instead of a TCP store',
  },
  {
    flag: 'dist-backend',
    path: 'dist.backend',
    kind: 'string',
    help: 'collectives backend (auto: nccl for CUDA devices when available, else gloo)',
  },
  {
    flag: 'dist-timeout',
    path: 'dist.timeout',
    kind: 'number',
    help: 'seconds a collective waits for the other ranks before failing',
  },
  {
    flag: 'schedule',
    path: 'schedule',
    kind: 'string',
    help: `growth schedule: ${SCHEDULE_PRESETS.join(', ')}, or a JSON file`,
  },
  {
    flag: 'lr-horizon',
    path: 'lrHorizon',
    kind: 'string',
    help: "LR decay horizon of the schedule's stages (lemon: LEMON's, the peak kept after growth, decayed to 0 at the run's end)",
  },
  {
    flag: 'budget',
    path: 'budget',
    kind: 'string',
    help: "budget the schedule's stage fractions divide: steps (600), tokens (2Mtok), time (5m) or FLOPs (5e13flops)",
  },
  {
    flag: 'clock',
    path: 'clock',
    kind: 'string',
    help: "the clock a time budget charges: wall, or cpu (this process's CPU time, for runs sharing a machine)",
  },
  { flag: 'out', path: 'out', kind: 'string', help: 'run folder' },
  { flag: 'resume', path: 'resume', kind: 'bool', help: 'continue the run in --out from its latest checkpoint' },
];

const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());

function parseValue(s: FlagSpec, v: string): unknown {
  // An empty value is a mistake (an unset shell variable, say), never 0 or "no value": Number('') is 0.
  if (v.trim() === '')
    throw new GrowbertError(`--${s.flag} "": the value is empty; give one (see --help) or leave the flag out`);
  if (s.kind === 'string') return v;
  const n = Number(v);
  if (!Number.isFinite(n) || (s.kind === 'int' && !Number.isInteger(n))) {
    throw new GrowbertError(`--${s.flag} ${v}: expected ${s.kind === 'int' ? 'an integer' : 'a number'}`);
  }
  return checkRange(s.flag, n, v);
}

/** The config schema's type at a dotted path, with defaults, optionals and refinements unwrapped. */
function fieldAt(path: string): z.ZodTypeAny | undefined {
  const unwrap = (t: z.ZodTypeAny): z.ZodTypeAny => {
    while (t instanceof z.ZodDefault || t instanceof z.ZodOptional || t instanceof z.ZodEffects)
      t = t instanceof z.ZodEffects ? t.innerType() : t._def.innerType;
    return t;
  };
  let t: z.ZodTypeAny | undefined = PretrainConfigSchema;
  for (const k of path.split('.')) {
    const o = unwrap(t);
    t = o instanceof z.ZodObject ? (o.shape as Record<string, z.ZodTypeAny>)[k] : undefined;
    if (!t) return undefined;
  }
  return unwrap(t);
}

/** The allowed values of an enum field, read from the config schema (undefined for other fields). */
export function choicesOf(path: string): readonly string[] | undefined {
  const t = fieldAt(path);
  return t instanceof z.ZodEnum ? (t.options as string[]) : undefined;
}

/** A flag's help: its text and, for an enum field, the schema's choices. */
export function flagHelp(s: FlagSpec): string {
  const c = choicesOf(s.path);
  return c ? `${s.help}; one of ${c.join(', ')}` : s.help;
}

export function addFlags(cmd: Command, specs: FlagSpec[]): Command {
  for (const s of specs) {
    const help = flagHelp(s);
    if (s.kind === 'bool') {
      cmd.option(`--${s.flag}`, help);
      if (s.flag !== 'resume') cmd.option(`--no-${s.flag}`, `(turn off --${s.flag})`);
    } else if (s.kind === 'list') cmd.option(`--${s.flag} <value...>`, help);
    else cmd.option(`--${s.flag} <value>`, help);
  }
  return cmd;
}

/** Writes every given flag into (a copy of) a config object at its path. */
export function applyFlags(
  config: Record<string, unknown>,
  opts: Record<string, unknown>,
  specs: FlagSpec[],
): Record<string, unknown> {
  const out = structuredClone(config);
  for (const s of specs) {
    const v = opts[camel(s.flag)];
    if (v === undefined) continue;
    const value = s.kind === 'list' ? (v as string[]) : s.kind === 'bool' ? Boolean(v) : parseValue(s, String(v));
    const keys = s.path.split('.');
    let o = out;
    for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
    o[keys[keys.length - 1]] = value;
  }
  return out;
}
