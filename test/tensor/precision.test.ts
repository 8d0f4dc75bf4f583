// --precision auto: the choice from the hardware's bfloat16 support, and the reason it logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choosePrecision, cpuBf16Flags } from '../../src/tensor/index.js';

const CPUINFO = (flags: string) =>
  `processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 ${flags}\nbogomips\t: 5192.29\n`;

test('cpuBf16Flags reads AVX512-BF16 and AMX-BF16 from /proc/cpuinfo text, and nothing else', () => {
  assert.deepEqual(cpuBf16Flags(CPUINFO('avx512f avx512_bf16')), ['avx512_bf16']);
  assert.deepEqual(cpuBf16Flags(CPUINFO('amx_tile amx_bf16 avx512_bf16')), ['avx512_bf16', 'amx_bf16']);
  assert.deepEqual(cpuBf16Flags(CPUINFO('avx512f avx512_vnni')), []);
  assert.deepEqual(cpuBf16Flags(''), []);
});

test('auto picks bf16 on a CPU with bf16 instructions and fp32 without, saying why', () => {
  const yes = choosePrecision('auto', 'cpu', { cpuFlags: ['avx512_bf16'] });
  assert.equal(yes.precision, 'bf16');
  assert.match(yes.reason, /auto: this CPU has avx512_bf16/);
  const no = choosePrecision('auto', 'cpu', { cpuFlags: [] });
  assert.equal(no.precision, 'fp32');
  assert.match(no.reason, /neither AVX512-BF16 nor AMX/);
});

test('auto on CUDA: bf16 from compute capability 8.0, fp32 below it or without one', () => {
  assert.equal(choosePrecision('auto', 'cuda', { capability: [9, 0] }).precision, 'bf16');
  assert.equal(choosePrecision('auto', 'cuda:1', { capability: [8, 0] }).precision, 'bf16');
  const volta = choosePrecision('auto', 'cuda', { capability: [7, 0] });
  assert.equal(volta.precision, 'fp32');
  assert.match(volta.reason, /7\.0, below 8\.0/);
  assert.equal(choosePrecision('auto', 'cuda', { capability: null }).precision, 'fp32');
});

test('an explicit precision is kept whatever the hardware', () => {
  assert.deepEqual(choosePrecision('fp32', 'cpu', { cpuFlags: ['amx_bf16'] }), {
    precision: 'fp32',
    reason: 'fp32 (asked for)',
  });
  assert.equal(choosePrecision('bf16', 'cpu', { cpuFlags: [] }).precision, 'bf16');
});
