/** Small deterministic PRNG (mulberry32) so ids and injected faults are reproducible. */
export interface Prng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** `len` lowercase hex characters. */
  hex(len: number): string;
  /** `len` decimal digits (first one non-zero). */
  digits(len: number): string;
}

export function createPrng(seed: number): Prng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (maxExclusive: number): number => Math.floor(next() * maxExclusive);
  return {
    next,
    int,
    hex: (len) => {
      let out = '';
      for (let i = 0; i < len; i++) out += int(16).toString(16);
      return out;
    },
    digits: (len) => {
      let out = String(1 + int(9));
      for (let i = 1; i < len; i++) out += String(int(10));
      return out;
    },
  };
}
