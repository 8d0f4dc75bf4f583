// `growbert bench --profile`: where a training step's time goes, by kind of op, and how close the
// step comes to the machine's matmul peak measured in the same run. The op times come from
// libtorch's RecordFunction (src/tensor/profile.ts): each outermost op (a forward op called from
// JavaScript, or an autograd node of the backward pass) is filed under a kind by its name; the
// step's wall time not spent inside any op is JavaScript and addon overhead. Data and masking are
// timed separately, on a synthetic packed batch through the real masker, since bench otherwise
// reuses one batch. The step's phases (forward, backward, optimizer, bookkeeping: src/train/step.ts
// marks them) get their native calls and host time per step: the time outside every op, which on a
// GPU is what the device waits for while the host issues the step.
import { allocBatch, Masker, type Batch } from '../data/index.js';
import {
  cat,
  cuda,
  dispose,
  ones,
  profileOps,
  randint,
  recordPhases,
  STEP_PHASES,
  randn,
  tidy,
  zeros,
  type DType,
  type Device,
  type OpProfile,
  type PhaseStat,
  type StepPhase,
} from '../tensor/index.js';
import { toModelBatch } from '../train/data.js';

export const OP_KINDS = [
  'matmul (linear layers, MLM decoder)',
  'attention (scores, mixing, mask)',
  'LayerNorm, GELU, softmax',
  'embedding and its gradient',
  'loss (cross entropy over the vocabulary)',
  'element-wise, dropout, casts, copies',
  'gradient accumulation (autograd)',
  'optimizer and clipping',
  'other ops',
] as const;
export type OpKind = (typeof OP_KINDS)[number];

const BACKWARD = 'autograd::engine::evaluate_function: ';

const RULES: [RegExp, OpKind][] = [
  [/^(linear|addmm|mm|Mm|Addmm|Linear)/, 'matmul (linear layers, MLM decoder)'],
  [
    /^(matmul|bmm|baddbmm|Bmm|Baddbmm|scaled_dot_product|_scaled_dot_product|ScaledDotProduct|masked_fill|MaskedFill|_efficient_attention|_flash_attention)/,
    'attention (scores, mixing, mask)',
  ],
  [/^(layer_norm|native_layer_norm|NativeLayerNorm|gelu|Gelu|softmax|_softmax|Softmax)/, 'LayerNorm, GELU, softmax'],
  [/^(embedding|Embedding|gather|Gather|index_select|IndexSelect)/, 'embedding and its gradient'],
  // growbert's fused CPU loss (native/src/fused-loss.cc): its forward, and its backward node
  [
    /^(cross_entropy|log_softmax|_log_softmax|LogSoftmax|nll_loss|NllLoss|growbert::cross_entropy|torch::autograd::CppNode<.*FusedCrossEntropy>)/,
    'loss (cross entropy over the vocabulary)',
  ],
  [/^(torch::autograd::AccumulateGrad)/, 'gradient accumulation (autograd)'],
  [
    /^(_foreach_|norm$|stack$|_fused_adam|fused_adamw|adamwFused|growbert::adamw_fused|growbert::adamw_step|growbert::clip_grad_norm)/,
    'optimizer and clipping',
  ],
  [
    /^(growbert::dropout_mask|growbert::cast|torch::autograd::CppNode<.*FusedCast>|dropout|native_dropout|NativeDropout|add|Add|mul|Mul|sub|Sub|div|Div|to$|_to_copy|ToCopy|copy_|clone|Clone|contiguous|view|View|_unsafe_view|UnsafeView|reshape|Reshape|_reshape_alias|transpose|Transpose|t$|T$|permute|Permute|expand|Expand|ne$|eq$|sum|Sum|zeros|ones|arange|cat|Cat|narrow|slice|Slice|select|unsqueeze|Unsqueeze|squeeze|empty|fill_|zero_|item|_local_scalar_dense|mean|where)/,
    'element-wise, dropout, casts, copies',
  ],
];

/** The kind of an outermost op name (aten::X forward ops, or an autograd node of the backward). */
export function opKind(name: string): OpKind {
  const n = name.startsWith(BACKWARD) ? name.slice(BACKWARD.length) : name.replace(/^aten::/, '');
  for (const [re, kind] of RULES) if (re.test(n)) return kind;
  return 'other ops';
}

export interface ProfileRow {
  kind: string;
  ms: number;
  /** share of the step (with its data and masking) */
  share: number;
}

/** Rows per kind of op, plus data/masking and JavaScript overhead, for `steps` profiled steps. */
export function profileRows(p: OpProfile, wallMs: number, dataMs: number): ProfileRow[] {
  const byKind = new Map<string, number>(OP_KINDS.map((k) => [k, 0]));
  for (const [name, t] of p.ops) byKind.set(opKind(name), byKind.get(opKind(name))! + t.ms);
  byKind.set('data and masking', dataMs);
  byKind.set('JavaScript and addon overhead', Math.max(0, wallMs - p.insideOpsMs));
  const total = wallMs + dataMs;
  return [...byKind].map(([kind, ms]) => ({ kind, ms, share: ms / total }));
}

