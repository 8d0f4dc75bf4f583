// `growbert grow`: grows a run's checkpoint (weights and optimizer state) into a bigger model and
// writes it as a new run folder that `growbert pretrain --out NEW --resume` continues. The
// source is only read; nothing is written unless growth succeeds.
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrowbertError, oneOf } from '../io/errors.js';
import { guardOut, writeOutAtomically } from '../io/out-guard.js';
import {
  DEPTH_OPS,
  FFN_OPS,
  HIDDEN_OPS,
  OPTIMIZER_POLICIES,
  checkPreservation,
  grow,
  parseOps,
  type GrowTarget,
  type OptimizerPolicy,
} from '../grow/index.js';
import {
  BertForMaskedLM,
  GROWABLE_KEYS,
  bertConfig,
  fromHfConfig,
  growableShape,
  type BertConfig,
  type GrowableKey,
} from '../model/index.js';
import { dispose, manualSeed, randint, tidy, zeros } from '../tensor/index.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { readConfigFile } from '../train/config.js';
import type { OptimizerMeta } from '../train/optim/optimizer.js';
import { RunDir } from '../train/run-dir.js';
import { requiredNumber } from './args.js';

interface GrowOpts {
  from: string;
  out: string;
  toConfig?: string;
  layers?: string;
  ffn?: string;
  hidden?: string;
  heads?: string;
  pooling?: string;
  ffnRank?: string;
  op: string;
  optimizer: string;
  json?: boolean;
  force?: boolean;
}

/** The flag of each growable dimension (GROWABLE_KEYS), as pretrain names them. */
const TARGET_FLAGS: Record<GrowableKey, keyof GrowOpts> = {
  numHiddenLayers: 'layers',
  hiddenSize: 'hidden',
  numAttentionHeads: 'heads',
  intermediateSize: 'ffn',
  poolingSize: 'pooling',
  ffnRank: 'ffnRank',
};

export function registerGrow(program: Command): void {
  program
    .command('grow')
    .description('grow a checkpoint (and its optimizer state) into a bigger model, as a new run')
    .requiredOption('--from <run|ckpt>', 'source run folder (its latest checkpoint) or checkpoint folder')
    .requiredOption('--out <dir>', 'new run folder to write')
    .option('--to-config <file>', 'target shape: a growbert BertConfig or a Hugging Face config.json')
    .option('--layers <n>', 'target layers')
    .option('--ffn <n>', 'target FFN width')
    .option('--hidden <n>', 'target hidden size')
    .option('--heads <n>', 'target attention heads')
    .option('--pooling <k>', 'target pooling factor (1 = off)')
    .option('--ffn-rank <r>', 'target FFN rank (0 = dense)')
    .option(
      '--op <spec>',
      `operators, e.g. depth=stack,ffn=share,hidden=fpi,noise=0.01,seed=0 (depth: ${DEPTH_OPS.join(', ')}; ffn: ${FFN_OPS.join(', ')}; hidden: ${HIDDEN_OPS.join(', ')})`,
      '',
    )
    .option(
      '--optimizer <policy>',
      `Adam moments: ${oneOf(OPTIMIZER_POLICIES)} (map: like the weights, grad: by gradient scale)`,
      'map',
    )
    .option('--force', 'replace an earlier growbert run in --out (its run files only; nothing else there)')
    .option('--json', 'print the preservation report as one JSON line last')
    .action((o: GrowOpts) => growCommand(o));
}

function readTarget(o: GrowOpts, src: BertConfig): GrowTarget {
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
  for (const key of GROWABLE_KEYS) {
    const flag = TARGET_FLAGS[key];
    const v = o[flag] as string | undefined;
    if (v === undefined) continue;
    target[key] = requiredNumber(v, flag.replace('ffnRank', 'ffn-rank'));
  }
  if (Object.keys(target).length === 0)
    throw new GrowbertError(
      'no target shape: give --to-config FILE or at least one of --layers, --ffn, --hidden, --heads, --pooling, --ffn-rank',
    );
  return target;
}

