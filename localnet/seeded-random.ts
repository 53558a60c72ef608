/** mulberry32: a small, fast PRNG, so that faults, rejections and price paths repeat exactly for a seed. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normals from seeded uniforms (Box-Muller). */
export function seededNormal(seed: number): () => number {
  const u = seededUniform(seed);
  // 1 - u keeps the logarithm's argument in (0, 1].
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}
