// CUDA tests: device placement, a bf16 training step against fp32 on the same device, CPU against
// CUDA, growth on the device, NCCL with one rank. Without CUDA each one skips, printing why
// (`npm run check:device` runs them on a GPU machine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BertForMaskedLM, bertConfig } from '../../src/model/index.js';
import { checkPreservation, grow } from '../../src/grow/index.js';
import {
  cuda,
  manualSeed,
  noGrad,
  ones,
  randint,
  tidy,
  torchVersion,
  zeros,
  type Device,
  type Tensor,
} from '../../src/tensor/index.js';
import { createOptimizer } from '../../src/train/optim/index.js';
import { trainStep } from '../../src/train/step.js';
import type { ModelBatch } from '../../src/train/data.js';
import { ProcessGroup, distributedBackends } from '../../src/parallel/process-group.js';

const NO_CUDA = cuda.isAvailable()
  ? false
  : `no CUDA device visible to this libtorch (${torchVersion()}); run npm run check:device on a GPU machine`;
const config = bertConfig({
  vocabSize: 512,
  hiddenSize: 64,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 128,
  maxPositionEmbeddings: 64,
  hiddenDropoutProb: 0,
  attentionProbsDropoutProb: 0,
});

function batch(device: Device): ModelBatch {
  manualSeed(1);
  return tidy(() => {
    const b = {
      inputIds: randint(5, 512, [4, 32]),
      tokenTypeIds: zeros([4, 32], { dtype: 'int64' }),
      attentionMask: ones([4, 32], { dtype: 'int64' }),
      maskedPositions: randint(0, 32, [4, 5]),
      maskedLabels: randint(5, 512, [4, 5]),
    };
    const to = (t: Tensor) => (device === 'cpu' ? t : t.to(device));
    return {
      inputIds: to(b.inputIds),
      tokenTypeIds: to(b.tokenTypeIds),
      attentionMask: to(b.attentionMask),
      maskedPositions: to(b.maskedPositions),
      maskedLabels: to(b.maskedLabels),
      tokens: 128,
    };
  });
}
const maxAbsDiff = (a: Tensor, b: Tensor) => tidy(() => a.to('cpu').sub(b.to('cpu')).abs().max().item());

test('a model built on cuda keeps its parameters and outputs there', { skip: NO_CUDA }, () => {
  const m = new BertForMaskedLM(config, { device: 'cuda', seed: 0 });
  for (const p of m.parameters()) assert.match(p.device, /^cuda/);
  tidy(() => assert.match(m.forward(batch('cuda')).logits.device, /^cuda/));
});

test('CPU and CUDA give the same logits, loss and updated weights for one step (fp32)', { skip: NO_CUDA }, () => {
  const cpu = new BertForMaskedLM(config, { device: 'cpu', seed: 0 }),
    gpu = new BertForMaskedLM(config, { device: 'cuda', seed: 0 });
  const bc = batch('cpu'),
    bg = batch('cuda');
  noGrad(() => tidy(() => assert.ok(maxAbsDiff(cpu.forward(bc).logits, gpu.forward(bg).logits) < 1e-4)));
  const oc = createOptimizer('adamw', cpu.namedParameters(), { lr: 1e-3 }),
    og = createOptimizer('adamw', gpu.namedParameters(), { lr: 1e-3 });
  const rc = trainStep(cpu, oc, [bc], { lr: 1e-3, clipNorm: 1, bf16: false }),
    rg = trainStep(gpu, og, [bg], { lr: 1e-3, clipNorm: 1, bf16: false });
  assert.ok(Math.abs(rc.loss - rg.loss) < 1e-4, `loss ${rc.loss} vs ${rg.loss}`);
  const pc = cpu.parameters(),
    pg = gpu.parameters();
  for (let i = 0; i < pc.length; i++) assert.ok(maxAbsDiff(pc[i], pg[i]) < 1e-4, `parameter ${i}`);
});

test('a bf16 training step on cuda matches fp32 on the same device within bf16 rounding', { skip: NO_CUDA }, () => {
  const a = new BertForMaskedLM(config, { device: 'cuda', seed: 0 }),
    b = new BertForMaskedLM(config, { device: 'cuda', seed: 0 });
  const bt = batch('cuda');
  const r32 = trainStep(a, createOptimizer('adamw', a.namedParameters(), { lr: 1e-3 }), [bt], {
    lr: 1e-3,
    clipNorm: 1,
    bf16: false,
  });
  const r16 = trainStep(b, createOptimizer('adamw', b.namedParameters(), { lr: 1e-3 }), [bt], {
    lr: 1e-3,
    clipNorm: 1,
    bf16: true,
  });
  assert.ok(Math.abs(r32.loss - r16.loss) / r32.loss < 1e-2, `loss ${r32.loss} vs ${r16.loss}`);
  assert.ok(
    Math.abs(r32.gradNorm - r16.gradNorm) / r32.gradNorm < 5e-2,
    `gradient norm ${r32.gradNorm} vs ${r16.gradNorm}`,
  );
  // One Adam step moves each weight by about lr: the two models stay within a small part of it.
  const pa = a.parameters(),
    pb = b.parameters();
  for (let i = 0; i < pa.length; i++) assert.ok(maxAbsDiff(pa[i], pb[i]) < 2e-3, `parameter ${i}`);
});

test('growth on cuda preserves the function (depth and width, exact operators)', { skip: NO_CUDA }, () => {
  const m = new BertForMaskedLM(config, { device: 'cuda', seed: 0 });
  const r = grow({ model: m }, { numHiddenLayers: 4, intermediateSize: 256 }, { depth: 'identity', ffn: 'share' });
  for (const p of r.model.parameters()) assert.match(p.device, /^cuda/);
  const report = checkPreservation(m, r.model, batch('cuda'));
  assert.ok(report.maxAbsLogitDiff < 1e-4, `max |logit difference| ${report.maxAbsLogitDiff}`);
});

const NO_NCCL = NO_CUDA || (distributedBackends()?.nccl ? false : 'this addon was built without NCCL');
test('NCCL with one rank: a group forms, sums and broadcasts on the device', { skip: NO_NCCL }, () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-nccl-')), 'store');
  const pg = ProcessGroup.init({ backend: 'nccl', rank: 0, worldSize: 1, store: { file }, timeoutMs: 30000 });
  try {
    const t = ones([8], { device: 'cuda' }).mul(3);
    pg.allReduce(t, 'sum').wait();
    assert.deepEqual(t.to('cpu').toArray(), Array(8).fill(3));
    pg.broadcast([t]);
    pg.barrier();
  } finally {
    pg.destroy();
  }
});
