// What changes between two stages of a run: the model and its optimizer state grow into the next
// stage's shape (src/grow), checked for preservation on a validation batch and logged as an
// `event: "grow"` line; and each stage reads its data at its own batch and sequence length,
// continuing the previous stage's position in the corpus and its masking RNG.
import type { Masker, SequenceSource } from '../data/index.js';
import { checkPreservation, grow, type PreservationReport } from '../grow/index.js';
import { growableShape, type BertForMaskedLM } from '../model/index.js';
import type { ResolvedStage } from '../schedule/plan.js';
import { dispose, noGrad } from '../tensor/index.js';
import type { ResolvedConfig } from './config.js';
import { makeMasker, makeStream, type PreparedCorpus } from './data.js';
import { optimizerFor } from './optim/index.js';
import { progressFields, type TrainContext } from './trainer.js';

/** Stream and masker for a stage, continuing from the previous stage's data position and masking RNG. */
export function stageData(
  corpus: PreparedCorpus,
  c: ResolvedConfig,
  st: ResolvedStage,
  prev?: { stream: SequenceSource; masker: Masker },
): { stream: SequenceSource; masker: Masker } {
  const o = {
    ...c.data,
    seqLength: st.seqLength,
    batchSize: st.batchSize,
    maxPredictions: st.maxPredictions,
    seed: c.train.seed,
  };
  const stream = makeStream(corpus, o);
  const masker = makeMasker(corpus, o, c.train.seed + 1);
  if (prev) {
    stream.restore(prev.stream.state());
    const g = prev.masker.state();
    masker.restore(g);
    g.dispose();
  }
  return { stream, masker };
}

/** A growth line's own fields: the new stage, the preservation check, and the new shape. */
function growthFields(next: ResolvedStage, preserving: boolean, report: PreservationReport) {
  const t = next.config;
  return {
    event: 'grow',
    stage: next.index,
    optimizerPolicy: next.stage.optimizer,
    preserving,
    ...report,
    // The new stage's shape, for the dashboard and TensorBoard's growth/event text.
    stageName: next.name,
    layers: t.numHiddenLayers,
    hidden: t.hiddenSize,
    ffn: t.intermediateSize,
    heads: t.numAttentionHeads,
    pooling: t.poolingSize,
    batchSize: next.batchSize,
    seqLength: next.seqLength,
  };
}

/** Grows ctx's model and optimizer into stage `next`, logging (and reporting) the preservation check. */
export function growInto(
  ctx: TrainContext<BertForMaskedLM>,
  c: ResolvedConfig,
  next: ResolvedStage,
  say: (l: string) => void,
): void {
  const policy = next.stage.optimizer;
  const before = ctx.model;
  const t = next.config;
  const r = grow(
    { model: before, optimizer: { state: ctx.optimizer.state(), meta: ctx.optimizer.meta() } },
    { ...growableShape(t), seqLength: next.seqLength },
    { ...next.stage.ops, seed: next.stage.ops.seed ?? c.train.seed },
    policy,
  );
  const report = checkPreservation(before, r.model, ctx.valSet[0]);
  const optimizer = optimizerFor(c.train, r.model.namedParameters());
  if (r.optimizerState) {
    optimizer.loadState(r.optimizerState, r.optimizerMeta);
    dispose(r.optimizerState);
  }
  ctx.dp?.detach(); // the reducer holds the old parameters
  ctx.optimizer.dispose();
  before.dispose();
  ctx.model = r.model;
  ctx.optimizer = optimizer;
  if (ctx.dp) {
    // Every rank grew the same way at the same step: prove the results are identical (weights and
    // optimizer state), then take rank 0's anyway, as at the start.
    ctx.dp.verifyIdentical(
      [...r.model.namedParameters(), ...optimizer.state()],
      `after growing into ${next.name} at step ${ctx.progress.step}`,
    );
    noGrad(() => ctx.dp!.broadcast(r.model.parameters()));
    ctx.dp.attach([...optimizer.params.values()]);
  }
  const p = ctx.progress;
  ctx.metrics.append({ ...progressFields(p), ...growthFields(next, r.preserving, report) });
  ctx.emit?.({
    type: 'growth',
    step: p.step,
    stage: next.index,
    name: next.name,
    model: t,
    optimizerPolicy: policy,
    preserving: r.preserving,
    report: r.report,
    preservation: report,
  });
  say(
    `step ${p.step}: grew into ${next.name} (${r.report.join('; ')}); optimizer ${policy}; logits max abs diff ${report.maxAbsLogitDiff.toExponential(2)} (rel ${report.maxRelLogitDiff.toExponential(2)}), loss ${report.lossBefore.toFixed(4)} -> ${report.lossAfter.toFixed(4)}`,
  );
}
