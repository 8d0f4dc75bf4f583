// The model and batch shape of `growbert bench` as its flags: what the benchmark scripts
// (bench/peer-cpu.ts, scripts/check-device.mjs) pass, spelled once.
export interface BenchShape {
  layers: number;
  hidden: number;
  heads: number;
  ffn: number;
  batch: number;
  seq: number;
  /** default: bench's own (30522) */
  vocab?: number;
}

export function benchShapeFlags(s: BenchShape): string[] {
  const flags: [string, number | undefined][] = [
    ['layers', s.layers],
    ['hidden', s.hidden],
    ['heads', s.heads],
    ['ffn', s.ffn],
    ['batch', s.batch],
    ['seq', s.seq],
    ['vocab', s.vocab],
  ];
  return flags.filter(([, v]) => v !== undefined).flatMap(([k, v]) => [`--${k}`, String(v)]);
}
