// `growbert glue`: several GLUE tasks on one run, with glue.md / glue.json written into the
// run folder (or --out).
import type { Command } from 'commander';
import { glueMarkdown, parseTaskList } from '../eval/glue-suite.js';
import { glue } from '../api/glue.js';
import { addTrainingOptions, cliLog, trainingOptions, type TrainingFlags } from './finetune.js';

interface GlueFlags extends TrainingFlags {
  run?: string;
  model?: string;
  tokenizer?: string;
  tasks: string;
  data: string;
  out?: string;
}

export function registerGlue(program: Command): void {
  const cmd = program
    .command('glue')
    .description('fine-tune on several GLUE tasks and write glue.md and glue.json')
    .option('--run <dir>', 'a growbert run (its latest checkpoint) or checkpoint folder')
    .option('--model <dir>', 'a Hugging Face BERT folder (config.json + model.safetensors)')
    .option('--tokenizer <file>', 'vocab.txt / tokenizer.json, for a --model folder without one')
    .option('--tasks <list>', 'comma-separated GLUE tasks', 'sst2,mrpc,cola')
    .requiredOption('--data <dir>', 'GLUE root folder holding SST-2/, MRPC/, CoLA/, ...')
    .option('--out <dir>', 'where glue.md and glue.json go (default: the --run / --model folder)');
  addTrainingOptions(cmd).action((f: GlueFlags) => glueCommand(f));
}

async function glueCommand(f: GlueFlags): Promise<void> {
  const tasks = parseTaskList(f.tasks);
  const r = await glue(
    {
      ...trainingOptions(f),
      tasks,
      dataDir: f.data,
      run: f.run,
      model: f.model,
      tokenizer: f.tokenizer,
      out: f.out,
    },
    { log: cliLog },
  );
  console.log('');
  console.log(glueMarkdown(r).trimEnd());
  if (r.files) console.log(`\nwrote ${r.files.markdown} and ${r.files.json}`);
  if (f.json) console.log(JSON.stringify(r));
}
