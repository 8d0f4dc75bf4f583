// The library's public API (what `import ... from 'growbert'` gives): one function per command, each
// taking that command's options, checked by the zod schema exported beside it, and the types of what
// they return. docs/api.md is its reference; test/api/exports.test.ts keeps the two in step.

// the functions behind the commands
export {
  pretrain,
  readRunConfig,
  type PretrainResult,
  type PretrainCallOptions,
  type PretrainEvent,
} from './pretrain.js';
export { growRun as grow, GrowOptionsSchema, type GrowOptions, type GrowRunResult as GrowResult } from './grow.js';
export { plan, PlanOptionsSchema, type PlanOptions, type PlanResult, type PlannedStage } from './plan.js';
export { compare, CompareOptionsSchema, type CompareOptions, type CompareResult } from './compare.js';
export { evaluate, EvaluateOptionsSchema, type EvaluateOptions, type EvaluateResult } from './evaluate.js';
export {
  finetune,
  glue,
  FinetuneOptionsSchema,
  GlueOptionsSchema,
  type FinetuneOptions,
  type FinetuneResult,
  type GlueOptions,
} from './glue.js';
export {
  exportToHf,
  importFromHf,
  ExportOptionsSchema,
  ImportOptionsSchema,
  type ExportOptions,
  type ExportResult,
  type ImportOptions,
  type ImportResult,
} from './hf.js';
export {
  serveDashboard,
  DashboardOptionsSchema,
  DEFAULT_DASHBOARD_PORT,
  type DashboardOptions,
  type DashboardServer,
} from './dashboard.js';

// reading a run's metrics
export {
  readMetrics,
  splitMetrics,
  type RunMetrics,
  type Position,
  type TrainMetrics,
  type EvalMetrics,
  type GrowthMetrics,
  type StageMetrics,
} from './metrics.js';

// what every call takes, and its errors
export { Interrupted, type CallOptions } from './common.js';
export { GrowbertError } from '../io/errors.js';

// the pre-training config (the CLI's config file and flags) and the choices the options name
export {
  PretrainConfigSchema,
  PRESET_NAMES,
  PRECISIONS,
  TRAIN_PRESETS,
  type PretrainConfig,
  type PretrainConfigInput,
} from '../train/config.js';
export { SCHEDULE_PRESETS, type ScheduleInput } from '../schedule/schedule.js';
export { CLOCKS, type Clock } from '../train/budget-clock.js';
export {
  DEPTH_OPS,
  FFN_OPS,
  HIDDEN_OPS,
  OPTIMIZER_POLICIES,
  type GrowOps,
  type PreservationReport,
} from '../grow/index.js';
export { GLUE_TASKS, type GlueTask } from '../eval/glue-data.js';

// the types results carry
export type { BertConfig, PresetName } from '../model/index.js';
export type { ResolvedStage } from '../schedule/plan.js';
export type { StageRecord } from '../train/stage-record.js';
export type { MetricsLine } from '../train/metrics-log.js';
export type { TaskResult, SeedResult, EpochResult } from '../eval/finetune.js';
export type { GlueSuiteResult } from '../eval/glue-suite.js';
export type { BudgetResult, SeededBudgetResult } from '../report/analysis.js';

/** The libtorch version the native addon runs on (e.g. '2.13.0'). */
export { torchVersion } from '../tensor/index.js';
