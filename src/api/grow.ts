// growRun(): what `growbert grow` does. Grows a run's checkpoint (weights and optimizer state) into a
// bigger model and writes it as a new run folder that pretrain({ out: NEW, resume: true }) continues. The
// source is only read; nothing is written unless growth succeeds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { GrowbertError } from '../io/errors.js';
import { guardOut, writeOutAtomically } from '../io/out-guard.js';
import {
  DEPTH_OPS,
  FFN_OPS,
  HIDDEN_OPS,
  OPTIMIZER_POLICIES,
  checkPreservation,
  grow,
  parseOps,
  type GrowOps,
  type GrowTarget,
  type PreservationReport,
} from '../grow/index.js';
import {
  BertForMaskedLM,
  bertConfig,
  fromHfConfig,
  growableShape,
  type BertConfig,
  type GrowableShape,
} from '../model/index.js';
import { dispose, manualSeed, randint, tidy, zeros } from '../tensor/index.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { readConfigFile } from '../train/config.js';
import type { OptimizerMeta } from '../train/optim/optimizer.js';
import { RunDir } from '../train/run-dir.js';
import { checkAborted, parseOptions, type CallOptions } from './common.js';

const dim = (min: number) => z.number().int().min(min).optional();

/** The options of growRun(): `growbert grow`'s flags as fields. */
export const GrowOptionsSchema = z
  .object({
    /** the source: a run folder (its latest checkpoint) or a checkpoint folder */
    from: z.string().min(1),
    /** the new run folder to write */
    out: z.string().min(1),
    /** the target shape from a file: a growbert BertConfig or a Hugging Face config.json */
    toConfig: z.string().min(1).optional(),
    /** the target shape (over toConfig's): a dimension left out keeps the source's (or toConfig's) */
    target: z
      .object({
        numHiddenLayers: dim(1),
        hiddenSize: dim(1),
        numAttentionHeads: dim(1),
        intermediateSize: dim(1),
        poolingSize: dim(1),
        ffnRank: dim(0),
      })
      .strict()
      .default({}),
    /** operators: the `--op` text ('depth=stack,ffn=share,noise=0.01') or the same as an object */
    ops: z
      .union([
        z.string(),
        z
          .object({
            depth: z.enum(DEPTH_OPS).optional(),
            ffn: z.enum(FFN_OPS).optional(),
            hidden: z.enum(HIDDEN_OPS).optional(),
            noise: z.number().min(0).optional(),
            seed: z.number().int().min(0).optional(),
            lnTransfer: z.boolean().optional(),
          })
          .strict(),
      ])
      .default(''),
    /** Adam moments: map (like the weights), grad (by gradient scale) or reset */
    optimizer: z.enum(OPTIMIZER_POLICIES).default('map'),
    /** replace an earlier growbert run in `out` (its run files only; nothing else there) */
    force: z.boolean().default(false),
  })
  .strict();
export type GrowOptions = z.input<typeof GrowOptionsSchema>;

export interface GrowRunResult {
  /** the new run folder */
  out: string;
  /** the checkpoint it was grown from */
  from: string;
  /** shape of the source and of the grown model */
  sourceConfig: BertConfig;
  modelConfig: BertConfig;
  /** one line per dimension changed, e.g. 'depth 2 -> 4 (stack)' */
  report: string[];
  /** whether the operators keep the function exactly, by construction */
  preserving: boolean;
  /** measured: logits and loss of the source and the grown model on the same fixed batch */
  preservation: PreservationReport;
}

function readTarget(o: z.output<typeof GrowOptionsSchema>, src: BertConfig): GrowTarget {
  const target: GrowTarget = {};
  if (o.toConfig) {
    const raw = readConfigFile(o.toConfig) as Record<string, unknown>;
    const c = 'hidden_size' in raw ? fromHfConfig(raw) : bertConfig({ vocabSize: src.vocabSize, ...raw } as BertConfig);
    if (c.arch !== src.arch)
      throw new GrowbertError(
        `--to-config ${o.toConfig} is arch '${c.arch}' but the source is '${src.arch}'; growth keeps the arch: give a '${src.arch}' config`,
      );
    Object.assign(target, growableShape(c));
  }
  for (const [k, v] of Object.entries(o.target)) if (v !== undefined) target[k as keyof GrowableShape] = v;
  if (Object.keys(target).length === 0)
    throw new GrowbertError(
      'no target shape: give --to-config FILE or at least one of --layers, --ffn, --hidden, --heads, --pooling, --ffn-rank',
    );
  return target;
}

