import { oneWayCostFraction, type TradeCostParams } from "./costs";
import type { PolicyConfig } from "./policy";

/**
 * The decision core as numeric kernels over lanes (structure of arrays, one lane per path of a backtest, or the single
 * lane of a live decision): the band of every policy, then the rule that turns a band and a hedge into a trade or a
 * hold. policy.ts's decide() runs these same kernels on one lane, so the simulator decides with the live keeper's
 * code, number for number (tests/unit/decision-lanes.test.ts holds them to it on random inputs).
 *
 * Work that does not depend on the policy's parameter is done once per lane and step, whatever the number of policies
 * being compared: Whalley-Wilmott's ∛(SΓ²) (the band is that times ∛(1.5λ/γ)), Zakamouline's factors of λ, τ, σ and
 * Γ (the parameter enters only as powers of γ). Nothing is allocated per lane or per call.
 */

/** Why a lane holds, or that it trades. */
export const Outcome = { trade: 0, insideBand: 1, clockNotElapsed: 2, cooldown: 3, belowMinimum: 4 } as const;

/** The smallest size a request can carry is 1 USD×1e6: a change worth less rounds to nothing and is not a trade. */
export const MIN_TRADE_NOTIONAL_USD = 1e-6;

export class DecisionLanes {
  // Inputs, per lane.
  readonly spotUsd: Float64Array;
  /** Σ delta of everything hedged, times the hedge ratio (tokens); the target hedge is targetNetDelta − delta. */
  readonly delta: Float64Array;
  /** The options' part of `delta` (Zakamouline shifts the centre by its change with vol). */
  readonly optionsDelta: Float64Array;
  readonly gamma: Float64Array;
  readonly years: Float64Array;
  readonly vol: Float64Array;
  /** Variance rate (tokens²/yr) of the target's non-option part (JLP flows); 0 when unknown. */
  readonly varianceRate: Float64Array;
  /** The hedge held (tokens, + long) and when it last traded, in the caller's clock ticks (seconds live, steps in a
   * backtest; NaN: never): the lanes' own arrays, or a caller's state arrays bound in place (`bind`). */
  hedgeTokens: Float64Array;
  lastTrade: Float64Array;
  // Outputs.
  readonly center: Float64Array;
  readonly halfWidth: Float64Array;
  readonly deviation: Float64Array;
  readonly toTokens: Float64Array;
  readonly change: Float64Array;
  readonly outcome: Uint8Array;
  /** 1 where the change was cut to the maximum trade. */
  readonly cut: Uint8Array;
  /** The lanes that trade, in order: `trading[0 .. tradeCount)`; a caller acting on trades need not visit the holds. */
  readonly trading: Int32Array;
  tradeCount = 0;
  // Scratch shared by the policies of one step.
  readonly volScale: Float64Array;
  readonly scaledDelta: Float64Array;
  private readonly wwBase: Float64Array;
  /** Zakamouline's fit with γ factored out (prepareZak): K = −4.76·zakK·γ^0.15, H₀ = zakH0/γ, H₁ = zakH1·γ^−0.5. */
  readonly zakK: Float64Array;
  readonly zakH0: Float64Array;
  readonly zakH1: Float64Array;
  /** 0 where Zakamouline has no band: no gamma, no time or no vol left. */
  readonly zakValid: Uint8Array;
  private lanes = 0;
  private wwReady = false;
  private zakReadyFor = NaN;

  constructor(readonly capacity: number) {
    const f = () => new Float64Array(capacity);
    this.spotUsd = f();
    this.delta = f();
    this.optionsDelta = f();
    this.gamma = f();
    this.years = f();
    this.vol = f();
    this.varianceRate = f();
    this.hedgeTokens = f();
    this.lastTrade = f();
    this.center = f();
    this.halfWidth = f();
    this.deviation = f();
    this.toTokens = f();
    this.change = f();
    this.outcome = new Uint8Array(capacity);
    this.cut = new Uint8Array(capacity);
    this.trading = new Int32Array(capacity);
    this.volScale = f();
    this.scaledDelta = f();
    this.wwBase = f();
    this.zakK = f();
    this.zakH0 = f();
    this.zakH1 = f();
    this.zakValid = new Uint8Array(capacity);
  }

  /** Reads the hedges and last trades from the caller's arrays (a policy's state in a backtest), without a copy. */
  bind(hedgeTokens: Float64Array, lastTrade: Float64Array): void {
    this.hedgeTokens = hedgeTokens;
    this.lastTrade = lastTrade;
  }

