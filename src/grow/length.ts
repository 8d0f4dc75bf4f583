// Length growth. Neither operator changes a parameter:
//   truncate  a stage trains on shorter sequences; growing only switches the data, so the check
//             is that the position table covers the next stage's length (it cannot grow here:
//             new position rows would be untrained, and BERT has no function-preserving way to
//             add them). Function preserved (same weights).
//   pool      mean embedding pooling (config.poolingSize k); growing lowers k (to 1: off). Same
//             parameters, but the layers now see more tokens: the function changes.
import { GrowbertError } from '../io/errors.js';
import { bertConfig } from '../model/index.js';
import type { Stage } from './stage.js';

export interface LengthTarget {
  poolingSize?: number;
  /** sequence length of the next stage (checked against maxPositionEmbeddings) */
  seqLength?: number;
}

export function lengthStage(s: Stage, t: LengthTarget): Stage {
  const c = s.config;
  const report = [...s.report];
  let config = c;
  let preserving = s.preserving;
  if (t.seqLength !== undefined) {
    if (t.seqLength > c.maxPositionEmbeddings) {
      throw new GrowbertError(
        `grow: length ${t.seqLength} exceeds maxPositionEmbeddings ${c.maxPositionEmbeddings}; the position table cannot grow, so start from a model whose maxPositionEmbeddings covers the longest stage`,
      );
    }
    report.push(
      `length: truncate, next stage trains on length ${t.seqLength} (no parameter changed; maxPositionEmbeddings ${c.maxPositionEmbeddings} covers it)`,
    );
  }
  const k = c.poolingSize,
    k2 = t.poolingSize ?? k;
  if (k2 > k)
    throw new GrowbertError(
      `grow: poolingSize target ${k2} is larger than the source's ${k}; growth only lengthens (lower poolingSize, down to 1 = off)`,
    );
  if (k2 !== k) {
    config = bertConfig({ ...c, poolingSize: k2 });
    preserving = false;
    report.push(
      `length: pool ${k} -> ${k2}${k2 === 1 ? ' (pooling off)' : ''}: no parameter changed; the function changes (the layers see ${k2 === 1 ? 'every token' : 'shorter windows'})`,
    );
  }
  return { ...s, config, preserving, report };
}
