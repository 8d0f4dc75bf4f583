// The growth-step experiment's numbers and report: per variant, the loss right after growth and
// at the end, as mean and spread over seeds; each variant against the base variant, with the
// difference called "within seed noise" when it is no larger than the seeds' own spread.
import * as path from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { writeChart } from './plot.js';
import type { RunCurve, Variant } from './growth-step.js';
import { difference, halfRange, stat, type Stat } from './analysis.js';

export interface VariantSummary {
  name: string;
  what: string;
  afterGrowth: Stat;
  final: Stat;
  /** the mean curve (steps after growth -> mean loss) */
  curve: { step: number; seconds: number; flops: number; loss: number; min: number; max: number }[];
  copyGap: Stat | null;
  /** final loss minus base's (mean), and whether it beats the seed spread */
  vsBase: { delta: number; noise: number; beyondNoise: boolean } | null;
}

export function summarise(curves: RunCurve[], variants: Variant[]): VariantSummary[] {
  const byName = (n: string) => curves.filter((c) => c.variant === n);
  const base = byName(variants[0].name);
  const baseFinal = stat(base.map((c) => c.valLoss[c.valLoss.length - 1]));
  return variants
    .filter((v) => byName(v.name).length > 0)
    .map((v) => {
      const runs = byName(v.name);
      const final = stat(runs.map((c) => c.valLoss[c.valLoss.length - 1]));
      const len = Math.min(...runs.map((c) => c.valLoss.length));
      const curve = Array.from({ length: len }, (_, i) => {
        const s = stat(runs.map((c) => c.valLoss[i]));
        return {
          step: runs[0].steps[i],
          seconds: stat(runs.map((c) => c.seconds[i])).mean,
          flops: stat(runs.map((c) => c.flops?.[i] ?? 0)).mean,
          loss: s.mean,
          min: s.min,
          max: s.max,
        };
      });
      const gaps = runs.map((c) => c.copyGap).filter((g): g is number => g !== null);
      return {
        name: v.name,
        what: v.what,
        afterGrowth: stat(runs.map((c) => c.valLoss[0])),
        final,
        curve,
        copyGap: gaps.length ? stat(gaps) : null,
        vsBase: v.name === variants[0].name ? null : difference(final, baseFinal),
      };
    });
}

const f4 = (x: number) => x.toFixed(4);
const pm = (s: Stat) => `${f4(s.mean)} ± ${halfRange(s).toFixed(4)}`;

export interface ReportInfo {
  out: string;
  command: string;
  setup: string;
  lossBeforeGrowth: number;
  conclusions?: string[];
  /** the copy-gap column's heading (default: the FFN's, layer 0) */
  gapLabel?: string;
  /** plot the second chart against training FLOPs (the control equalised by FLOPs) instead of seconds */
  byFlops?: boolean;
}

/** results.json, report.md and the plots (loss against steps and against seconds after growth). */
export async function writeGrowthStepReport(
  info: ReportInfo,
  curves: RunCurve[],
  variants: Variant[],
): Promise<VariantSummary[]> {
  const sums = summarise(curves, variants);
  const grown = sums.filter((s) => !variants.find((v) => v.name === s.name)?.control);
  await writeChart(path.join(info.out, 'loss-after-growth-steps'), {
    title: 'Validation loss after growth (mean over seeds)',
    xLabel: 'optimizer steps after growth',
    yLabel: 'validation loss',
    series: grown.map((s) => ({ name: s.name, points: s.curve.map((p) => ({ x: p.step, y: p.loss })) })),
    hLines: [{ y: info.lossBeforeGrowth, label: 'small model before growth' }],
  });
  const x = info.byFlops ? 'flops' : 'seconds';
  await writeChart(path.join(info.out, `loss-after-growth-${x}`), {
    title: `Validation loss after growth against ${info.byFlops ? 'training FLOPs' : 'wall-clock'} (mean over seeds)`,
    xLabel: info.byFlops ? 'training FLOPs after growth (cost model)' : 'training seconds after growth',
    yLabel: 'validation loss',
    series: sums.map((s) => ({ name: s.name, points: s.curve.map((p) => ({ x: p[x], y: p.loss })) })),
    hLines: [{ y: info.lossBeforeGrowth, label: 'small model before growth' }],
  });
  atomicWriteFile(
    path.join(info.out, 'results.json'),
    JSON.stringify(
      {
        command: info.command,
        setup: info.setup,
        lossBeforeGrowth: info.lossBeforeGrowth,
        variants: sums,
        runs: curves,
      },
      null,
      2,
    ) + '\n',
  );
  const md = [
    '# Growth-step experiment',
    '',
    `Command: \`${info.command}\``,
    '',
    info.setup,
    '',
    `Small model before growth: validation loss ${f4(info.lossBeforeGrowth)}. Values are mean ± half the range over ${sums[0].final.n} seeds. ` +
      '"vs base" is the final loss minus the base variant\'s; it is beyond seed noise only when larger than the two variants\' half-ranges added.',
    '',
    `| variant | what | loss right after growth | final loss | vs base | ${info.gapLabel ?? 'FFN copy gap (layer 0)'} |`,
    '|---|---|---|---|---|---|',
    ...sums.map(
      (s) =>
        `| ${s.name} | ${s.what} | ${pm(s.afterGrowth)} | ${pm(s.final)} | ${s.vsBase ? `${s.vsBase.delta >= 0 ? '+' : ''}${f4(s.vsBase.delta)} (${s.vsBase.beyondNoise ? 'beyond' : 'within'} noise ±${f4(s.vsBase.noise)})` : '-'} | ${s.copyGap ? s.copyGap.mean.toExponential(2) : '-'} |`,
    ),
    '',
    '![loss after growth, by steps](loss-after-growth-steps.png)',
    `![loss after growth, by ${info.byFlops ? 'FLOPs' : 'wall-clock'}](loss-after-growth-${x}.png)`,
    '',
    ...(info.conclusions?.length ? ['## What this decides', '', ...info.conclusions, ''] : []),
    `Plots: \`loss-after-growth-steps.svg\`, \`loss-after-growth-${x}.svg\` (and PNG). Every run: \`<variant>/seed-<n>/metrics.jsonl\`.`,
    '',
  ];
  atomicWriteFile(path.join(info.out, 'report.md'), md.join('\n'));
  return sums;
}
