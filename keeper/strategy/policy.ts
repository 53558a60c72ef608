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
  deltaAtVolScale?: (scale: number) => number;
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
  | { action: "hold"; reason: string; band: Band; hedgeTokens: number }
  | { action: "trade"; reason: string; band: Band; hedgeTokens: number; toTokens: number; changeTokens: number };

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
      const bandWith = (costFraction: number) => {
        const optionPart = whalleyWilmottHalfWidth({ costFraction, spotUsd: i.spotUsd, gamma: e.gamma, riskAversion: policy.riskAversion, years: e.years });
        const flowPart = e.targetVarianceRate > 0 ? driftBandHalfWidth({ costFraction, spotUsd: i.spotUsd, riskAversion: policy.riskAversion, vol: e.vol }, e.targetVarianceRate) : 0;
        return Math.max(optionPart, flowPart);
      };
      const first = bandWith(oneWayCostFraction(i.costs, 0));
      const halfWidth = bandWith(oneWayCostFraction(i.costs, first * i.spotUsd));
      return { center: baseTarget, halfWidth };
    }
    case "zakamouline": {
      if (e.gamma === 0 || !(e.years > 0) || !(e.vol > 0)) return { center: baseTarget, halfWidth: 0 };
      const z = zakamoulineBand(
        { costFraction: oneWayCostFraction(i.costs, 0), spotUsd: i.spotUsd, gamma: e.gamma, riskAversion: policy.riskAversion, years: e.years, vol: e.vol },
        e.gamma > 0,
      );
      const optionShift = e.deltaAtVolScale ? e.deltaAtVolScale(z.volScale) - e.deltaAtVolScale(1) : 0;
      return { center: baseTarget - optionShift, halfWidth: z.halfWidth };
    }
  }
}

/**
 * One rebalancing decision for one underlying. Pure: the same call runs in the live keeper, the simulator and
 * the tests. Band policies trade back to the nearest band edge; fixed and clock policies trade to the centre.
 */
export function decide(i: DecisionInput): Decision {
  const band = bandFor(i);
  const q = i.hedgeTokens;
  const hold = (reason: string): Decision => ({ action: "hold", reason, band, hedgeTokens: q });
  const deviation = q - band.center;

  let to: number;
  if (i.policy.kind === "clock") {
    if (i.lastTradeSec !== null && i.nowSec - i.lastTradeSec < i.policy.intervalSec) return hold("clock interval not elapsed");
    to = band.center;
  } else if (Math.abs(deviation) <= band.halfWidth) {
    return hold("inside band");
  } else {
    to = i.policy.kind === "fixed" ? band.center : band.center + Math.sign(deviation) * band.halfWidth;
  }
  if (i.lastTradeSec !== null && i.nowSec - i.lastTradeSec < i.limits.cooldownSec) return hold("cooldown");

  let change = to - q;
  if (Math.abs(change) < i.limits.minTradeTokens) return hold(`change ${change.toFixed(6)} below minimum trade ${i.limits.minTradeTokens}`);
  let reason = i.policy.kind === "clock" ? "clock" : `deviation ${deviation.toFixed(6)} outside ±${band.halfWidth.toFixed(6)}`;
  if (Math.abs(change) > i.limits.maxTradeTokens) {
    change = Math.sign(change) * i.limits.maxTradeTokens;
    reason += `; cut to maximum trade ${i.limits.maxTradeTokens}`;
  }
  return { action: "trade", reason, band, hedgeTokens: q, toTokens: q + change, changeTokens: change };
}
