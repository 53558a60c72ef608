/**
 * mulberry32: a small, fast PRNG, so that faults, rejections and price paths repeat exactly for a seed. The state
 * lives in a typed array: a closure variable or field holding a number outside the small-integer range is boxed on
 * every write, and a backtest draws once per step of every path.
 */
export class Mulberry32 {
  private readonly state = new Uint32Array(1);

  constructor(seed: number) {
    this.state[0] = seed >>> 0;
  }

  /** A uniform in [0, 1). */
  next(): number {
    const a = (this.state[0]! + 0x6d2b79f5) >>> 0;
    this.state[0] = a;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

export function seededUniform(seed: number): () => number {
  const g = new Mulberry32(seed);
  return () => g.next();
}

/** Standard normals from seeded uniforms (Box-Muller). */
export function seededNormal(seed: number): () => number {
  const u = seededUniform(seed);
  // 1 - u keeps the logarithm's argument in (0, 1].
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/**
 * The seed of path `index` in a run seeded `seed` (a 32-bit finaliser of both), so each path's draws depend only
 * on (seed, index): results do not change with how paths are split across workers.
 */
export function pathSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
