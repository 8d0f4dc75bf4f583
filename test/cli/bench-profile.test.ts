// bench --profile's bookkeeping: op names to kinds, the rows (shares sum to 1), and the host side
// (native calls and host time per phase of the step).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { OP_KINDS, opKind, profileRows } from '../../src/cli/bench-profile.js';

test('opKind files forward ops and autograd nodes under the part of the model they belong to', () => {
  const bw = (n: string) => `autograd::engine::evaluate_function: ${n}`;
  assert.equal(opKind('aten::linear'), 'matmul (linear layers, MLM decoder)');
  assert.equal(opKind(bw('AddmmBackward0')), 'matmul (linear layers, MLM decoder)');
  assert.equal(opKind(bw('BmmBackward0')), 'attention (scores, mixing, mask)');
  assert.equal(opKind('aten::matmul'), 'attention (scores, mixing, mask)');
  assert.equal(opKind('aten::layer_norm'), 'LayerNorm, GELU, softmax');
  assert.equal(opKind(bw('GeluBackward0')), 'LayerNorm, GELU, softmax');
  assert.equal(opKind(bw('EmbeddingBackward0')), 'embedding and its gradient');
  assert.equal(opKind(bw('LogSoftmaxBackward0')), 'loss (cross entropy over the vocabulary)');
  assert.equal(opKind('growbert::cross_entropy'), 'loss (cross entropy over the vocabulary)');
  assert.equal(opKind('growbert::adamw_fused'), 'optimizer and clipping');
  assert.equal(opKind('growbert::dropout_mask'), 'element-wise, dropout, casts, copies');
  assert.equal(
    opKind(bw('torch::autograd::CppNode<gb::(anonymous namespace)::FusedCrossEntropy>')),
    'loss (cross entropy over the vocabulary)',
  );
  assert.equal(opKind('aten::_foreach_mul_'), 'optimizer and clipping');
  assert.equal(opKind('aten::dropout'), 'element-wise, dropout, casts, copies');
  assert.equal(opKind(bw('torch::autograd::AccumulateGrad')), 'gradient accumulation (autograd)');
  assert.equal(opKind('aten::something_new'), 'other ops');
});

test('profileRows: every kind, data and overhead; shares of the whole step sum to 1', () => {
  const ops = new Map([
    ['aten::linear', { ms: 60, calls: 2 }],
    [`autograd::engine::evaluate_function: AddmmBackward0`, { ms: 20, calls: 2 }],
    ['aten::add', { ms: 10, calls: 1 }],
  ]);
  const rows = profileRows({ ops, insideOpsMs: 90 }, 100, 10);
  assert.equal(rows.length, OP_KINDS.length + 2);
  const get = (k: string) => rows.find((r) => r.kind === k)!;
  assert.equal(get('matmul (linear layers, MLM decoder)').ms, 80);
  assert.equal(get('JavaScript and addon overhead').ms, 10);
  assert.equal(get('data and masking').ms, 10);
  assert.ok(Math.abs(rows.reduce((a, r) => a + r.share, 0) - 1) < 1e-9);
});

test('growbert bench --profile --json: precision and its reason, the rows, and GFLOP/s against a peak', () => {
  const r = spawnSync(
    process.execPath,
    [
      'bin/growbert.js',
      'bench',
      '--layers',
      '1',
      '--hidden',
      '32',
      '--heads',
      '2',
      '--ffn',
      '64',
      '--batch',
      '2',
      '--seq',
      '16',
      '--vocab',
      '100',
      '--steps',
      '1',
      '--threads',
      '1',
      '--precision',
      'fp32',
      '--profile',
      '--json',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /precision fp32 \(asked for\)/);
  assert.match(r.stdout, /\| matmul \(linear layers, MLM decoder\) \|/);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(j.precision, 'fp32');
  assert.ok(j.gflops > 0 && j.matmulPeakGflops > 0 && j.peakFraction > 0);
  assert.equal(j.profile.length, OP_KINDS.length + 2);
  assert.ok(j.profile.find((x: { kind: string; ms: number }) => x.kind.startsWith('matmul')).ms > 0);
  // the host side: calls and host time per phase, and their sum
  assert.match(r.stdout, /\| phase \| native calls\/step \| host ms\/step \|/);
  type Phase = { phase: string; calls: number; hostMs: number; opsMs: number; usPerCall: number };
  const phases = j.phases as Phase[];
  assert.deepEqual(
    phases.map((p) => p.phase),
    ['forward', 'backward', 'optimizer', 'bookkeeping', 'step'],
  );
  const by = Object.fromEntries(phases.map((p) => [p.phase, p]));
  assert.equal(by.backward.calls, 1);
  assert.equal(by.optimizer.calls, 4);
  assert.ok(by.forward.calls > 10 && by.forward.opsMs > 0 && by.step.hostMs > 0);
  assert.equal(by.step.calls, by.forward.calls + by.backward.calls + by.optimizer.calls + by.bookkeeping.calls);
});

test('growbert bench refuses an unknown precision with a one-line fix', () => {
  const r = spawnSync(process.execPath, ['bin/growbert.js', 'bench', '--precision', 'fp16'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--precision fp16: use auto, fp32 or bf16/);
});
