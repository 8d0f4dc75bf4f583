// `growbert compare`: runs each schedule (plus the full baseline and the small-only control) from
// the same seed and data, for each budget (one after another, or --parallel N side by side:
// src/report/compare-runs.ts); then writes results.json, report.md and the plots. Each run is an
// ordinary run folder under OUT.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { GrowbertError } from '../io/errors.js';
import { guardOut } from '../io/out-guard.js';
import { parseBudget } from '../schedule/plan.js';
import { SCHEDULE_PRESETS } from '../schedule/schedule.js';
import type { Clock } from '../train/budget-clock.js';
import type { PretrainConfigInput } from '../train/config.js';
import { RunDir } from '../train/run-dir.js';
import { budgetUse, compareClock, planRuns, runAll, type BudgetUse } from './compare-runs.js';
import {
  aggregateSeeds,
  analyse,
  curveFromMetrics,
  halfRange,
  type BudgetResult,
  type Curve,
  type SeededBudgetResult,
  type Stat,
} from './analysis.js';
import { writeChart } from './plot.js';
import { runGlueSuite, type GlueSuiteResult } from '../eval/glue-suite.js';
import type { GlueTask } from '../eval/glue-data.js';

export interface CompareOptions {
  target: string;
  schedules: string[];
  budgets: string[];
  out: string;
  /** extra pre-training config (data, seed, device, threads, batch...) shared by every run */
  base: PretrainConfigInput;
  command: string;
  say: (l: string) => void;
  progress?: boolean;
  /** fine-tune each schedule's final model of the largest budget on these GLUE tasks */
  glue?: { tasks: GlueTask[]; dataDir: string; maxTrain?: number; epochs?: number };
  /** runs side by side, each a process of its own (one thread each unless base.runtime.threads says) */
  parallel?: number;
  /** the clock time budgets charge (default: cpu with parallel > 1, else wall) */
  clock?: Clock;
  /** seeds to run every schedule with (default: the base config's one seed); the first seed's
   * runs keep the one-seed folder names, so an earlier compare is reused */
  seeds?: number[];
  /** stops the comparison: the run in progress stops (a cut-off run starts over when compare is rerun) */
  signal?: AbortSignal;
}

const dirName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** The schedules actually run: the requested ones plus the baseline and the control, baseline first. */
export function comparedSchedules(requested: string[]): string[] {
  const out = ['full', ...requested.filter((s) => s !== 'full' && s !== 'small-only'), 'small-only'];
  for (const s of out) {
    if (!(SCHEDULE_PRESETS as readonly string[]).includes(s) && !fs.existsSync(s))
      throw new GrowbertError(`unknown schedule '${s}'; use ${SCHEDULE_PRESETS.join(', ')} or a JSON file`);
  }
  return out;
}

/** The run folder of a schedule, budget and seed (the first seed keeps the one-seed name). */
export function runFolder(out: string, budget: string, schedule: string, seed: number, firstSeed: number): string {
  const name = dirName(path.basename(schedule, '.json'));
  return path.join(out, dirName(budget), seed === firstSeed ? name : `${name}-seed${seed}`);
}

/** A folder an earlier compare wrote: its plans (schedules/), or its results. */
export function isCompareFolder(dir: string): boolean {
  return ['schedules', 'results.json', 'report.md'].some((n) => fs.existsSync(path.join(dir, n)));
}

