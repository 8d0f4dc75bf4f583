// The list of commands. Adding a command = one file under src/cli/ and one line here.
import type { Command } from 'commander';
import { registerDemo } from './demo.js';
import { registerCompare } from './compare.js';
import { registerDashboard } from './dashboard.js';
import { registerPlan } from './plan.js';
import { registerGrow } from './grow.js';
import { registerEval } from './eval.js';
import { registerBench } from './bench.js';
import { registerBenchDist } from './bench-dist.js';
import { registerBenchData } from './bench-data.js';
import { registerExport } from './export.js';
import { registerFinetune } from './finetune.js';
import { registerGlue } from './glue.js';
import { registerImport } from './import.js';
import { registerPretrain } from './pretrain.js';
import { registerSetup } from './setup.js';

export function registerCommands(program: Command): void {
  registerDemo(program);
  registerBench(program);
  registerBenchDist(program);
  registerBenchData(program);
  registerFinetune(program);
  registerGlue(program);
  registerExport(program);
  registerImport(program);
  registerPretrain(program);
  registerGrow(program);
  registerPlan(program);
  registerCompare(program);
  registerEval(program);
  registerDashboard(program);
  registerSetup(program);
}
