import { Mulberry32 } from "../lib/random";

/** Price dynamics under the real measure; r = 0, so `muAnnual` is the drift of S itself. Rates and vols are annual. */
export type PathModel =
  | { kind: "gbm"; sigma: number; muAnnual?: number }
  | { kind: "merton"; sigma: number; muAnnual?: number; jumpsPerYear: number; jumpMeanLog: number; jumpStdLog: number }
  | { kind: "heston"; v0: number; kappa: number; theta: number; xi: number; rho: number; muAnnual?: number }
  | { kind: "replay"; pricesUsd: Float64Array };

export interface Grid {
  steps: number;
  dtYears: number;
}

/**
 * Draws for one path: uniforms and standard normals from one seeded stream (lib/random.ts Mulberry32). The spare
 * normal is a double field with a flag, not a number-or-null: a field that changes kind is boxed on every write.
 */
export class Draws {
  private readonly u: Mulberry32;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    this.u = new Mulberry32(seed);
  }

  uniform(): number {
    return this.u.next();
  }

  /** Box-Muller, both halves used. */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const a = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(a);
    this.hasSpare = true;
    return r * Math.cos(a);
  }

  /** Poisson by inversion; the per-step means here are small. */
  poisson(mean: number): number {
    let k = 0;
    let p = Math.exp(-mean);
    let cdf = p;
    const u = this.uniform();
    while (u > cdf && k < 1000) {
      k++;
      p *= mean / k;
      cdf += p;
    }
    return k;
  }
}

/** Andersen's quadratic-exponential switch between the moment-matched square and the exponential tail. */
const PSI_C = 1.5;

/**
 * Fills `out[0..steps]` with one path from `s0`: exact log-GBM; Merton with lognormal jumps whose drift is
 * compensated so E[S_t] = S_0 e^{μt}; Heston by Andersen's QE scheme with the martingale correction (so the
 * discrete E[S_t] is exact too); or a replay of recorded prices scaled to start at `s0`.
 */
export function simulatePath(model: PathModel, s0: number, grid: Grid, draws: Draws, out: Float64Array): void {
  const { steps, dtYears: dt } = grid;
  if (out.length < steps + 1) throw new RangeError(`path buffer holds ${out.length} prices, the grid needs ${steps + 1}`);
  out[0] = s0;
  switch (model.kind) {
    case "gbm": {
      const drift = ((model.muAnnual ?? 0) - 0.5 * model.sigma * model.sigma) * dt;
      const vol = model.sigma * Math.sqrt(dt);
      for (let i = 1; i <= steps; i++) out[i] = out[i - 1]! * Math.exp(drift + vol * draws.normal());
      return;
    }
    case "merton": {
      const kappa = Math.exp(model.jumpMeanLog + 0.5 * model.jumpStdLog * model.jumpStdLog) - 1;
      const drift = ((model.muAnnual ?? 0) - 0.5 * model.sigma * model.sigma - model.jumpsPerYear * kappa) * dt;
      const vol = model.sigma * Math.sqrt(dt);
      const jumpMean = model.jumpsPerYear * dt;
      for (let i = 1; i <= steps; i++) {
        let x = drift + vol * draws.normal();
        const n = draws.poisson(jumpMean);
        for (let j = 0; j < n; j++) x += model.jumpMeanLog + model.jumpStdLog * draws.normal();
        out[i] = out[i - 1]! * Math.exp(x);
      }
      return;
    }
    case "heston":
      hestonQe(model, s0, grid, draws, out);
      return;
    case "replay": {
      const p = model.pricesUsd;
      if (p.length < steps + 1) throw new RangeError(`replay has ${p.length} prices, the grid needs ${steps + 1}`);
      const scale = s0 / p[0]!;
      for (let i = 1; i <= steps; i++) out[i] = p[i]! * scale;
      return;
    }
  }
}