/** The slowest op names (for the detail under the table). */
export function topOps(p: OpProfile, n: number): { name: string; ms: number; calls: number }[] {
  return [...p.ops]
    .map(([name, t]) => ({ name, ...t }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n);
}

/**
 * The matmul peak of this machine in `dtype`, GFLOP/s: the best of a few runs of square products
 * of sizes 512..2048 (and of the FFN's shape, whose operands fit in cache differently).
 */
export function matmulPeakGflops(
  dtype: DType,
  device: Device,
  now: () => number = () => performance.now(),
  ffn?: { rows: number; hidden: number; ffn: number },
): number {
  const shapes: [number, number, number][] = [
    [1024, 1024, 1024],
    [2048, 2048, 2048],
  ];
  if (ffn) shapes.push([ffn.rows, ffn.hidden, ffn.ffn]);
  let best = 0;
  for (const [m, k, n] of shapes) {
    tidy(() => {
      const a = randn([m, k], { device }).to(dtype),
        b = randn([k, n], { device }).to(dtype);
      a.matmul(b).dispose(); // warm-up
      for (let r = 0; r < 3; r++) {
        if (device !== 'cpu') cuda.synchronize(device);
        const t0 = now();
        const reps = m * k * n > 4e9 ? 1 : 3;
        for (let i = 0; i < reps; i++) a.matmul(b).dispose();
        if (device !== 'cpu') cuda.synchronize(device);
        best = Math.max(best, (2 * m * k * n * reps) / ((now() - t0) / 1000) / 1e9);
      }
    });
  }
  return best;
}

/** A packed batch of random ids with [CLS] ... [SEP] rows, for timing the masker. */
export function syntheticBatch(B: number, S: number, V: number): Batch {
  const b = allocBatch(B, S, false);
  tidy(() => {
    b.inputIds.set(randint(5, V, [B * S], { dtype: 'int32' }).data() as Int32Array);
    const edge = ones([B, 1], { dtype: 'uint8' });
    b.specialMask.set(cat([edge, zeros([B, S - 2], { dtype: 'uint8' }), edge], 1).data() as Uint8Array);
    b.wordStart.set(ones([B * S], { dtype: 'uint8' }).data() as Uint8Array);
    b.attentionMask.set(ones([B * S], { dtype: 'uint8' }).data() as Uint8Array);
    b.lengths.set(zeros([B], { dtype: 'int32' }).add(S).data() as Int32Array);
  });
  return b;
}

/** Milliseconds to mask `b` and turn it into model inputs on `device` (what the trainer does per step). */
export function timeDataStep(
  masker: Masker,
  b: Batch,
  device: Device,
  now: () => number = () => performance.now(),
): number {
  const t0 = now();
  const mb = toModelBatch(b, masker.mask(b), device);
  if (device !== 'cpu') cuda.synchronize(device);
  const ms = now() - t0;
  dispose(mb);
  return ms;
}

/** The table printed by `growbert bench --profile`. */
export function formatProfile(rows: ProfileRow[], steps: number, clock: string): string {
  const lines = [
    `where a step's time goes (${steps} profiled steps, ${clock}):`,
    '| kind | ms/step | share |',
    '|---|---:|---:|',
  ];
  for (const r of rows) lines.push(`| ${r.kind} | ${(r.ms / steps).toFixed(1)} | ${(100 * r.share).toFixed(1)}% |`);
  return lines.join('\n');
}

/** One phase of the step, per step: native calls, host ms, ms inside ops, host microseconds per call. */
export interface PhaseRow {
  phase: StepPhase | 'step';
  calls: number;
  hostMs: number;
  opsMs: number;
  usPerCall: number;
}

/** Per-step rows for each phase of `steps` recorded steps, and their sum ('step'). */
export function phaseRows(phases: Map<StepPhase, PhaseStat>, steps: number): PhaseRow[] {
  const r2 = (v: number) => Math.round(v * 100) / 100;
  const row = (phase: PhaseRow['phase'], s: PhaseStat): PhaseRow => ({
    phase,
    calls: r2(s.calls / steps),
    hostMs: r2(s.hostMs / steps),
    opsMs: r2(s.opsMs / steps),
    usPerCall: s.calls ? r2((1000 * s.hostMs) / s.calls) : 0,
  });
  const total: PhaseStat = { calls: 0, hostMs: 0, opsMs: 0 };
  for (const s of phases.values()) {
    total.calls += s.calls;
    total.hostMs += s.hostMs;
    total.opsMs += s.opsMs;
  }
  return [...STEP_PHASES.map((p) => row(p, phases.get(p)!)), row('step', total)];
}

/** The host-side table printed by `growbert bench --profile`. */
export function formatPhases(phases: Map<StepPhase, PhaseStat>, steps: number): string {
  const lines = [
    'the host side of a step (native calls; host time = outside every op: JavaScript, the addon, autograd, frees):',
    '| phase | native calls/step | host ms/step | ms in ops/step | host us/call |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const r of phaseRows(phases, steps))
    lines.push(
      `| ${r.phase} | ${r.calls} | ${r.hostMs.toFixed(2)} | ${r.opsMs.toFixed(1)} | ${r.usPerCall.toFixed(1)} |`,
    );
  return lines.join('\n');
}

export { profileOps, recordPhases };
