// `growbert compare`: baseline vs growth schedules at equal budgets, with the small-only control.
import type { Command } from 'commander';
import { GrowbertError, oneOf } from '../io/errors.js';
import { seededLines } from '../report/compare.js';
import { compare } from '../api/compare.js';
import { flagNumber, positive } from './args.js';
import { parseTaskList } from '../eval/glue-suite.js';
import { PRECISIONS, PRESET_NAMES, type PretrainConfigInput } from '../train/config.js';
import type { PresetName } from '../model/index.js';
import { CLOCKS, type Clock } from '../train/budget-clock.js';
import { withStopSignals } from '../train/signals.js';
import { LR_HORIZONS, type LrHorizon } from '../schedule/schedule.js';

interface CompareOpts {
  target: string;
  schedules: string;
  budget: string;
  out: string;
  data?: string[];
  seed: string;
  seeds: string;
  device: string;
  precision: string;
  threads?: string;
  batchSize?: string;
  seqLength?: string;
  vocabSize?: string;
  lr?: string;
  evalBatches: string;
  cacheDir?: string;
  progress?: boolean;
  glue?: string;
  glueData?: string;
  glueMaxTrain?: string;
  glueEpochs: string;
  parallel: string;
  clock?: string;
  lrHorizon?: string;
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description(
      'run the full baseline, growth schedules and the small-only control at equal budgets; write report.md, results.json and plots',
    )
    .option('--target <size>', `target size: ${PRESET_NAMES.join(', ')}`, 'tiny')
    .option(
      '--schedules <list>',
      'schedules to compare with full (comma-separated presets or JSON files)',
      'stack,length,width,compound',
    )
    .requiredOption(
      '--budget <list>',
      'budgets, comma-separated: steps (600), tokens (2Mtok), time (5m,15m) or FLOPs (1e13flops,3e13flops)',
    )
    .option('--parallel <n>', 'runs side by side, each a process of its own with one thread (unless --threads)', '1')
    .option(
      '--clock <c>',
      `the clock time budgets charge: ${oneOf(CLOCKS)} (default: cpu with --parallel above 1, its own CPU time per run; else wall)`,
    )
    .requiredOption('--out <dir>', 'folder for the runs and the report')
    .option('--data <spec...>', 'corpus (default stdlib:sotu stdlib:moby-dick)')
    .option('--seed <n>', 'first seed (every schedule runs with the same seeds)', '0')
    .option(
      '--seeds <n>',
      'seeds per schedule (seed, seed+1, ...): results as mean and spread, differences within the spread called noise',
      '2',
    )
    .option('--device <d>', 'cpu or cuda', 'cpu')
    .option('--precision <p>', `${oneOf(PRECISIONS)}; auto: bf16 where the hardware has fast bfloat16`, 'auto')
    .option('--threads <n>', 'CPU threads')
    .option('--batch-size <n>', "sequences per step (default: the target preset's)")
    .option('--seq-length <n>', "sequence length (default: the target preset's)")
    .option('--vocab-size <n>', "vocabulary size (default: the target preset's)")
    .option('--lr <x>', "peak learning rate (default: the target preset's)")
    .option(
      '--lr-horizon <h>',
      `LR decay horizon of the growth schedules' stages: ${oneOf(LR_HORIZONS)} (default stage)`,
    )
    .option('--eval-batches <n>', 'validation batches per evaluation', '20')
    .option('--cache-dir <dir>', 'tokenizer and token-cache folder')
    .option('--progress', 'draw progress bars')
    .option(
      '--glue <tasks>',
      "also fine-tune each schedule's final model (largest budget) on these GLUE tasks, e.g. sst2,mrpc",
    )
    .option('--glue-data <dir>', 'the GLUE folder (SST-2/, MRPC/, ...)')
    .option('--glue-max-train <n>', 'fine-tune on at most this many examples per task')
    .option('--glue-epochs <n>', 'fine-tuning epochs', '3')
    .action(async (o: CompareOpts) => {
      if (o.lrHorizon !== undefined && !(LR_HORIZONS as readonly string[]).includes(o.lrHorizon))
        throw new GrowbertError(`--lr-horizon ${o.lrHorizon}: use ${oneOf(LR_HORIZONS)}`);
      const base: PretrainConfigInput = {
        ...(o.lrHorizon ? { lrHorizon: o.lrHorizon as LrHorizon } : {}),
        data: {
          ...(o.data ? { specs: o.data } : {}),
          seqLength: positive(o.seqLength, 'seq-length'),
          vocabSize: positive(o.vocabSize, 'vocab-size'),
          ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
        },
        train: {
          seed: flagNumber(o.seed, 'seed'),
          batchSize: positive(o.batchSize, 'batch-size'),
          lr: positive(o.lr, 'lr', false),
          evalBatches: flagNumber(o.evalBatches, 'eval-batches'),
        },
        runtime: {
          device: o.device,
          precision: o.precision as 'auto' | 'fp32' | 'bf16',
          threads: positive(o.threads, 'threads'),
          progress: o.progress,
        },
      };
      if (o.glue && !o.glueData)
        throw new GrowbertError('--glue needs --glue-data DIR (the GLUE folder holding SST-2/, MRPC/, ...)');
      const glue = o.glue
        ? {
            tasks: parseTaskList(o.glue),
            dataDir: o.glueData!,
            maxTrain: positive(o.glueMaxTrain, 'glue-max-train'),
            epochs: positive(o.glueEpochs, 'glue-epochs'),
          }
        : undefined;
      for (const [flag, v] of [
        ['schedules', o.schedules],
        ['budget', o.budget],
        ['seed', o.seed],
      ] as const)
        if (
          String(v)
            .split(',')
            .every((x) => x.trim() === '')
        )
          throw new GrowbertError(`--${flag} "": the value is empty; give one (see --help) or leave the flag out`);
      if (o.clock !== undefined && !(CLOCKS as readonly string[]).includes(o.clock))
        throw new GrowbertError(`--clock ${o.clock}: use ${oneOf(CLOCKS)}`);
      const first = Number(o.seed);
      const seeds = Array.from({ length: positive(o.seeds, 'seeds')! }, (_, i) => first + i);
      if (!(PRESET_NAMES as readonly string[]).includes(o.target))
        throw new GrowbertError(`unknown target '${o.target}'; use ${oneOf(PRESET_NAMES)}`);
      const parallel = positive(o.parallel, 'parallel');
      const run = () =>
        compare(
          {
            glue,
            seeds,
            parallel,
            clock: o.clock as Clock | undefined,
            target: o.target as PresetName,
            schedules: o.schedules
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
            budgets: o.budget
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
            out: o.out,
            base,
            command: `growbert compare ${process.argv.slice(3).join(' ')}`,
            progress: o.progress ?? false,
          },
          { log: (l) => console.error(l) },
        );
      // In one process, a signal during the planning or a run's data preparation stops it there or after
      // the run's first step, with a message (as pretrain does); --parallel passes signals on to its runs.
      const results = (parallel ?? 1) > 1 ? await run() : await withStopSignals(() => run());
      for (const r of results) {
        if (seeds.length > 1) {
          const v = r.seeded.fullBeatsSmallOnly;
          console.log(
            `budget ${r.budget}, seeds ${seeds.join(',')}: ${v === 'yes' ? 'full beats small-only beyond the seed spread' : v === 'no' ? 'small-only beats full: speedups not meaningful' : v === 'within noise' ? 'full and small-only within seed noise: speedups not meaningful' : ''}`,
          );
          for (const l of seededLines(r.seeded)) console.log(l);
          continue;
        }
        console.log(
          `budget ${r.budget}: full ${r.baselineFinalLoss.toFixed(4)}${r.smallOnlyFinalLoss !== null ? `, small-only ${r.smallOnlyFinalLoss.toFixed(4)} (${r.fullBeatsSmallOnly ? 'full beats small-only' : 'full does NOT beat small-only: speedups not meaningful'})` : ''}`,
        );
        for (const s of r.schedules)
          console.log(
            `  ${s.name.padEnd(12)} final ${s.finalValLoss.toFixed(4)}  speedup time ${s.speedupTime === null ? 'not reached' : `${(100 * s.speedupTime).toFixed(1)}%`}  FLOPs ${s.speedupFlops === null ? 'not reached' : `${(100 * s.speedupFlops).toFixed(1)}%`}`,
          );
      }
      console.log(`report: ${o.out}/report.md`);
    });
}
