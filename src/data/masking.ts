/**
 * BERT's masked-LM masking for a packed batch, done with tensor ops on the CPU (no JS loops over
 * tokens), deterministic from a seeded `Generator` whose state can be saved and restored.
 *
 * Per row, as google-research/bert create_pretraining_data.py:
 * - candidates are the non-special tokens (specialMask 0);
 * - numToPredict = min(P, max(1, round(numCandidates * maskProb))), and never above the number of
 *   candidates. BERT rounds len(tokens) * p with [CLS]/[SEP] counted; we count candidates only,
 *   a difference of at most round(3 * p) tokens. Rounding is half-to-even, as Python 3's round;
 * - units (single tokens, or whole words with `wholeWord`) are taken in a uniformly random order
 *   (random float64 scores, sorted), GREEDILY as BERT does: a unit is taken if its tokens still fit
 *   in numToPredict, otherwise skipped, and later smaller units may still fit. The greedy pass is
 *   done as repeated "take the longest fitting prefix (cumsum) of the still-fitting units" rounds,
 *   which equal the sequential greedy exactly once no unit is taken in a round; `maxRounds` caps
 *   the rounds (default 8; a unit left over then is just not masked, never split). So a word is
 *   never split, and a word longer than numToPredict is never masked — both as in BERT;
 * - each chosen token independently: 80% [MASK], 10% a random id, 10% unchanged (ratios are
 *   options). Random ids are uniform in `randomRange` (default [0, vocabSize) as BERT, which may
 *   draw specials; pass [5, vocabSize) to skip growbert's 5 special ids).
 *
 * A word is a wordStart=1 token and the wordStart=0 tokens after it (the packer marks specials and
 * segment starts as word starts, so words never cross [SEP]); its size counts candidates only.
 * Outputs are int64 tensors on the CPU; positions are ascending, padded with 0 (label -100,
 * weight 0). Ties between random scores have probability ~S^2 / 2^53 and would only merge two
 * words' order, never split one.
 */
import { GrowbertError } from '../io/errors.js';
import {
  Generator,
  arange,
  cat,
  full,
  getRngState,
  rand,
  randint,
  setRngState,
  tensor,
  tidy,
  where,
  zeros,
  type Tensor,
} from '../tensor/index.js';

/** The parts of a packed batch masking reads (structurally a subset of packing.ts's `Batch`). */
export interface MaskingInput {
  /** Rows B. */
  size: number;
  /** Sequence length S. */
  seqLen: number;
  /** B*S token ids, row-major. */
  inputIds: Int32Array;
  /** B*S, 1 for tokens that are never masked ([CLS], [SEP], [PAD]). */
  specialMask: Uint8Array;
  /** B*S, 1 where a token begins a word; needed for wholeWord. */
  wordStart?: Uint8Array;
}

export interface MaskingOptions {
  vocabSize: number;
  maskId: number;
  /** Fraction of candidates to predict (default 0.15). */
  maskProb?: number;
  /** Cap P on predictions per row; default round(S * maskProb). Output width is P. */
  maxPredictions?: number;
  /** Of the chosen tokens: fraction replaced by [MASK] (0.8) and by a random id (0.1); the rest stay. */
  maskFraction?: number;
  randomFraction?: number;
  wholeWord?: boolean;
  /** Random replacement ids are uniform in [low, high); default [0, vocabSize). */
  randomRange?: [number, number];
  /** Cap on greedy rounds (see the file comment); default 8. */
  maxRounds?: number;
}

export interface MaskedBatch {
  /** [B, S] ids with the replacements applied. */
  inputIds: Tensor;
  /** [B, P] positions of the prediction targets, ascending, padded with 0. */
  maskedPositions: Tensor;
  /** [B, P] original ids at maskedPositions, -100 in padding. */
  maskedLabels: Tensor;
  /** [B, P] float32: 1 for real targets, 0 for padding. */
  maskedWeights: Tensor;
  /** [B, S] original ids at the targets and -100 elsewhere (for a full-sequence MLM loss). */
  labels: Tensor;
  /** [B] number of targets per row. */
  numMasked: Tensor;
}