export async function compare(o: CompareOptions): Promise<(BudgetResult & { seeded: SeededBudgetResult })[]> {
  const schedules = comparedSchedules(o.schedules);
  for (const b of o.budgets) parseBudget(b);
  const seeds = o.seeds?.length ? o.seeds : [o.base.train?.seed ?? 0];
  // OUT is a new or empty folder, or an earlier compare's (which this one continues): never a
  // folder of other files, since runs cut off in it are deleted and started over.
  guardOut({
    out: o.out,
    inputs: [...(o.base.data?.specs ?? []), o.base.data?.tokenizer, o.glue?.dataDir],
    kind: 'an earlier growbert compare',
    owns: isCompareFolder,
    reuse: true,
    forceHint: null,
  });
  fs.mkdirSync(o.out, { recursive: true });
  const plans = await planRuns(o, schedules);
  const runs = o.budgets.flatMap((budget) =>
    seeds.flatMap((seed) =>
      schedules.map((schedule) => ({
        budget,
        schedule,
        seed,
        runDir: runFolder(o.out, budget, schedule, seed, seeds[0]),
      })),
    ),
  );
  await runAll(o, runs, plans);
  const clock = compareClock(o);
  const results: BudgetResult[] = [];
  const seeded: SeededBudgetResult[] = [];
  const curvesByBudget: Curve[][] = [];
  const uses: BudgetUse[][] = [];
  for (const budget of o.budgets) {
    const perSeed: BudgetResult[] = [];
    for (const seed of seeds) {
      const mine = runs.filter((r) => r.budget === budget && r.seed === seed);
      const curves = mine.map((r) => curveFromMetrics(path.basename(r.schedule, '.json'), onClock(r.runDir, clock)));
      // the plots show the first seed's curves
      if (seed === seeds[0]) curvesByBudget.push(curves);
      perSeed.push(analyse(budget, curves));
    }
    uses.push(runs.filter((r) => r.budget === budget).map((r) => budgetUse(r, clock)));
    results.push({ ...perSeed[0] });
    seeded.push(aggregateSeeds(seeds, perSeed));
  }
  // Downstream quality: "comparable performance" is judged by fine-tuning, on the largest budget.
  const glue = new Map<string, GlueSuiteResult>();
  if (o.glue) {
    const budget = o.budgets[o.budgets.length - 1];
    for (const s of schedules) {
      const name = path.basename(s, '.json');
      o.say(`compare: GLUE (${o.glue.tasks.join(', ')}) for ${name}, budget ${budget}`);
      glue.set(
        name,
        runGlueSuite({
          run: path.join(o.out, dirName(budget), dirName(name)),
          tasks: o.glue.tasks,
          dataDir: o.glue.dataDir,
          maxTrain: o.glue.maxTrain,
          epochs: o.glue.epochs,
          device: o.base.runtime?.device as never,
        }),
      );
    }
  }
  await writeReport(o, results, curvesByBudget, glue, seeded, uses);
  return results.map((r, i) => ({ ...r, seeded: seeded[i] }));
}

/** A run's metrics with `seconds` on the budget's clock: CPU time when the runs shared the machine. */
function onClock(runDir: string, clock: Clock) {
  const lines = new RunDir(runDir).readMetrics();
  return clock === 'cpu' ? lines.map((l) => ({ ...l, seconds: Number(l.cpuSeconds ?? l.seconds) })) : lines;
}

