// Growth preservation in bf16 against fp32: grows a trained checkpoint with each function-preserving
// operator and reports the largest logit change in an fp32 forward and in a bf16 forward, next to
// the bf16 forward's own rounding (the same model, bf16 against fp32), the floor bf16 can reach.
// Figures for docs/operators.md.   node dist/bench/growth-bf16.js RUN_OR_CHECKPOINT
import { checkPreservation, grow, parseOps, type GrowTarget } from '../src/grow/index.js';
import { BertForMaskedLM, bertConfig, type BertConfig } from '../src/model/index.js';
import { dispose, manualSeed, noGrad, randint, tidy, zeros } from '../src/tensor/index.js';
import { loadCheckpoint, resolveCheckpoint } from '../src/train/checkpoint.js';

const ck = loadCheckpoint(resolveCheckpoint(process.argv[2]));
const config = bertConfig(ck.trainer.modelConfig as BertConfig);
const model = new BertForMaskedLM(config);
model.loadStateDict(ck.model);
model.eval();
const S = Math.min(64, config.maxPositionEmbeddings);
manualSeed(0);
const batch = tidy(() => ({
  inputIds: randint(5, config.vocabSize, [8, S]),
  tokenTypeIds: zeros([8, S], { dtype: 'int64' }),
  maskedPositions: randint(1, S, [8, 10]),
  maskedLabels: randint(5, config.vocabSize, [8, 10]),
}));
const { numHiddenLayers: L, intermediateSize: F, hiddenSize: H, numAttentionHeads: A } = config;
const cases: [string, GrowTarget, string][] = [
  ['depth identity', { numHiddenLayers: 2 * L }, 'depth=identity'],
  ['depth stack', { numHiddenLayers: 2 * L }, 'depth=stack'],
  ['FFN share', { intermediateSize: 2 * F }, 'ffn=share'],
  ['FFN split', { intermediateSize: 2 * F }, 'ffn=split'],
  ['width fpi', { hiddenSize: 2 * H, numAttentionHeads: 2 * A, intermediateSize: 2 * F }, 'hidden=fpi'],
];
// The bf16 forward's own error: the source model in bf16 against itself in fp32.
const floor = noGrad(() =>
  tidy(() => {
    const a = model.forward(batch).logits,
      b = model.forward(batch, { bf16: true }).logits;
    return { abs: b.sub(a).abs().max().item(), scale: a.abs().max().item() };
  }),
);
console.log(
  `source: ${L} layers, hidden ${H}, FFN ${F}; max |logit| ${floor.scale.toFixed(3)}; bf16 forward vs fp32 forward of the same model: max |diff| ${floor.abs.toExponential(2)}`,
);
console.log('| operator | fp32: max abs logit diff | bf16: max abs logit diff | bf16 / bf16 rounding floor |');
console.log('|---|---:|---:|---:|');
for (const [name, target, ops] of cases) {
  const r = grow({ model }, target, parseOps(ops), 'reset');
  const f32 = checkPreservation(model, r.model, batch),
    b16 = checkPreservation(model, r.model, batch, { bf16: true });
  console.log(
    `| ${name} | ${f32.maxAbsLogitDiff.toExponential(2)} | ${b16.maxAbsLogitDiff.toExponential(2)} | ${(b16.maxAbsLogitDiff / floor.abs).toFixed(2)} |`,
  );
  r.model.dispose();
}
dispose(batch);