function growCommand(o: GrowOpts): void {
  if (!(OPTIMIZER_POLICIES as readonly string[]).includes(o.optimizer))
    throw new GrowbertError(`--optimizer ${o.optimizer}: use ${oneOf(OPTIMIZER_POLICIES)}`);
  const ops = parseOps(o.op);
  const { run: src, checkpoint: ckptDir } = RunDir.find(o.from);
  // Checked before any work, and again when writing: --out must not be (or hold) the source.
  const guard = {
    out: o.out,
    inputs: [o.from, ckptDir, src.dir, o.toConfig],
    force: o.force,
    kind: 'a growbert run',
    owns: (dir: string) => new RunDir(dir).isRun(),
    owned: new RunDir(o.out).ownedEntries(), // only what growbert claimed in an earlier run there
  };
  guardOut(guard);
  const ck = loadLiveCheckpoint(ckptDir);
  const srcConfig = bertConfig(ck.trainer.modelConfig as BertConfig);
  const target = readTarget(o, srcConfig);
  const model = new BertForMaskedLM(srcConfig);
  model.loadStateDict(ck.model);
  dispose(ck.model);
  const meta = ck.trainer.optimizer as OptimizerMeta | undefined;
  const source = ck.optimizer.size > 0 && meta ? { model, optimizer: { state: ck.optimizer, meta } } : { model };
  const r = grow(source, target, ops, o.optimizer as OptimizerPolicy);

  // A fixed random batch: preservation is about equal logits on the same input.
  manualSeed(0);
  const batch = tidy(() => ({
    inputIds: randint(5, srcConfig.vocabSize, [4, Math.min(64, srcConfig.maxPositionEmbeddings)]),
    maskedPositions: randint(1, Math.min(64, srcConfig.maxPositionEmbeddings), [4, 8]),
    maskedLabels: randint(5, srcConfig.vocabSize, [4, 8]),
    tokenTypeIds: zeros([4, Math.min(64, srcConfig.maxPositionEmbeddings)], { dtype: 'int64' }),
  }));
  const report = checkPreservation(model, r.model, batch);
  dispose(batch);

  // Write the new run in a temp folder, then move it into place: a failure leaves nothing behind.
  try {
    writeOutAtomically(guard, (tmp) => {
      const grown = new RunDir(tmp);
      grown.claim(true); // every entry of the new run is growbert's
      const gc = r.model.config;
      if (fs.existsSync(src.paths.tokenizerDir))
        fs.cpSync(src.paths.tokenizerDir, grown.paths.tokenizerDir, { recursive: true });
      const srcCfg = src.readConfig() ?? {};
      const { budget: _b, resume: _r, ...rest } = srcCfg;
      const runCfg = {
        ...rest,
        schedule: 'full',
        out: o.out,
        model: { ...(srcCfg.model as object), ...growableShape(gc), maxPositionEmbeddings: gc.maxPositionEmbeddings },
      };
      grown.writeConfig(runCfg);
      const optimizerState = r.optimizerState ?? new Map();
      const trainer = {
        ...ck.trainer,
        modelConfig: gc,
        stage: 0,
        schedule: 'full',
        optimizer: r.optimizerMeta ?? meta,
        grownFrom: ckptDir,
        growReport: r.report,
        preservation: report,
      };
      if (!r.optimizerState) delete (trainer as Record<string, unknown>).optimizer;
      try {
        grown.saveCheckpoint((ck.trainer.step as number) ?? 0, {
          model: r.model.namedParameters(),
          optimizer: optimizerState,
          trainer,
        });
      } finally {
        dispose(optimizerState);
      }
    });
  } finally {
    dispose(ck.optimizer);
  }
  for (const line of r.report) console.log(line);
  console.log(
    `preservation: ${r.preserving ? 'exact by construction' : 'not exact'}; logits max abs diff ${report.maxAbsLogitDiff.toExponential(3)}, max rel ${report.maxRelLogitDiff.toExponential(3)}; loss ${report.lossBefore.toFixed(5)} -> ${report.lossAfter.toFixed(5)}; parameters ${report.paramsBefore} -> ${report.paramsAfter}`,
  );
  console.log(`wrote ${o.out}; continue training with: growbert pretrain --out ${o.out} --resume --max-steps N`);
  if (o.json) console.log(JSON.stringify(report));
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
