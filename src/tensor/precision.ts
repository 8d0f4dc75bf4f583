// `--precision auto`: bf16 mixed precision where the hardware runs bfloat16 matmuls natively, fp32
// elsewhere. CPUs: x86 with AVX512-BF16 or AMX-BF16 (oneDNN, which libtorch's CPU matmuls use for
// bfloat16, has kernels for both; without them bfloat16 is emulated and slower than float32).
// CUDA: compute capability 8.0 (Ampere) and newer have bfloat16 tensor cores.
import * as fs from 'node:fs';
import { native } from './native.js';
import type { Device } from './dtype.js';

/** The settings of --precision (one list: the config schema and the CLI read it). */
export const PRECISION_SETTINGS = ['auto', 'fp32', 'bf16'] as const;
export type PrecisionSetting = (typeof PRECISION_SETTINGS)[number];
export type Precision = 'fp32' | 'bf16';

export interface PrecisionChoice {
  precision: Precision;
  /** one line for the run log: what was chosen and why */
  reason: string;
}

/** The bfloat16 instruction sets in /proc/cpuinfo's flags (empty where there is none or no such file). */
export function cpuBf16Flags(cpuinfo?: string): string[] {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return [];
    }
  }
  const flags = new Set((text.match(/^flags\s*:(.*)$/m)?.[1] ?? '').trim().split(/\s+/));
  return ['avx512_bf16', 'amx_bf16'].filter((f) => flags.has(f));
}

/** [major, minor] compute capability of a CUDA device, or null (no CUDA in this build or on this machine). */
export function cudaCapability(device: Device): [number, number] | null {
  return native.cudaCapability(device) as [number, number] | null;
}

/** Resolves a precision setting for a device; `probe` stands in for the hardware in tests. */
export function choosePrecision(
  setting: PrecisionSetting,
  device: Device,
  probe?: { cpuFlags?: string[]; capability?: [number, number] | null },
): PrecisionChoice {
  if (setting !== 'auto') return { precision: setting, reason: `${setting} (asked for)` };
  if (device.startsWith('cuda')) {
    const cap = probe && 'capability' in probe ? (probe.capability ?? null) : cudaCapability(device);
    if (cap && cap[0] >= 8)
      return {
        precision: 'bf16',
        reason: `bf16 (auto: ${device} has compute capability ${cap.join('.')}, bfloat16 tensor cores)`,
      };
    return {
      precision: 'fp32',
      reason: `fp32 (auto: ${device} ${cap ? `has compute capability ${cap.join('.')}, below 8.0` : 'reports no compute capability'}: no fast bfloat16)`,
    };
  }
  const flags = probe?.cpuFlags ?? cpuBf16Flags();
  if (flags.length) return { precision: 'bf16', reason: `bf16 (auto: this CPU has ${flags.join(' and ')})` };
  return {
    precision: 'fp32',
    reason: 'fp32 (auto: this CPU has neither AVX512-BF16 nor AMX, bfloat16 would be emulated)',
  };
}
