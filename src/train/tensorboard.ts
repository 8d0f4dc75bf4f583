// The run's TensorBoard event file (on by default; --no-tensorboard turns it off): every line the
// trainer appends to metrics.jsonl is also written, as it is appended, to RUN/events.out.tfevents.*
// (src/io/tf-events.ts), so a TensorBoard pointed at the runs folder follows a run live and shows
// runs side by side. Written by rank 0 only (the other ranks' metrics log writes nothing).
//   train/loss, train/lr, train/grad_norm, train/tokens_per_second, train/flops (cumulative),
//   train/tokens, train/stage            from the training lines (every --log-every steps)
//   val/loss, val/perplexity, val/accuracy from the evaluation lines
//   val/loss_before_growth, ...           the evaluation at a growth step made before growing: the
//                                         one after it has the same step, and TensorBoard keeps one
//                                         value per tag and step, so each gets its own tag
//   growth/event (text), growth/max_abs_logit_diff, growth/max_rel_logit_diff, growth/loss_before,
//   growth/loss_after                     from each growth event, with the new stage's shape
//   config, schedule (text)               at the step the file starts (0, or the resumed step)
// A resumed run starts a new file with a SessionLog START at the resumed step, which makes
// TensorBoard drop what older files hold from that step on (metrics.jsonl is truncated the same way).
import { EventFileWriter, type SummaryValue } from '../io/tf-events.js';
import type { ResolvedStage } from '../schedule/plan.js';
import type { MetricsLine, MetricsSink } from './metrics-log.js';

/** metrics.jsonl field -> TensorBoard tag, per kind of line. */
export const TRAIN_TAGS: Record<string, string> = {
  loss: 'train/loss',
  lr: 'train/lr',
  gradNorm: 'train/grad_norm',
  tokensPerSecond: 'train/tokens_per_second',
  flops: 'train/flops',
  tokens: 'train/tokens',
  stage: 'train/stage',
};
export const EVAL_TAGS: Record<string, string> = {
  valLoss: 'val/loss',
  valPerplexity: 'val/perplexity',
  valAccuracy: 'val/accuracy',
};
export const GROW_TAGS: Record<string, string> = {
  maxAbsLogitDiff: 'growth/max_abs_logit_diff',
  maxRelLogitDiff: 'growth/max_rel_logit_diff',
  lossBefore: 'growth/loss_before',
  lossAfter: 'growth/loss_after',
};

export type LineKind = 'grow' | 'eval' | 'train' | 'other';
export function lineKind(l: MetricsLine): LineKind {
  if (l.event === 'grow') return 'grow';
  if (typeof l.valLoss === 'number') return 'eval';
  if (typeof l.loss === 'number') return 'train';
  return 'other';
}

/** The tag suffix of an evaluation made at a growth step before growing (see the header). */
export const BEFORE_GROWTH = '_before_growth';

/**
 * The scalars and texts that one metrics line becomes; `beforeGrowth` marks an evaluation line
 * written at a growth step before the growth event.
 */
export function summaryOf(l: MetricsLine, o: { beforeGrowth?: boolean } = {}): SummaryValue[] {
  const kind = lineKind(l);
  const tags = kind === 'grow' ? GROW_TAGS : kind === 'eval' ? EVAL_TAGS : kind === 'train' ? TRAIN_TAGS : {};
  const suffix = kind === 'eval' && o.beforeGrowth ? BEFORE_GROWTH : '';
  const out: SummaryValue[] = [];
  for (const [field, tag] of Object.entries(tags)) {
    const v = l[field];
    if (typeof v === 'number' && Number.isFinite(v)) out.push({ tag: tag + suffix, scalar: v });
  }
  if (kind === 'grow') out.unshift({ tag: 'growth/event', text: growthText(l) });
  return out;
}

const sci = (v: unknown) => (typeof v === 'number' ? v.toExponential(2) : '-');
const fix = (v: unknown) => (typeof v === 'number' ? v.toFixed(4) : '-');

/** A growth event as one markdown line: the new stage's shape and the preservation check. */
export function growthText(l: MetricsLine): string {
  const shape = [
    l.layers !== undefined ? `${l.layers} layers` : null,
    l.hidden !== undefined ? `hidden ${l.hidden}` : null,
    l.ffn !== undefined ? `FFN ${l.ffn}` : null,
    l.heads !== undefined ? `${l.heads} heads` : null,
    typeof l.pooling === 'number' && l.pooling > 1 ? `pooling ${l.pooling}` : null,
    l.batchSize !== undefined && l.seqLength !== undefined ? `batch ${l.batchSize}x${l.seqLength}` : null,
  ].filter((s) => s !== null);
  const name =
    typeof l.stageName === 'string' && l.stageName !== `stage ${Number(l.stage) + 1}` ? ` (${l.stageName})` : '';
  const preserving = l.preserving === true ? 'yes' : l.preserving === false ? 'no' : '-';
  return (
    `**Step ${l.step}: grew into stage ${Number(l.stage) + 1}${name}**${shape.length ? `: ${shape.join(', ')}` : ''}. ` +
    `Optimizer state: ${l.optimizerPolicy ?? '-'}; function-preserving operators: ${preserving}. ` +
    `Preservation check: logits max abs diff ${sci(l.maxAbsLogitDiff)} (relative ${sci(l.maxRelLogitDiff)}), ` +
    `loss ${fix(l.lossBefore)} -> ${fix(l.lossAfter)}.`
  );
}

/** Markdown for a JSON value (TensorBoard's Text tab renders markdown). */
export const jsonText = (v: unknown): string => '```json\n' + JSON.stringify(v, null, 2) + '\n```';

/** The texts a run's event file starts with: the resolved config and the stages it trains. */
export function runTexts(config: unknown, stages: ResolvedStage[]): Record<string, string> {
  const plan = stages.map((s) => ({
    name: s.name,
    startStep: s.startStep,
    steps: s.steps,
    layers: s.config.numHiddenLayers,
    hidden: s.config.hiddenSize,
    ffn: s.config.intermediateSize,
    pooling: s.config.poolingSize,
    batch: `${s.batchSize}x${s.seqLength}`,
  }));
  return { config: jsonText(config), schedule: jsonText(plan) };
}

export class TensorBoardSink implements MetricsSink {
  readonly writer: EventFileWriter;
  private readonly growthSteps: ReadonlySet<number>;
  private grewAt = -1;

  /**
   * Opens a new event file in `runDir` starting at `step` (0 for a fresh run), with `texts`
   * (e.g. the resolved config) written at that step. `growthSteps`: the steps the schedule grows at.
   */
  constructor(
    runDir: string,
    o: { step: number; texts?: Record<string, string>; clock?: () => number; growthSteps?: readonly number[] },
  ) {
    this.growthSteps = new Set(o.growthSteps ?? []);
    this.writer = new EventFileWriter(runDir, o.clock);
    if (o.step > 0) this.writer.sessionStart(o.step);
    this.writer.summary(
      o.step,
      Object.entries(o.texts ?? {}).map(([tag, text]) => ({ tag, text })),
    );
  }

  get file(): string {
    return this.writer.file;
  }

  write(line: MetricsLine): void {
    const beforeGrowth = this.growthSteps.has(line.step) && this.grewAt !== line.step;
    if (line.event === 'grow') this.grewAt = line.step;
    this.writer.summary(line.step, summaryOf(line, { beforeGrowth }));
  }

  close(): void {
    this.writer.close();
  }
}