  /** Lanes [0, n) hold new exposure inputs: the factors shared across policies are recomputed on first use. */
  begin(n: number): void {
    if (n > this.capacity) throw new RangeError(`${n} lanes in a batch of ${this.capacity}`);
    this.lanes = n;
    this.wwReady = false;
    this.zakReadyFor = NaN;
  }

  get n(): number {
    return this.lanes;
  }

  /** max(∛(SΓ²), ∛(σ_D²/(Sσ²))): the option band and the flow band before their common factor ∛(1.5λ/γ). */
  wwFactors(): Float64Array {
    if (!this.wwReady) {
      for (let b = 0; b < this.lanes; b++) {
        const s = this.spotUsd[b]!;
        const g = this.gamma[b]!;
        const option = Math.cbrt(s * g * g);
        const rate = this.varianceRate[b]!;
        const vol = this.vol[b]!;
        this.wwBase[b] = rate > 0 && vol > 0 ? Math.max(option, Math.cbrt(rate / (s * vol * vol))) : option;
      }
      this.wwReady = true;
    }
    return this.wwBase;
  }

  /** Zakamouline's per-lane factors (zakK, zakH0, zakH1, zakValid) for a one-way cost λ. */
  prepareZak(costFraction: number): void {
    if (this.zakReadyFor === costFraction) return;
    const lnCost = Math.log(costFraction);
    // The fit's powers of λ, τ and σ, taken once for a run of lanes with the same τ and σ (every lane of a step, on a
    // one-expiry book); what varies by lane is S²|Γ|^0.15 and √|Γ|.
    let years = NaN;
    let vol = NaN;
    let kFactor = NaN;
    let h1Factor = NaN;
    for (let b = 0; b < this.lanes; b++) {
      const g = this.gamma[b]!;
      const valid = g !== 0 && this.years[b]! > 0 && this.vol[b]! > 0;
      this.zakValid[b] = valid ? 1 : 0;
      if (!valid) continue;
      if (this.years[b] !== years || this.vol[b] !== vol) {
        years = this.years[b]!;
        vol = this.vol[b]!;
        const lnYears = Math.log(years);
        const lnCommon = -0.25 * Math.log(vol);
        kFactor = Math.exp(0.78 * lnCost - 0.02 * lnYears + lnCommon);
        h1Factor = 1.12 * Math.exp(0.31 * lnCost + 0.05 * lnYears + lnCommon);
      }
      const s = this.spotUsd[b]!;
      const absGamma = Math.abs(g);
      this.zakK[b] = kFactor * Math.exp(0.15 * Math.log(s * s * absGamma));
      this.zakH0[b] = costFraction / (s * vol * vol * years);
      this.zakH1[b] = h1Factor * Math.sqrt(absGamma);
    }
    this.zakReadyFor = costFraction;
  }
}

/** The options' delta (times the hedge ratio) of each lane with every leg's vol scaled by the lane's `volScale`. */
export interface ScaledOptionsDeltas {
  deltasAt(volScale: Float64Array, n: number, out: Float64Array): void;
}

/**
 * Each lane's band for `policy`: centre = the target hedge q* (Zakamouline: q* at its shifted vol), half-width by the
 * policy (hedging-math.md §2). `scaled` is needed by Zakamouline's centre only; without it the centre is q*.
 */
export function computeBands(lanes: DecisionLanes, policy: PolicyConfig, costs: TradeCostParams, targetNetDelta: number, scaled: ScaledOptionsDeltas | null): void {
  const n = lanes.n;
  const { center, halfWidth, delta } = lanes;
  for (let b = 0; b < n; b++) center[b] = targetNetDelta - delta[b]!;
  switch (policy.kind) {
    case "fixed":
      halfWidth.fill(policy.thresholdTokens, 0, n);
      return;
    case "clock":
      halfWidth.fill(0, 0, n);
      return;
    case "whalley-wilmott": {
      const base = lanes.wwFactors();
      const factor = Math.cbrt((1.5 * oneWayCostFraction(costs, 0)) / policy.riskAversion);
      if (costs.impactFeeScalar > 0) {
        // λ includes the impact fee at a band-sized trade; one fixed-point step is enough (impact is tiny at band size).
        for (let b = 0; b < n; b++) {
          const first = factor * base[b]!;
          halfWidth[b] = Math.cbrt((1.5 * oneWayCostFraction(costs, first * lanes.spotUsd[b]!)) / policy.riskAversion) * base[b]!;
        }
      } else {
        for (let b = 0; b < n; b++) halfWidth[b] = factor * base[b]!;
      }
      return;
    }
    case "zakamouline": {
      lanes.prepareZak(oneWayCostFraction(costs, 0));
      const { zakK, zakH0, zakH1, zakValid } = lanes;
      const gammaK = -4.76 * Math.pow(policy.riskAversion, 0.15);
      const gammaH1 = 1 / Math.sqrt(policy.riskAversion);
      const { volScale, gamma } = lanes;
      for (let b = 0; b < n; b++) {
        if (zakValid[b] === 0) {
          halfWidth[b] = 0;
          volScale[b] = 1;
          continue;
        }
        const k = gammaK * zakK[b]!;
        volScale[b] = Math.sqrt(Math.max(0, gamma[b]! > 0 ? 1 + k : 1 - k));
        halfWidth[b] = zakH0[b]! / policy.riskAversion + zakH1[b]! * gammaH1;
      }
      if (scaled === null) return;
      scaled.deltasAt(volScale, n, lanes.scaledDelta);
      for (let b = 0; b < n; b++) if (zakValid[b] === 1) center[b] = center[b]! - (lanes.scaledDelta[b]! - lanes.optionsDelta[b]!);
      return;
    }
  }
}