function hestonQe(m: Extract<PathModel, { kind: "heston" }>, s0: number, grid: Grid, draws: Draws, out: Float64Array): void {
  const { steps, dtYears: dt } = grid;
  const { kappa, theta, xi, rho } = m;
  const ek = Math.exp(-kappa * dt);
  // Central weights (γ1 = γ2 = ½) of the integrated variance.
  const k1 = 0.5 * dt * ((kappa * rho) / xi - 0.5) - rho / xi;
  const k2 = 0.5 * dt * ((kappa * rho) / xi - 0.5) + rho / xi;
  const k3 = 0.5 * dt * (1 - rho * rho);
  const a = k2 + 0.5 * k3;
  const muDt = (m.muAnnual ?? 0) * dt;
  let v = m.v0;
  let x = Math.log(s0);
  for (let i = 1; i <= steps; i++) {
    const mean = theta + (v - theta) * ek;
    const s2 = (v * xi * xi * ek * (1 - ek)) / kappa + (theta * xi * xi * (1 - ek) * (1 - ek)) / (2 * kappa);
    const psi = s2 / (mean * mean);
    let next: number;
    let k0: number;
    if (psi <= PSI_C) {
      const inv = 2 / psi;
      const b2 = inv - 1 + Math.sqrt(inv) * Math.sqrt(inv - 1);
      const aq = mean / (1 + b2);
      const z = draws.normal();
      next = aq * (Math.sqrt(b2) + z) * (Math.sqrt(b2) + z);
      // Martingale correction: E[exp(A V')] in closed form for the non-central square (needs A < 1/(2a)).
      k0 = -(a * b2 * aq) / (1 - 2 * a * aq) + 0.5 * Math.log(1 - 2 * a * aq) - (k1 + 0.5 * k3) * v;
    } else {
      const p = (psi - 1) / (psi + 1);
      const beta = (1 - p) / mean;
      const u = draws.uniform();
      next = u <= p ? 0 : Math.log((1 - p) / (1 - u)) / beta;
      k0 = -Math.log(p + (beta * (1 - p)) / (beta - a)) - (k1 + 0.5 * k3) * v;
    }
    x += muDt + k0 + k1 * v + k2 * next + Math.sqrt(k3 * v + k3 * next) * draws.normal();
    v = next;
    out[i] = Math.exp(x);
  }
}

/** CSV rows of `timestamp,price` (unix seconds or ISO-8601; a header row is allowed) as a replay model. */
export function parsePriceCsv(text: string, source: string): { timesSec: Float64Array; pricesUsd: Float64Array } {
  const times: number[] = [];
  const prices: number[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith("#")) return;
    const [ts, px, ...rest] = t.split(",").map((c) => c.trim());
    if (i === 0 && Number.isNaN(Number(px))) return; // header
    const sec = /^\d+(\.\d+)?$/.test(ts ?? "") ? Number(ts) : Date.parse(ts ?? "") / 1000;
    const price = Number(px);
    if (rest.length || !Number.isFinite(sec) || !(price > 0)) throw new Error(`${source} line ${i + 1}: expected "timestamp,price" with a price > 0, got "${t}"`);
    if (times.length && sec <= times[times.length - 1]!) throw new Error(`${source} line ${i + 1}: timestamps must increase (${ts})`);
    times.push(sec);
    prices.push(price);
  });
  if (prices.length < 2) throw new Error(`${source}: needs at least two price rows`);
  return { timesSec: Float64Array.from(times), pricesUsd: Float64Array.from(prices) };
}

/** Prices at the first timestamp plus every `stepSec`, each the last recorded price at or before that time. */
export function resampleToGrid(timesSec: Float64Array, pricesUsd: Float64Array, stepSec: number): Float64Array {
  const span = timesSec[timesSec.length - 1]! - timesSec[0]!;
  const out = new Float64Array(Math.floor(span / stepSec) + 1);
  let j = 0;
  for (let k = 0; k < out.length; k++) {
    const t = timesSec[0]! + k * stepSec;
    while (j + 1 < timesSec.length && timesSec[j + 1]! <= t) j++;
    out[k] = pricesUsd[j]!;
  }
  return out;
}
