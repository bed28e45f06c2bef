/**
 * mulberry32: a tiny seeded generator of floats in [0, 1). Tests and benchmarks use it wherever a
 * run must be reproducible from its seed (random vectors, a chaos run's kill schedule).
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