interface Resolved {
  vocabSize: number;
  maskId: number;
  maskProb: number;
  maxPredictions: number;
  maskFraction: number;
  randomFraction: number;
  wholeWord: boolean;
  randomRange: [number, number];
  maxRounds: number;
}

function resolve(o: MaskingOptions, S: number): Resolved {
  const maskProb = o.maskProb ?? 0.15;
  const r: Resolved = {
    vocabSize: o.vocabSize,
    maskId: o.maskId,
    maskProb,
    maxPredictions: o.maxPredictions ?? Math.max(1, Math.round(S * maskProb)),
    maskFraction: o.maskFraction ?? 0.8,
    randomFraction: o.randomFraction ?? 0.1,
    wholeWord: o.wholeWord ?? false,
    randomRange: o.randomRange ?? [0, o.vocabSize],
    maxRounds: o.maxRounds ?? 8,
  };
  const bad = (m: string) => {
    throw new GrowbertError(`masking: ${m}`);
  };
  if (!(maskProb > 0 && maskProb <= 1)) bad(`maskProb must be in (0, 1], got ${maskProb}`);
  if (!Number.isInteger(r.maxPredictions) || r.maxPredictions < 1 || r.maxPredictions > S)
    bad(`maxPredictions must be an integer in [1, seqLen=${S}], got ${r.maxPredictions}`);
  if (!(r.maskFraction >= 0 && r.randomFraction >= 0 && r.maskFraction + r.randomFraction <= 1))
    bad(`maskFraction + randomFraction must be within [0, 1], got ${r.maskFraction} + ${r.randomFraction}`);
  if (!Number.isInteger(r.maskId) || r.maskId < 0 || r.maskId >= r.vocabSize)
    bad(`maskId ${r.maskId} is outside the vocabulary [0, ${r.vocabSize})`);
  const [lo, hi] = r.randomRange;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 0 && lo < hi && hi <= r.vocabSize))
    bad(`randomRange [${lo}, ${hi}) must be a non-empty integer range inside [0, ${r.vocabSize})`);
  if (!Number.isInteger(r.maxRounds) || r.maxRounds < 1)
    bad(`maxRounds must be a positive integer, got ${r.maxRounds}`);
  return r;
}

/**
 * Masks one batch, drawing from `generator` (three draws per call, in a fixed order: unit scores
 * [B,S] float64, replacement choice [B,P] float64, random ids [B,P]). Returns new CPU tensors,
 * owned by the caller (or the enclosing tidy()).
 */
