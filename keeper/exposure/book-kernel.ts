import { normUpperTail, SQRT_2PI_INV } from "./normal";

// Module-local bindings: a transpiled import can be a getter, which a loop run for every lane must not call.
const upperTail = normUpperTail;
const DENSITY_SCALE = SQRT_2PI_INV;

/**
 * The options book's greeks as a numeric kernel over lanes (one lane per price: a path of a backtest, or the one
 * price of a live decision), so the simulator and the live keeper value a book with the same code.
 *
 * Legs are grouped by (strike, expiry, implied vol): a call and a put of a group share d1, the density and the
 * gamma, so a straddle costs one evaluation, not two. Each group needs one logarithm-free d1 (ln S is taken once per
 * lane), one exponential (the density, reused for the tail: normal.ts normUpperTail) and no second CDF (Φ(−d1) is the
 * complement of Φ(d1), taken from whichever of the two is the small, accurate one). What depends only on time
 * (√τ, σ√τ, ½σ√τ) is computed once per instant for every lane (`at`).
 *
 * Black-76 with r = 0 on the oracle price: a Jupiter perp marks to the oracle and has no funding (options-book.ts).
 */

export const SECONDS_PER_YEAR = 365 * 24 * 3600;

/** The fields of a leg the kernel reads (options-book.ts OptionLeg). */
export interface KernelLeg {
  underlying: string;
  kind: "call" | "put";
  strike: number;
  expirySec: number;
  quantity: number;
  impliedVol: number;
}

/** Per-lane outputs of `greeks`, in tokens (per $ for gamma, per year for theta, per unit vol for vega). */
export interface GreekLanes {
  delta: Float64Array;
  gamma: Float64Array;
  theta: Float64Array;
  vega: Float64Array;
  /** |Γ|-weighted years to expiry and implied vol of the live legs: what a single-option band formula needs. */
  years: Float64Array;
  vol: Float64Array;
  /** ln S of each lane, for `deltas` at the same prices. */
  lnSpot: Float64Array;
}

export function greekLanes(capacity: number): GreekLanes {
  return {
    delta: new Float64Array(capacity),
    gamma: new Float64Array(capacity),
    theta: new Float64Array(capacity),
    vega: new Float64Array(capacity),
    years: new Float64Array(capacity),
    vol: new Float64Array(capacity),
    lnSpot: new Float64Array(capacity),
  };
}

export class BookKernel {
  /** Per group. */
  private readonly lnStrike: Float64Array;
  private readonly strike: Float64Array;
  private readonly expirySec: Float64Array;
  private readonly vol: Float64Array;
  private readonly callQty: Float64Array;
  private readonly putQty: Float64Array;
  /** Σ|quantity| of the group's legs: the weight of its years and vol is Σ|q·Γ| over legs, as leg-by-leg sums had it. */
  private readonly absQty: Float64Array;
  private readonly legCount: Int32Array;

  /** At the instant last prepared by `at`: the groups still alive and their time terms. */
  private nowSec = NaN;
  private live = 0;
  private liveLegs = 0;
  private readonly liveIndex: Int32Array;
  private readonly years: Float64Array;
  private readonly sqrtYears: Float64Array;
  private readonly invVolSqrtT: Float64Array;
  private readonly halfVolSqrtT: Float64Array;
  /** σ/(2√τ): theta is −S·φ(d1) times it. */
  private readonly decayFactor: Float64Array;

  private constructor(readonly groups: number) {
    const f = () => new Float64Array(groups);
    this.lnStrike = f();
    this.strike = f();
    this.expirySec = f();
    this.vol = f();
    this.callQty = f();
    this.putQty = f();
    this.absQty = f();
    this.legCount = new Int32Array(groups);
    this.liveIndex = new Int32Array(groups);
    this.years = f();
    this.sqrtYears = f();
    this.invVolSqrtT = f();
    this.halfVolSqrtT = f();
    this.decayFactor = f();
  }

  /** The legs on `underlying`, grouped. Legs must have a positive implied vol (every schema that reads them says so). */
  static compile(legs: readonly KernelLeg[], underlying: string): BookKernel {
    const index = new Map<string, number>();
    const rows: Array<{ strike: number; expirySec: number; vol: number; call: number; put: number; abs: number; legs: number }> = [];
    for (const leg of legs) {
      if (leg.underlying !== underlying) continue;
      const key = `${leg.strike}|${leg.expirySec}|${leg.impliedVol}`;
      let g = index.get(key);
      if (g === undefined) {
        g = rows.length;
        index.set(key, g);
        rows.push({ strike: leg.strike, expirySec: leg.expirySec, vol: leg.impliedVol, call: 0, put: 0, abs: 0, legs: 0 });
      }
      const row = rows[g]!;
      if (leg.kind === "call") row.call += leg.quantity;
      else row.put += leg.quantity;
      row.abs += Math.abs(leg.quantity);
      row.legs++;
    }
    const k = new BookKernel(rows.length);
    rows.forEach((r, g) => {
      k.strike[g] = r.strike;
      k.lnStrike[g] = Math.log(r.strike);
      k.expirySec[g] = r.expirySec;
      k.vol[g] = r.vol;
      k.callQty[g] = r.call;
      k.putQty[g] = r.put;
      k.absQty[g] = r.abs;
      k.legCount[g] = r.legs;
    });
    return k;
  }