/** A policy's trading rule, with its clock and limits in the caller's ticks (seconds live, steps in a backtest). */
export interface RuleParams {
  kind: PolicyConfig["kind"];
  /** Clock policies: ticks between rebalances. */
  interval: number;
  cooldown: number;
  minTradeTokens: number;
  maxTradeTokens: number;
}

/**
 * Each lane's decision from its band: band policies trade back to the nearest band edge, fixed and clock policies to
 * the centre. `initial` puts the hedge on at the centre whatever the band says (a desk's first hedge), still within
 * the size limits. A change below the minimum trade, or worth less than a request can carry, holds; a trade that
 * would leave a position worth less than that closes it.
 * A hold writes its outcome only; `deviation`, `change`, `cut` and `toTokens` are written where a lane gets as far as
 * sizing a trade.
 */
export function applyRule(lanes: DecisionLanes, r: RuleParams, now: number, initial: boolean): void {
  const n = lanes.n;
  const { center, halfWidth, hedgeTokens, lastTrade, outcome } = lanes;
  const clock = r.kind === "clock";
  const toCentre = clock || r.kind === "fixed";
  lanes.tradeCount = 0;
  for (let b = 0; b < n; b++) {
    const q = hedgeTokens[b]!;
    const c = center[b]!;
    const dev = q - c;
    if (initial) {
      sizeTrade(lanes, b, r, q, c, dev);
      continue;
    }
    const last = lastTrade[b]!;
    let to = c;
    if (clock) {
      if (now - last < r.interval) {
        outcome[b] = Outcome.clockNotElapsed;
        continue;
      }
    } else {
      const hw = halfWidth[b]!;
      if (Math.abs(dev) <= hw) {
        outcome[b] = Outcome.insideBand;
        continue;
      }
      if (!toCentre) to = c + Math.sign(dev) * hw;
    }
    // A lane that never traded has NaN here, and NaN < x is false.
    if (now - last < r.cooldown) {
      outcome[b] = Outcome.cooldown;
      continue;
    }
    sizeTrade(lanes, b, r, q, to, dev);
  }
}

/** The trade from `q` to `to` within the size limits, or a hold when it is too small to send. */
function sizeTrade(lanes: DecisionLanes, b: number, r: RuleParams, q: number, to: number, dev: number): void {
  lanes.deviation[b] = dev;
  let d = to - q;
  const size = Math.abs(d);
  lanes.change[b] = d;
  if (size < r.minTradeTokens || size * lanes.spotUsd[b]! < MIN_TRADE_NOTIONAL_USD) {
    lanes.outcome[b] = Outcome.belowMinimum;
    return;
  }
  let cut = 0;
  if (size > r.maxTradeTokens) {
    d = Math.sign(d) * r.maxTradeTokens;
    lanes.change[b] = d;
    cut = 1;
  }
  lanes.cut[b] = cut;
  let after = q + d;
  // A position worth less than a request can carry cannot be left open: the trade closes it instead (rounding, or a
  // cut to the maximum, can land a few ulps from zero, and a Jupiter position of 0 USD×1e6 does not exist).
  if (after !== 0 && Math.abs(after) * lanes.spotUsd[b]! < MIN_TRADE_NOTIONAL_USD) {
    after = 0;
    lanes.change[b] = -q;
  }
  lanes.toTokens[b] = after;
  lanes.outcome[b] = Outcome.trade;
  lanes.trading[lanes.tradeCount++] = b;
}