/** Grows a run's checkpoint into a new run folder (see the file's header). */
export async function growRun(options: GrowOptions, call: CallOptions = {}): Promise<GrowRunResult> {
  const o = parseOptions(GrowOptionsSchema, options, 'grow options');
  checkAborted(call.signal, 'grow');
  const ops: GrowOps = typeof o.ops === 'string' ? parseOps(o.ops) : o.ops;
  const { run: srcRun, checkpoint: ckptDir } = RunDir.find(o.from);
  // Checked before any work, and again when writing: `out` must not be (or hold) the source.
  const guard = {
    out: o.out,
    inputs: [o.from, ckptDir, srcRun.dir, o.toConfig],
    force: o.force,
    kind: 'a growbert run',
    owns: (dir: string) => new RunDir(dir).isRun(),
    // read after a killed replacement is finished or undone (out-swap.ts): only what growbert claimed there
    owned: (dir: string) => new RunDir(dir).ownedEntries(),
  };
  guardOut(guard);
  const ck = loadLiveCheckpoint(ckptDir);
  const srcConfig = bertConfig(ck.trainer.modelConfig as BertConfig);
  const model = new BertForMaskedLM(srcConfig);
  let grown: ReturnType<typeof grow> | undefined;
  try {
    const target = readTarget(o, srcConfig);
    model.loadStateDict(ck.model);
    dispose(ck.model); // copied into the model
    const meta = ck.trainer.optimizer as OptimizerMeta | undefined;
    const source = ck.optimizer.size > 0 && meta ? { model, optimizer: { state: ck.optimizer, meta } } : { model };
    const r = (grown = grow(source, target, ops, o.optimizer));
    const preservation = measurePreservation(model, r.model);
    checkAborted(call.signal, 'grow'); // the last point where stopping writes nothing
    writeGrownRun(guard, { ...r, srcRun, ckptDir, source: ck, out: o.out, preservation });
    return {
      out: o.out,
      from: ckptDir,
      sourceConfig: srcConfig,
      modelConfig: r.model.config,
      report: r.report,
      preserving: r.preserving,
      preservation,
    };
  } finally {
    model.dispose();
    grown?.model.dispose();
    dispose(grown?.optimizerState);
    dispose(ck.model);
    dispose(ck.optimizer);
  }
}

/** Preservation is about equal logits on the same input: a fixed random batch. */
function measurePreservation(before: BertForMaskedLM, after: BertForMaskedLM): PreservationReport {
  const c = before.config;
  const seq = Math.min(64, c.maxPositionEmbeddings);
  manualSeed(0);
  const batch = tidy(() => ({
    inputIds: randint(5, c.vocabSize, [4, seq]),
    maskedPositions: randint(1, seq, [4, 8]),
    maskedLabels: randint(5, c.vocabSize, [4, 8]),
    tokenTypeIds: zeros([4, seq], { dtype: 'int64' }),
  }));
  try {
    return checkPreservation(before, after, batch);
  } finally {
    dispose(batch);
  }
}

interface Grown extends ReturnType<typeof grow> {
  srcRun: RunDir;
  ckptDir: string;
  source: ReturnType<typeof loadCheckpoint>;
  out: string;
  preservation: PreservationReport;
}

/** Writes the new run in a temp folder, then moves it into place: a failure leaves nothing behind. */
function writeGrownRun(guard: Parameters<typeof writeOutAtomically>[0], g: Grown): void {
  const meta = g.source.trainer.optimizer as OptimizerMeta | undefined;
  writeOutAtomically(guard, (tmp) => {
    const grown = new RunDir(tmp);
    grown.claim(true); // every entry of the new run is growbert's
    const gc = g.model.config;
    if (fs.existsSync(g.srcRun.paths.tokenizerDir))
      fs.cpSync(g.srcRun.paths.tokenizerDir, grown.paths.tokenizerDir, { recursive: true });
    const srcCfg = g.srcRun.readConfig() ?? {};
    const { budget: _b, resume: _r, ...rest } = srcCfg;
    const runCfg = {
      ...rest,
      schedule: 'full',
      out: g.out,
      model: { ...(srcCfg.model as object), ...growableShape(gc), maxPositionEmbeddings: gc.maxPositionEmbeddings },
    };
    grown.writeConfig(runCfg);
    const optimizerState = g.optimizerState ?? new Map();
    const trainer = {
      ...g.source.trainer,
      modelConfig: gc,
      stage: 0,
      schedule: 'full',
      optimizer: g.optimizerMeta ?? meta,
      grownFrom: g.ckptDir,
      growReport: g.report,
      preservation: g.preservation,
    };
    if (!g.optimizerState) delete (trainer as Record<string, unknown>).optimizer;
    try {
      grown.saveCheckpoint((g.source.trainer.step as number) ?? 0, {
        model: g.model.namedParameters(),
        optimizer: optimizerState,
        trainer,
      });
    } finally {
      dispose(optimizerState);
    }
  });
}

/**
 * Loads the checkpoint to grow from. A run still training prunes its older checkpoints
 * (--keep-checkpoints): one that vanishes mid-read is reported as that, not as a bare ENOENT.
 */
function loadLiveCheckpoint(ckptDir: string): ReturnType<typeof loadCheckpoint> {
  try {
    return loadCheckpoint(ckptDir);
  } catch (e) {
    const gone = (e as NodeJS.ErrnoException).code === 'ENOENT' || /ENOENT|no such file/.test(String(e));
    if (!gone || fs.existsSync(path.join(ckptDir, 'manifest.json'))) throw e;
    throw new GrowbertError(
      `checkpoint ${ckptDir} was removed while it was read (a run still training prunes its older checkpoints); give --from the run folder again to take its newest checkpoint, or copy the checkpoint first`,
    );
  }
}
