// `growbert finetune`: one GLUE task on a run (--run) or a Hugging Face folder (--model).
// Also the training flags and their parsing, shared with `growbert glue`.
import type { Command } from 'commander';
import { GrowbertError } from '../io/errors.js';
import { GLUE_TASKS, type GlueTask } from '../eval/glue-data.js';
import { formatMetrics } from '../eval/finetune.js';
import { PRECISION_SETTINGS, type PrecisionSetting } from '../tensor/index.js';
import { finetune, type FinetuneOptions } from '../api/glue.js';
import { checkRange } from './args.js';

export interface TrainingFlags {
  epochs: string;
  lr: string;
  batch: string;
  seq?: string;
  seed: string;
  seeds: string;
  maxTrain?: string;
  device: string;
  precision: string;
  threads?: string;
  json?: boolean;
}

/** Adds the fine-tuning flags (same names and defaults in finetune and glue). */
export function addTrainingOptions(cmd: Command): Command {
  return cmd
    .option('--epochs <n>', 'training epochs', '3')
    .option('--lr <x>', 'peak learning rate (10% linear warmup, then linear decay)', '2e-5')
    .option('--batch <n>', 'batch size', '32')
    .option('--seq <n>', "max tokens per example (default: 128, or the model's positions if fewer)")
    .option('--seed <n>', 'first seed', '0')
    .option('--seeds <n>', 'seeds to run (seed, seed+1, ...); reports mean and std', '1')
    .option('--max-train <n>', 'train on a fixed random subset of this many examples (quick runs)')
    .option('--device <d>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--precision <p>', 'auto (bf16 where the device has fast bfloat16), fp32 or bf16', 'auto')
    .option('--threads <n>', 'CPU threads for libtorch (default: all cores)')
    .option('--json', 'print the result as one JSON object on the last line');
}

function num(flag: string, v: string, int: boolean, min: number): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || (int && !Number.isInteger(x)) || x < min) {
    throw new GrowbertError(`${flag} must be ${int ? 'an integer' : 'a number'} >= ${min}, got '${v}'`);
  }
  return checkRange(flag.replace(/^--/, ''), x, v); // and the flag's upper bound (src/cli/args.ts)
}

/** The flags as the training fields of finetune() and glue() (src/api/glue.ts), each checked with its flag's name. */
export function trainingOptions(f: TrainingFlags): Omit<FinetuneOptions, 'task' | 'dataDir'> {
  if (!/^(cpu|cuda(:\d+)?)$/.test(f.device))
    throw new GrowbertError(`--device must be cpu, cuda or cuda:N, got '${f.device}'`);
  if (!(PRECISION_SETTINGS as readonly string[]).includes(f.precision))
    throw new GrowbertError(`--precision must be auto, fp32 or bf16, got '${f.precision}'`);
  return {
    epochs: num('--epochs', f.epochs, true, 1),
    lr: num('--lr', f.lr, false, Number.MIN_VALUE),
    batchSize: num('--batch', f.batch, true, 1),
    seqLength: f.seq === undefined ? undefined : num('--seq', f.seq, true, 3),
    seed: num('--seed', f.seed, true, 0),
    seeds: num('--seeds', f.seeds, true, 1),
    maxTrain: f.maxTrain === undefined ? undefined : num('--max-train', f.maxTrain, true, 1),
    device: f.device,
    precision: f.precision as PrecisionSetting,
    threads: f.threads === undefined ? undefined : num('--threads', f.threads, true, 1),
  };
}

/** The API's lines as the commands print them: notes and the precision choice on stderr, results on stdout. */
export function cliLog(line: string): void {
  if (/^(note|precision): /.test(line)) console.error(line);
  else console.log(line);
}

export function parseTask(t: string): GlueTask {
  const task = t.trim().toLowerCase();
  if (!Object.hasOwn(GLUE_TASKS, task))
    throw new GrowbertError(`unknown GLUE task '${t}'; use one of ${Object.keys(GLUE_TASKS).join(', ')}`);
  return task as GlueTask;
}

interface FinetuneFlags extends TrainingFlags {
  run?: string;
  model?: string;
  tokenizer?: string;
  task: string;
  data: string;
}

export function registerFinetune(program: Command): void {
  const cmd = program
    .command('finetune')
    .description('fine-tune a pre-trained BERT on one GLUE task and report its dev metric')
    .option('--run <dir>', 'a growbert run (its latest checkpoint) or checkpoint folder')
    .option('--model <dir>', 'a Hugging Face BERT folder (config.json + model.safetensors)')
    .option('--tokenizer <file>', 'vocab.txt / tokenizer.json, for a --model folder without one')
    .requiredOption('--task <name>', `GLUE task: ${Object.keys(GLUE_TASKS).join('|')}`)
    .requiredOption('--data <dir>', 'GLUE root folder holding SST-2/, MRPC/, CoLA/, ...');
  addTrainingOptions(cmd).action((f: FinetuneFlags) => finetuneCommand(f));
}

async function finetuneCommand(f: FinetuneFlags): Promise<void> {
  const task = parseTask(f.task);
  const r = await finetune(
    { ...trainingOptions(f), task, dataDir: f.data, run: f.run, model: f.model, tokenizer: f.tokenizer },
    { log: cliLog },
  );
  const spread = Object.keys(r.mean)
    .map((k) => `${k} ${r.mean[k]!.toFixed(4)}${r.seeds.length > 1 ? ` ± ${r.std[k]!.toFixed(4)}` : ''}`)
    .join(', ');
  console.log(
    `${task} dev (${r.seeds.length} seed${r.seeds.length > 1 ? 's' : ''}, last epoch): ${r.seeds.length > 1 ? spread : formatMetrics(r.mean)}`,
  );
  if (f.json) console.log(JSON.stringify(r));
}
