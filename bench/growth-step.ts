// The growth-step experiment that chose the growth defaults (docs/results/cpu-growth-step/):
//   npm run experiment:growth-step -- --out runs/growth-step [--small-steps 2000] [--grow-steps 300]
//     [--seeds 0,1] [--variants base,noise-0,...] [--threads 1] [--preset tiny] [--vocab-size 4096]
// and its hidden-size form (docs/results/cpu-hidden-growth/): the small model is the target at a
// smaller hidden size, the variants are HIDDEN_VARIANTS and the control is equalised by FLOPs:
//   npm run experiment:growth-step -- --out runs/hidden-growth --small-hidden 96 --heads 4
// Reruns reuse finished runs (a run folder with done.json), so an interrupted experiment resumes.
// src/report/growth-step.ts says what it measures; report.md, results.json and the plots land in OUT.
import { parseArgs } from 'node:util';
import { GrowbertError } from '../src/io/errors.js';
import { HIDDEN_VARIANTS, VARIANTS, runGrowthStep } from '../src/report/growth-step.js';
import { writeGrowthStepReport } from '../src/report/growth-step-report.js';
import * as fs from 'node:fs';
import * as path from 'node:path';

const { values: a } = parseArgs({
  options: {
    out: { type: 'string' },
    preset: { type: 'string', default: 'tiny' },
    'vocab-size': { type: 'string', default: '4096' },
    'small-steps': { type: 'string', default: '2000' },
    'grow-steps': { type: 'string', default: '300' },
    seeds: { type: 'string', default: '0,1' },
    variants: { type: 'string' },
    threads: { type: 'string', default: '1' },
    'eval-every': { type: 'string', default: '25' },
    'eval-batches': { type: 'string', default: '10' },
    'batch-size': { type: 'string' },
    'grown-share': { type: 'string', default: '0.3' },
    data: { type: 'string', multiple: true },
    'cache-dir': { type: 'string' },
    conclusions: { type: 'string' },
    /** the hidden-size experiment: the small model's hidden size (heads follow at the target's head size) */
    'small-hidden': { type: 'string' },
    /** the target's attention heads (a model override of the preset) */
    heads: { type: 'string' },
  },
});
const int = (k: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new GrowbertError(`--${k} must be a positive integer, got ${v}`);
  return n;
};

async function main(): Promise<void> {
  if (!a.out) throw new GrowbertError('give --out DIR for the runs and the report');
  const hidden = a['small-hidden'] !== undefined;
  const all = hidden ? HIDDEN_VARIANTS : VARIANTS;
  const names = a.variants ? a.variants.split(',').map((s) => s.trim()) : all.map((v) => v.name);
  const variants = names.map(
    (n) =>
      all.find((v) => v.name === n) ??
      (() => {
        throw new GrowbertError(`unknown variant '${n}'; use ${all.map((v) => v.name).join(', ')}`);
      })(),
  );
  if (variants[0].name !== all[0].name) variants.unshift(all[0]);
  const heads = a.heads !== undefined ? int('heads', a.heads) : undefined;
  let small: { hiddenSize: number; numAttentionHeads: number } | undefined;
  if (hidden) {
    const h = int('small-hidden', a['small-hidden']);
    const { PRESETS } = await import('../src/model/config.js');
    const p = PRESETS[a.preset as keyof typeof PRESETS];
    const headSize = p.hiddenSize / (heads ?? p.numAttentionHeads);
    if (!p || h % headSize !== 0 || h >= p.hiddenSize)
      throw new GrowbertError(
        `--small-hidden ${h} must be a multiple of the head size ${headSize} below ${p?.hiddenSize}`,
      );
    small = { hiddenSize: h, numAttentionHeads: h / headSize };
  }
  const seeds = a.seeds!.split(',').map((s) => Number(s));
  const o = {
    out: a.out,
    smallSteps: int('small-steps', a['small-steps']),
    growSteps: int('grow-steps', a['grow-steps']),
    seeds,
    variants,
    evalEvery: int('eval-every', a['eval-every']),
    grownShare: Number(a['grown-share']),
    ...(small ? { small, equalise: 'flops' as const } : {}),
    base: {
      preset: a.preset as never,
      ...(heads !== undefined ? { model: { numAttentionHeads: heads } } : {}),
      data: {
        vocabSize: int('vocab-size', a['vocab-size']),
        ...(a.data ? { specs: a.data } : {}),
        ...(a['cache-dir'] ? { cacheDir: a['cache-dir'] } : {}),
      },
      train: {
        evalBatches: int('eval-batches', a['eval-batches']),
        ...(a['batch-size'] ? { batchSize: int('batch-size', a['batch-size']) } : {}),
      },
      runtime: { device: 'cpu', threads: int('threads', a.threads), progress: false },
    },
    command: `npm run experiment:growth-step -- ${process.argv.slice(2).join(' ')}`,
    say: (l: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${l}`),
  };
  const curves = await runGrowthStep(o);
  const before = JSON.parse(
    fs.readFileSync(path.join(a.out, variants[0].name, `seed-${seeds[0]}`, 'done.json'), 'utf8'),
  ).lossBeforeGrowth as number;
  const smallWhat = small
    ? `the target at hidden ${small.hiddenSize} (${small.numAttentionHeads} heads of the target's head size; depth, FFN and length as the target's)`
    : "compound's first stage (half depth, FFN/4, length pooled by 2)";
  const setup =
    `Target \`${a.preset}\`${heads ? ` with ${heads} heads` : ''} (vocabulary ${a['vocab-size']}); the small model is ${smallWhat}, trained ${o.smallSteps} steps at a constant LR after warmup; ` +
    `each variant grows it to the target and trains ${o.growSteps} steps; the 'run' horizon treats those steps as the last ${Math.round(100 * o.grownShare)}% of a run. ` +
    (small
      ? "The control (the small model continued) runs as many steps as cost the grown steps' FLOPs by the cost model (src/schedule/cost.ts): compute is equalised by FLOPs, not wall-clock. "
      : '') +
    `Seeds ${seeds.join(', ')} change the noise draw, the masking and dropout (the batches are the same). CPU, ${a.threads} thread(s), on a machine shared with other jobs: seconds are indicative only.`;
  const sums = await writeGrowthStepReport(
    {
      out: a.out,
      command: o.command,
      setup,
      lossBeforeGrowth: before,
      conclusions: a.conclusions ? fs.readFileSync(a.conclusions, 'utf8').split('\n') : [],
      ...(small ? { byFlops: true, gapLabel: 'hidden copy gap (word embeddings)' } : {}),
    },
    curves,
    variants,
  );
  for (const s of sums)
    console.log(
      `${s.name.padEnd(16)} after growth ${s.afterGrowth.mean.toFixed(4)}  final ${s.final.mean.toFixed(4)} [${s.final.min.toFixed(4)}, ${s.final.max.toFixed(4)}]${s.vsBase ? `  vs base ${s.vsBase.delta.toFixed(4)} (${s.vsBase.beyondNoise ? 'beyond' : 'within'} noise)` : ''}`,
    );
}

main().catch((e) => {
  console.error(e instanceof GrowbertError ? `growth-step: ${e.message}` : e);
  process.exit(1);
});
