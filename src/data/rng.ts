/**
 * A small seeded PRNG (sfc32) whose whole state is four uint32s, so a data pipeline's position
 * can be written to JSON in a checkpoint and resumed bit-exactly. Math.random cannot be seeded
 * or saved, and the quality of sfc32 is ample for shuffling and picking split points.
 */

/** The JSON-serializable state of an `Rng`: four uint32 words. */
export type RngState = [number, number, number, number];

/** 32-bit hash of a string (FNV-1a then a murmur3 finalizer), used only to derive seeds. */
export function hashString32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(s: RngState) {
    [this.a, this.b, this.c, this.d] = s.map((x) => x >>> 0) as RngState;
  }

  /**
   * A generator for `seed` and optional labels (`Rng.fromSeed(7, 'epoch', 3)`): each distinct
   * (seed, labels) gives an independent stream, so e.g. every epoch's shuffle can be recomputed
   * from the seed alone instead of being stored.
   */
  static fromSeed(seed: number | string, ...labels: (number | string)[]): Rng {
    let x = hashString32([String(seed), ...labels.map(String)].join('\u0000'));
    // splitmix32 spreads the one hash word over the four state words (never all zero).
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      return fmix32(x);
    };
    const rng = new Rng([next(), next(), next(), next() | 1]);
    // sfc32 mixes poorly in its first outputs from correlated words; discard them.
    for (let i = 0; i < 12; i++) rng.nextU32();
    return rng;
  }

  static restore(state: RngState): Rng {
    if (
      !Array.isArray(state) ||
      state.length !== 4 ||
      !state.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)
    ) {
      throw new TypeError(`bad RNG state ${JSON.stringify(state)}: expected four uint32 integers`);
    }
    return new Rng(state);
  }

  state(): RngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  clone(): Rng {
    return new Rng(this.state());
  }

  /** Next uint32 (sfc32). */
  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling); n in [1, 2^32]. */
  int(n: number): number {
    if (!(n >= 1 && n <= 4294967296 && Number.isInteger(n))) throw new RangeError(`Rng.int: bad bound ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Uniform integer in [lo, hi] inclusive. */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** A shuffled permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}