const pct = (x: number | null) => (x === null ? 'not reached' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`);
const num = (x: number | null, d = 1) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
const tflops = (x: number | null) => (x === null || !Number.isFinite(x) ? '-' : (x / 1e12).toFixed(2));

async function writeReport(
  o: CompareOptions,
  results: BudgetResult[],
  curves: Curve[][],
  glue: Map<string, GlueSuiteResult>,
  seeded: SeededBudgetResult[],
  uses: BudgetUse[][],
): Promise<void> {
  const plots: string[] = [];
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    const stem = path.join(o.out, `loss-${dirName(r.budget)}`);
    for (const axis of ['seconds', 'flops'] as const) {
      const scale = axis === 'flops' ? 1e12 : 1;
      await writeChart(`${stem}-${axis}`, {
        title: `Validation MLM loss, target ${o.target}, budget ${r.budget}`,
        xLabel: axis === 'flops' ? 'training TFLOPs' : 'training wall-clock seconds',
        yLabel: 'validation loss',
        series: curves[i].map((c) => ({
          name: c.name,
          points: c.evals.map((e) => ({ x: e[axis] / scale, y: e.valLoss })),
        })),
        markers: curves[i].flatMap((c) =>
          c.grows.map((g) => ({ x: g[axis] / scale, series: c.name, label: `${c.name} grows` })),
        ),
        hLines: [{ y: r.baselineFinalLoss, label: 'full: final loss' }],
      });
      plots.push(`${path.basename(stem)}-${axis}`);
    }
  }
  if (results.length > 1) {
    const names = curves[0].map((c) => c.name);
    const budgets = results.map((r) => parseBudget(r.budget));
    await writeChart(path.join(o.out, 'final-loss-by-budget'), {
      title: `Final validation loss against budget, target ${o.target}`,
      xLabel: `budget (${budgets[0].unit})`,
      yLabel: 'final validation loss',
      logX: true,
      series: names.map((n, k) => ({
        name: n,
        points: results.map((r, i) => ({ x: budgets[i].amount, y: r.schedules[k].finalValLoss })),
      })),
    });
    plots.push('final-loss-by-budget');
  }
  const json = {
    target: o.target,
    command: o.command,
    // the clock time budgets charged, and each run's measured use of its budget (per stage too)
    clock: compareClock(o),
    parallel: o.parallel ?? 1,
    budgets: results.map((r, i) => ({ ...r, runs: uses[i] })),
    // every budget over all seeds: mean, min and max of each figure (the budgets above are the first seed's)
    seeds: seeded[0].seeds,
    seeded,
    // The last (largest) budget's per-schedule results, flat, for quick reading.
    schedules: results[results.length - 1].schedules.map((s) => ({
      name: s.name,
      finalValLoss: s.finalValLoss,
      secondsToBaselineLoss: s.secondsToBaselineLoss,
      flopsToBaselineLoss: s.flopsToBaselineLoss,
      speedupTime: s.speedupTime,
      speedupFlops: s.speedupFlops,
      meaningful: s.meaningful,
      ...(glue.has(s.name)
        ? {
            glue: Object.fromEntries(glue.get(s.name)!.tasks.map((t) => [t.task, t.score.mean])),
            glueAverage: glue.get(s.name)!.average,
          }
        : {}),
    })),
  };
  atomicWriteFile(path.join(o.out, 'results.json'), JSON.stringify(json, null, 2) + '\n');

  const md: string[] = [
    `# Growth comparison: target \`${o.target}\``,
    '',
    `Command: \`${o.command}\``,
    '',
    `Every schedule ran from the same seed and data, ${(o.parallel ?? 1) > 1 ? `${o.parallel} runs side by side, each a process of its own` : 'one after another on this machine'}; time budgets were charged on the ${compareClock(o) === 'cpu' ? "**CPU clock** (each run's own process CPU time)" : '**wall clock**'}. Validation loss is the masked-LM loss on the same fixed validation batches. Time is training time on that clock (evaluation and checkpoints excluded); FLOPs come from the cost model (\`growbert plan\`). Speedup = baseline cost / schedule cost to reach the baseline's final loss - 1, as the paper reports it.`,
    '',
  ];
  for (const [i, r] of results.entries()) {
    md.push(`## Budget ${r.budget}`, '');
    if (seeded[i].seeds.length > 1) md.push(...seededTable(seeded[i]), `Per seed ${seeded[i].seeds[0]} (plotted):`, '');
    if (r.fullBeatsSmallOnly === false) {
      md.push(
        `**Full does not beat small-only here** (full ${num(r.baselineFinalLoss, 4)} vs small-only ${num(r.smallOnlyFinalLoss, 4)}): at this budget a smaller model is simply better, so "time to the baseline's final loss" flatters growth. The speedups below are **not meaningful**.`,
        '',
      );
    } else if (r.fullBeatsSmallOnly) {
      md.push(
        `Full beats small-only (${num(r.baselineFinalLoss, 4)} vs ${num(r.smallOnlyFinalLoss, 4)}): the regime where growth can pay.`,
        '',
      );
    }
    md.push(
      '| schedule | final val loss | train seconds | TFLOPs | seconds to baseline loss | TFLOPs to baseline loss | speedup (time) | speedup (FLOPs) |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const s of r.schedules) {
      const flag = s.meaningful ? '' : ' (not meaningful)';
      md.push(
        `| ${s.name} | ${num(s.finalValLoss, 4)} | ${num(s.seconds)} | ${tflops(s.flops)} | ${num(s.secondsToBaselineLoss)} | ${tflops(s.flopsToBaselineLoss)} | ${pct(s.speedupTime)}${s.speedupTime === null ? '' : flag} | ${pct(s.speedupFlops)}${s.speedupFlops === null ? '' : flag} |`,
      );
    }
    md.push(
      '',
      ...budgetUseTable(uses[i]),
      `![loss against time](loss-${dirName(r.budget)}-seconds.png)`,
      `![loss against FLOPs](loss-${dirName(r.budget)}-flops.png)`,
      '',
    );
  }
  if (results.length > 1)
    md.push('## Final loss against budget', '', '![final loss against budget](final-loss-by-budget.png)', '');
  if (glue.size > 0) {
    const tasks = o.glue!.tasks;
    md.push(
      `## GLUE dev (budget ${results[results.length - 1].budget}; fine-tuned from each schedule's final model)`,
      '',
      `| schedule | ${tasks.join(' | ')} | average |`,
      `|---|${tasks.map(() => '---|').join('')}---|`,
    );
    for (const [name, g] of glue)
      md.push(
        `| ${name} | ${g.tasks.map((t) => (100 * t.score.mean).toFixed(1)).join(' | ')} | ${(100 * g.average).toFixed(1)} |`,
      );
    md.push('');
  }
  md.push(`Plots (SVG and PNG): ${plots.map((p) => `\`${p}.svg\``).join(', ')}.`, '');
  atomicWriteFile(path.join(o.out, 'report.md'), md.join('\n'));
}

/** What each run got of its budget; a run below 98% of its share is flagged. */
function budgetUseTable(uses: BudgetUse[]): string[] {
  if (uses.length === 0) return [];
  const u0 = uses[0];
  const what = u0.unit === 'seconds' ? `training seconds (${u0.clock} clock)` : u0.unit;
  const f = (x: number) =>
    u0.unit === 'flops' ? x.toExponential(3) : u0.unit === 'seconds' ? x.toFixed(1) : String(x);
  const stages = (u: BudgetUse) =>
    u.stages
      .map(
        (s) =>
          `${s.name}: ${s.steps}/${s.plannedSteps} steps, ${s.seconds.toFixed(1)}${s.plannedSeconds !== undefined ? `/${s.plannedSeconds.toFixed(1)}` : ''} s`,
      )
      .join('; ');
  return [
    `Budget use (${what}; per stage actual/planned steps and seconds):`,
    '',
    '| schedule | seed | measured | share | of share | wall s | CPU s | stages |',
    '|---|---|---|---|---|---|---|---|',
    ...uses.map(
      (u) =>
        `| ${u.schedule} | ${u.seed} | ${f(u.measured)} | ${f(u.share)} | ${((100 * u.measured) / u.share).toFixed(1)}%${u.short ? ' **short (< 98%)**' : ''} | ${u.seconds.toFixed(1)} | ${u.cpuSeconds.toFixed(1)} | ${stages(u)} |`,
    ),
    '',
  ];
}

const pmStat = (x: Stat | null, f: (v: number) => string) =>
  x === null ? 'not reached' : x.n > 1 ? `${f(x.mean)} [${f(x.min)}, ${f(x.max)}]` : f(x.mean);

/** The over-seeds table: mean [min, max]; a difference from full is called noise unless it beats the spread. */
function seededTable(r: SeededBudgetResult): string[] {
  const n = r.seeds.length;
  const verdict =
    r.fullBeatsSmallOnly === 'yes'
      ? 'Full beats small-only beyond the seed spread: the regime where growth can pay.'
      : r.fullBeatsSmallOnly === 'no'
        ? '**Small-only beats full beyond the seed spread**: the speedups are not meaningful here.'
        : r.fullBeatsSmallOnly === 'within noise'
          ? '**Full and small-only are within seed noise of each other**: the speedups are not meaningful here.'
          : '';
  return [
    `Over ${n} seeds (${r.seeds.join(', ')}): mean [min, max]. A difference from full counts only when it is larger than the two schedules' half-ranges added.`,
    '',
    ...(verdict ? [verdict, ''] : []),
    "| schedule | final val loss | vs full | speedup (time) | speedup (FLOPs) | seeds reaching full's loss |",
    '|---|---|---|---|---|---|',
    ...r.schedules.map(
      (s) =>
        `| ${s.name} | ${pmStat(s.finalValLoss, (v) => v.toFixed(4))} | ${s.name === 'full' ? '-' : `${s.vsFull.delta >= 0 ? '+' : ''}${s.vsFull.delta.toFixed(4)} (${s.vsFull.beyondNoise ? 'beyond' : 'within'} seed noise ±${s.vsFull.noise.toFixed(4)})`} | ${pmStat(s.speedupTime, (v) => pct(v))} | ${pmStat(s.speedupFlops, (v) => pct(v))} | ${s.reached} of ${n} |`,
    ),
    '',
  ];
}

/** One line per schedule for the console: mean and spread over seeds. */
export function seededLines(r: SeededBudgetResult): string[] {
  return r.schedules.map(
    (s) =>
      `  ${s.name.padEnd(14)} final ${s.finalValLoss.mean.toFixed(4)} ±${halfRange(s.finalValLoss).toFixed(4)}${s.name === 'full' ? '' : `  vs full ${s.vsFull.delta >= 0 ? '+' : ''}${s.vsFull.delta.toFixed(4)} (${s.vsFull.beyondNoise ? 'beyond' : 'within'} seed noise)`}  speedup time ${pmStat(s.speedupTime, (v) => pct(v))} (${s.reached}/${r.seeds.length} seeds reach full)`,
  );
}
