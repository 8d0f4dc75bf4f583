// The smallest real pre-training run the tests train in-process (or hand to the CLI as a config
// file): one base config, so each test spells only what it is about.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PretrainConfigInput } from '../../src/train/config.js';
import type { ScheduleInput } from '../../src/schedule/schedule.js';

export interface TinyRunOverrides {
  model?: object;
  data?: object;
  train?: object;
  runtime?: object;
  dist?: object;
  schedule?: string;
  budget?: string;
  resume?: boolean;
}

/**
 * 2 layers (hidden 32, 2 heads, FFN 64) on moby-dick, sequence 32, vocabulary 2000, batch 8,
 * 12 steps at lr 3e-3 (warmup 2), 2 evaluation batches, logging every step, seed 3, no progress bar.
 */
export function tinyRunConfig(out: string, cacheDir: string, o: TinyRunOverrides = {}): PretrainConfigInput {
  return {
    preset: 'tiny',
    model: { hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64, ...o.model },
    data: { specs: ['stdlib:moby-dick'], cacheDir, seqLength: 32, vocabSize: 2000, ...o.data },
    train: { batchSize: 8, maxSteps: 12, lr: 3e-3, warmupSteps: 2, evalBatches: 2, logEvery: 1, seed: 3, ...o.train },
    runtime: { progress: false, ...o.runtime },
    ...(o.dist && { dist: o.dist }),
    ...(o.schedule !== undefined && { schedule: o.schedule }),
    ...(o.budget !== undefined && { budget: o.budget }),
    ...(o.resume !== undefined && { resume: o.resume }),
    out,
  };
}

/** Writes a growth schedule as `dir/FILE.json` and returns its path. */
export function writeSchedule(dir: string, file: string, s: ScheduleInput): string {
  const f = path.join(dir, `${file}.json`);
  fs.writeFileSync(f, JSON.stringify(s, null, 2));
  return f;
}
