// `growbert grow`: grows a run's checkpoint (weights and optimizer state) into a bigger model and
// writes it as a new run folder that `growbert pretrain --out NEW --resume` continues (src/api/grow.ts
// does the work; this file turns flags into its options and prints its result).
import type { Command } from 'commander';
import { GrowbertError, oneOf } from '../io/errors.js';
import { DEPTH_OPS, FFN_OPS, HIDDEN_OPS, OPTIMIZER_POLICIES, type OptimizerPolicy } from '../grow/index.js';
import { GROWABLE_KEYS, type GrowableKey } from '../model/index.js';
import { growRun, type GrowOptions } from '../api/grow.js';
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

/** The target dimensions given as flags. */
function flagTarget(o: GrowOpts): NonNullable<GrowOptions['target']> {
  const target: Record<string, number> = {};
  for (const key of GROWABLE_KEYS) {
    const flag = TARGET_FLAGS[key];
    const v = o[flag] as string | undefined;
    if (v !== undefined) target[key] = requiredNumber(v, flag.replace('ffnRank', 'ffn-rank'));
  }
  return target;
}

async function growCommand(o: GrowOpts): Promise<void> {
  if (!(OPTIMIZER_POLICIES as readonly string[]).includes(o.optimizer))
    throw new GrowbertError(`--optimizer ${o.optimizer}: use ${oneOf(OPTIMIZER_POLICIES)}`);
  const r = await growRun({
    from: o.from,
    out: o.out,
    toConfig: o.toConfig,
    target: flagTarget(o),
    ops: o.op,
    optimizer: o.optimizer as OptimizerPolicy,
    force: o.force ?? false,
  });
  const p = r.preservation;
  for (const line of r.report) console.log(line);
  console.log(
    `preservation: ${r.preserving ? 'exact by construction' : 'not exact'}; logits max abs diff ${p.maxAbsLogitDiff.toExponential(3)}, max rel ${p.maxRelLogitDiff.toExponential(3)}; loss ${p.lossBefore.toFixed(5)} -> ${p.lossAfter.toFixed(5)}; parameters ${p.paramsBefore} -> ${p.paramsAfter}`,
  );
  console.log(`wrote ${o.out}; continue training with: growbert pretrain --out ${o.out} --resume --max-steps N`);
  if (o.json) console.log(JSON.stringify(p));
}
