// What a run reports as it goes, as typed events for a caller of pretrain (PretrainOptions.onEvent)
// that wants data rather than console lines: the CLI prints `say` lines and a progress bar, a
// library caller reads these and needs no console (given onEvent and no `say`, the lines come as
// 'message' events too). Rank 0 of a data-parallel run reports for the run (as it writes the
// metrics log); the other ranks report nothing. Every metrics.jsonl line is also a 'metrics' event.
import type { PreservationReport, OptimizerPolicy } from '../grow/index.js';
import type { BertConfig } from '../model/index.js';
import type { MetricsLine } from './metrics-log.js';
import type { StageRecord } from './stage-record.js';
import type { EvalResult } from './step.js';

export type PretrainEvent =
  /** a line appended to metrics.jsonl (training, evaluation, growth and stage lines alike) */
  | { type: 'metrics'; line: MetricsLine }
  /** a validation pass, at `step` */
  | ({ type: 'evaluation'; step: number } & EvalResult)
  /** a stage begins (or, on a resume, continues) at `step` with this model shape */
  | { type: 'stage-start'; stage: number; name: string; step: number; model: BertConfig; resumed: boolean }
  /** a stage is done: planned and actual steps and seconds */
  | { type: 'stage-end'; record: StageRecord }
  /** the model and optimizer grew into stage `stage` at `step`; `preservation` is the check on a validation batch */
  | {
      type: 'growth';
      step: number;
      stage: number;
      name: string;
      model: BertConfig;
      optimizerPolicy: OptimizerPolicy;
      /** the operators preserve the function by construction */
      preserving: boolean;
      /** what was done, one line per dimension */
      report: string[];
      preservation: PreservationReport;
    }
  /** a checkpoint was written (and latest.json points at it) */
  | { type: 'checkpoint'; step: number; dir: string }
  /** a line the CLI prints (data report, warnings, the summary), when the caller gave no `say` */
  | { type: 'message'; line: string };

export type PretrainEventListener = (e: PretrainEvent) => void;