  /** Prepares the time terms for `nowSec`; legs at or past expiry are left out (they count as zero delta). */
  at(nowSec: number): this {
    if (nowSec === this.nowSec) return this;
    this.nowSec = nowSec;
    let live = 0;
    let liveLegs = 0;
    for (let g = 0; g < this.groups; g++) {
      if (!(this.expirySec[g]! > nowSec)) continue;
      const years = (this.expirySec[g]! - nowSec) / SECONDS_PER_YEAR;
      const sqrtT = Math.sqrt(years);
      const volSqrtT = this.vol[g]! * sqrtT;
      this.years[g] = years;
      this.sqrtYears[g] = sqrtT;
      this.invVolSqrtT[g] = 1 / volSqrtT;
      this.halfVolSqrtT[g] = 0.5 * volSqrtT;
      this.decayFactor[g] = this.vol[g]! / (2 * sqrtT);
      this.liveIndex[live++] = g;
      liveLegs += this.legCount[g]!;
    }
    this.live = live;
    this.liveLegs = liveLegs;
    return this;
  }

  /** Legs alive at the instant prepared. */
  get liveLegCount(): number {
    return this.liveLegs;
  }

  /** Greeks of lanes [0, n) at their spots, at the instant prepared by `at`. */
  greeks(spotUsd: Float64Array, n: number, out: GreekLanes): void {
    for (let b = 0; b < n; b++) {
      const s = spotUsd[b]!;
      const invS = 1 / s;
      const lnS = Math.log(s);
      out.lnSpot[b] = lnS;
      let delta = 0;
      let gamma = 0;
      let theta = 0;
      let vega = 0;
      let weight = 0;
      let weightedYears = 0;
      let weightedVol = 0;
      for (let j = 0; j < this.live; j++) {
        const g = this.liveIndex[j]!;
        // d1 = (ln(S/K) + ½σ²τ)/(σ√τ), with ln S taken once per lane.
        const d1 = (lnS - this.lnStrike[g]!) * this.invVolSqrtT[g]! + this.halfVolSqrtT[g]!;
        const e = Math.exp(-0.5 * d1 * d1);
        const tail = upperTail(Math.abs(d1), e);
        const up = d1 >= 0 ? 1 - tail : tail; // Φ(d1)
        const down = d1 >= 0 ? tail : 1 - tail; // Φ(−d1)
        delta += this.callQty[g]! * up - this.putQty[g]! * down;
        const density = DENSITY_SCALE * e;
        const legGamma = density * this.invVolSqrtT[g]! * invS;
        const net = this.callQty[g]! + this.putQty[g]!;
        gamma += net * legGamma;
        // With r = b = 0 a call and a put decay alike: −S·φ(d1)·σ/(2√τ).
        theta -= net * s * density * this.decayFactor[g]!;
        vega += net * s * density * this.sqrtYears[g]!;
        const w = this.absQty[g]! * legGamma;
        weight += w;
        weightedYears += w * this.years[g]!;
        weightedVol += w * this.vol[g]!;
      }
      out.delta[b] = delta;
      out.gamma[b] = gamma;
      out.theta[b] = theta;
      out.vega[b] = vega;
      // Divided, not multiplied by a reciprocal: one leg's vol comes back exactly.
      out.years[b] = weight > 0 ? weightedYears / weight : 0;
      out.vol[b] = weight > 0 ? weightedVol / weight : 0;
    }
  }

  /**
   * Delta alone of lanes [0, n) with every leg's vol times the lane's `volScale` (Zakamouline's band centre), at the
   * instant prepared, given each lane's ln S (`greeks` leaves it in GreekLanes.lnSpot). With a scale of 1 it is exactly
   * `greeks`' delta: the same d1, the same tail.
   */
  deltas(spotUsd: Float64Array, lnSpot: Float64Array, volScale: Float64Array, n: number, out: Float64Array): void {
    for (let b = 0; b < n; b++) {
      const s = spotUsd[b]!;
      const scale = volScale[b]!;
      const lnS = lnSpot[b]!;
      let delta = 0;
      for (let j = 0; j < this.live; j++) {
        const g = this.liveIndex[j]!;
        let up: number;
        let down: number;
        if (scale > 0) {
          const d1 = ((lnS - this.lnStrike[g]!) * this.invVolSqrtT[g]!) / scale + this.halfVolSqrtT[g]! * scale;
          const tail = upperTail(Math.abs(d1), Math.exp(-0.5 * d1 * d1));
          up = d1 >= 0 ? 1 - tail : tail;
          down = d1 >= 0 ? tail : 1 - tail;
        } else {
          // No vol left: the intrinsic delta.
          const k = this.strike[g]!;
          up = s > k ? 1 : 0;
          down = s < k ? 1 : 0;
        }
        delta += this.callQty[g]! * up - this.putQty[g]! * down;
      }
      out[b] = delta;
    }
  }
}