export function maskBatch(input: MaskingInput, options: MaskingOptions, generator: Generator): MaskedBatch {
  const B = input.size,
    S = input.seqLen,
    n = B * S;
  const o = resolve(options, S);
  const P = o.maxPredictions;
  if (input.inputIds.length !== n || input.specialMask.length !== n)
    throw new GrowbertError(
      `masking: a batch of ${B}x${S} needs ${n} inputIds and specialMask entries, got ${input.inputIds.length} and ${input.specialMask.length}`,
    );
  if (o.wholeWord && input.wordStart?.length !== n)
    throw new GrowbertError(
      `masking: wholeWord needs a wordStart array of ${n} entries; pack with the tokenizer's continuation table`,
    );
  return tidy(() => {
    // The engine passes JS numbers to libtorch as doubles, so `int64Tensor op 1` would promote to
    // float; integer constants in int64 expressions are therefore 0-d int64 tensors.
    const i64 = (v: number) => full([], v, { dtype: 'int64' });
    const ids = tensor(input.inputIds, { shape: [B, S] }).long();
    const cand = tensor(input.specialMask, { shape: [B, S] }).eq(0);
    const candL = cand.long();
    const numCand = candL.sum(1);
    const numToPredict = numCand.to('float64').mul(o.maskProb).round().clamp(1, P).long().minimum(numCand);

    // Units: word ids from a cumsum over word starts (column 0 always starts one), or one unit
    // per token. unitSize counts each unit's candidate tokens; units with none are never chosen.
    const col = arange(S).unsqueeze(0); // [1, S]
    const starts = o.wholeWord
      ? tensor(input.wordStart!, { shape: [B, S] })
          .ne(0)
          .logicalOr(col.eq(0))
      : null;
    const unitOf = starts ? starts.long().cumsum(1).sub(i64(1)) : col.expand(B, S);
    const unitSize = zeros([B, S], { dtype: 'int64' }).scatterAdd(1, unitOf, candL);
    const score = where(unitSize.gt(0), rand([B, S], { dtype: 'float64', generator }), -1);

    // Greedy selection over units in descending score order (see the file comment).
    const { values: sortedScore, indices: order } = score.sort(1, true);
    const size = unitSize.gather(1, order);
    const valid = sortedScore.ge(0);
    let taken = zeros([B, S], { dtype: 'bool' });
    let room = numToPredict.unsqueeze(1); // [B, 1] tokens still allowed
    for (let round = 0; round < o.maxRounds; round++) {
      const fits = valid.logicalAnd(taken.logicalNot()).logicalAnd(size.le(room));
      const take = fits.logicalAnd(where(fits, size, i64(0)).cumsum(1).le(room));
      if (!take.any().item()) break;
      taken = taken.logicalOr(take);
      room = room.sub(where(take, size, i64(0)).sum(1, true));
    }

    // Back from sorted order to units, then to tokens; targets as ascending positions (S = none).
    const unitTaken = zeros([B, S], { dtype: 'int64' }).scatter(1, order, taken.long());
    const chosen = unitTaken.gather(1, unitOf).gt(0).logicalAnd(cand);
    const posOrS = where(chosen, col, i64(S)).sort(1, false).values.narrow(1, 0, P); // [B, P]
    const real = posOrS.lt(S);
    const maskedPositions = where(real, posOrS, i64(0));
    const original = ids.gather(1, maskedPositions);
    const maskedLabels = where(real, original, i64(-100));

    const u = rand([B, P], { dtype: 'float64', generator });
    const randomIds = randint(o.randomRange[0], o.randomRange[1], [B, P], { generator });
    const replaced = where(
      u.lt(o.maskFraction),
      i64(o.maskId),
      where(u.lt(o.maskFraction + o.randomFraction), randomIds, original),
    );
    // Scatter into one spare column S, so padding entries land there and are cut off.
    const spare = zeros([B, 1], { dtype: 'int64' });
    const inputIds = cat([ids, spare], 1).scatter(1, posOrS, replaced).narrow(1, 0, S).contiguous();
    const labels = full([B, S + 1], -100, { dtype: 'int64' })
      .scatter(1, posOrS, maskedLabels)
      .narrow(1, 0, S)
      .contiguous();
    return {
      inputIds,
      maskedPositions,
      maskedLabels,
      maskedWeights: real.float(),
      labels,
      numMasked: real.long().sum(1),
    };
  });
}

/**
 * A masker with its own seeded generator: `mask()` per batch; `state()` / `restore()` save and
 * resume the random stream exactly (the state is a uint8 tensor, storable in a checkpoint).
 */
export class Masker {
  private readonly generator: Generator;
  constructor(
    readonly options: MaskingOptions,
    seed: number,
  ) {
    this.generator = new Generator(seed);
  }
  mask(input: MaskingInput): MaskedBatch {
    return maskBatch(input, this.options, this.generator);
  }
  /** A copy of the generator state (caller owns it). */
  state(): Tensor {
    return getRngState(this.generator);
  }
  restore(state: Tensor): void {
    setRngState(state, this.generator);
  }
}
