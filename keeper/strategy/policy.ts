import { driftBandHalfWidth, whalleyWilmottHalfWidth, zakamoulineBand } from "./bands";
import { oneWayCostFraction, type TradeCostParams } from "./costs";

/** How the keeper decides when to rebalance one underlying. */
export type PolicyConfig =
  | { kind: "whalley-wilmott"; riskAversion: number }
  | { kind: "zakamouline"; riskAversion: number }
  | { kind: "fixed"; thresholdTokens: number }
  | { kind: "clock"; intervalSec: number };

export interface TradeSizeLimits {
  /** Below this the trade is not worth its fixed costs: hold. */
  minTradeTokens: number;
  /** A larger trade is cut to this; the rest waits for the next decision. */
  maxTradeTokens: number;
  /** Seconds after a trade during which no new one starts. */
  cooldownSec: number;
}

export interface VolScaledDelta {
  deltaAt(volScale: number): number;
}

/** What the exposure side says about one underlying, in tokens. */
export interface ExposureGreeks {
  /** Σ delta of everything being hedged (options, wallets, JLP, offsets), already times the hedge ratio. */
  delta: number;
  /** Σ gamma of the options (tokens per $), times the hedge ratio. */
  gamma: number;
  /** Gamma-weighted years to expiry and vol of the options, for Zakamouline. */
  years: number;
  vol: number;
  /** Options delta with every leg's vol scaled (Zakamouline's σ_m); the non-option part is in `delta`. */
  volScaled?: VolScaledDelta;
  /** Variance rate (tokens²/yr) of the non-option part of the target, e.g. JLP flows; 0 when unknown. */
  targetVarianceRate: number;
}

export interface DecisionInput {
  policy: PolicyConfig;
  limits: TradeSizeLimits;
  costs: TradeCostParams;
  spotUsd: number;
  exposure: ExposureGreeks;
  /** Perp delta now (tokens, + long). Requests in flight are not in it. */
  hedgeTokens: number;
  /** The net delta the owner wants to hold (tokens). Usually 0. */
  targetNetDelta: number;
  nowSec: number;
  /** Unix seconds of the last trade in this market, or null. */
  lastTradeSec: number | null;
}

export interface Band {
  /** Target perp delta q* (tokens). */
  center: number;
  halfWidth: number;
}

export type Decision =
  | { action: "hold"; readonly reason: string; band: Band; hedgeTokens: number }
  | { action: "trade"; readonly reason: string; band: Band; hedgeTokens: number; toTokens: number; changeTokens: number };

/** Decisions format their reason only when it is read: a backtest makes millions of them and reads none. */
class TradeDecision {
  readonly action = "trade" as const;

  constructor(
    readonly band: Band,
    readonly hedgeTokens: number,
    readonly toTokens: number,
    readonly changeTokens: number,
    private readonly clock: boolean,
    private readonly deviation: number,
    /** The maximum trade the change was cut to, or NaN if it was not cut. */
    private readonly cutTo: number,
  ) {}

  get reason(): string {
    const why = this.clock ? "clock" : `deviation ${this.deviation.toFixed(6)} outside ±${this.band.halfWidth.toFixed(6)}`;
    return Number.isNaN(this.cutTo) ? why : `${why}; cut to maximum trade ${this.cutTo}`;
  }
}

/** WW half-width, or the flow band for a target that drifts by itself (JLP), whichever is wider. */
function wwHalfWidth(i: DecisionInput, riskAversion: number, costFraction: number): number {
  const e = i.exposure;
  const optionPart = whalleyWilmottHalfWidth({ costFraction, spotUsd: i.spotUsd, gamma: e.gamma, riskAversion, years: e.years });
  const flowPart = e.targetVarianceRate > 0 && e.vol > 0 ? driftBandHalfWidth({ costFraction, spotUsd: i.spotUsd, riskAversion, vol: e.vol }, e.targetVarianceRate) : 0;
  return Math.max(optionPart, flowPart);
}

function bandFor(i: DecisionInput): Band {
  const { exposure: e, policy } = i;
  const baseTarget = i.targetNetDelta - e.delta;
  switch (policy.kind) {
    case "fixed":
      return { center: baseTarget, halfWidth: policy.thresholdTokens };
    case "clock":
      return { center: baseTarget, halfWidth: 0 };
    case "whalley-wilmott": {
      // λ includes the impact fee at a band-sized trade; one fixed-point step is enough (impact is tiny at band size).
      const first = wwHalfWidth(i, policy.riskAversion, oneWayCostFraction(i.costs, 0));
      const halfWidth = i.costs.impactFeeScalar > 0 ? wwHalfWidth(i, policy.riskAversion, oneWayCostFraction(i.costs, first * i.spotUsd)) : first;
      return { center: baseTarget, halfWidth };
    }
    case "zakamouline": {
      if (e.gamma === 0 || !(e.years > 0) || !(e.vol > 0)) return { center: baseTarget, halfWidth: 0 };
      const z = zakamoulineBand(
        { costFraction: oneWayCostFraction(i.costs, 0), spotUsd: i.spotUsd, gamma: e.gamma, riskAversion: policy.riskAversion, years: e.years, vol: e.vol },
        e.gamma > 0,
      );
      const optionShift = e.volScaled ? e.volScaled.deltaAt(z.volScale) - e.volScaled.deltaAt(1) : 0;
      return { center: baseTarget - optionShift, halfWidth: z.halfWidth };
    }
  }
}

class HoldDecision {
  readonly action = "hold" as const;

  constructor(
    readonly band: Band,
    readonly hedgeTokens: number,
    private readonly why: string,
    /** The change that was too small to send, or NaN if that is not why. */
    private readonly smallChange = NaN,
    private readonly minTradeTokens = NaN,
  ) {}

  get reason(): string {
    return Number.isNaN(this.smallChange) ? this.why : `change ${this.smallChange.toFixed(6)} below minimum trade ${this.minTradeTokens}`;
  }
}

function hold(reason: string, band: Band, hedgeTokens: number): Decision {
  return new HoldDecision(band, hedgeTokens, reason);
}

/**
 * One rebalancing decision for one underlying. Pure: the same call runs in the live keeper, the simulator and
 * the tests. Band policies trade back to the nearest band edge; fixed and clock policies trade to the centre.
 */
export function decide(i: DecisionInput): Decision {
  const band = bandFor(i);
  const q = i.hedgeTokens;
  const deviation = q - band.center;

  let to: number;
  if (i.policy.kind === "clock") {
    if (i.lastTradeSec !== null && i.nowSec - i.lastTradeSec < i.policy.intervalSec) return hold("clock interval not elapsed", band, q);
    to = band.center;
  } else if (Math.abs(deviation) <= band.halfWidth) {
    return hold("inside band", band, q);
  } else {
    to = i.policy.kind === "fixed" ? band.center : band.center + Math.sign(deviation) * band.halfWidth;
  }
  if (i.lastTradeSec !== null && i.nowSec - i.lastTradeSec < i.limits.cooldownSec) return hold("cooldown", band, q);

  let change = to - q;
  if (Math.abs(change) < i.limits.minTradeTokens) return new HoldDecision(band, q, "", change, i.limits.minTradeTokens);
  let cutTo = NaN;
  if (Math.abs(change) > i.limits.maxTradeTokens) {
    change = Math.sign(change) * i.limits.maxTradeTokens;
    cutTo = i.limits.maxTradeTokens;
  }
  return new TradeDecision(band, q, q + change, change, i.policy.kind === "clock", deviation, cutTo);
}
