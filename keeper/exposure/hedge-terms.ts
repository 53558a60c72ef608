import type { TradeCostParams } from "../strategy/costs";
import type { PolicyConfig, TradeSizeLimits } from "../strategy/policy";
import type { ExposureTerms } from "./mandate-exposure";

/**
 * What valueExposure() and decide() take besides the observations, built in one place from a hedging mandate, so the
 * live keeper (keeper/mandate/hedge-terms.ts) and the simulator (keeper/sim/hedge-terms.ts) decide alike. Each of
 * them once passed its own: the live keeper no JLP flow variance and no market vol, so a JLP-only Whalley-Wilmott
 * mandate backtested with a flow band and traded live with a zero-width one.
 */

/** Trade size bounds in the unit their source states them: a live mandate's in USD, a scenario's in tokens. */
export interface TradeBounds {
  unit: "usd" | "tokens";
  min: number;
  /** Infinity for no maximum. */
  max: number;
  cooldownSec: number;
}

/** One market's hedging terms, as a mandate or a scenario states them. */
export interface HedgeTerms {
  policy: PolicyConfig;
  hedgeRatio: number;
  targetNetDelta: number;
  trade: TradeBounds;
  /** The underlying's annualised vol: the flow band's σ when no option gives one. */
  marketVol: number;
  /** How fast pool flows move the hedged JLP delta, tokens of the underlying per √year; 0 without JLP. */
  jlpDeltaVolTokens: number;
}

/** The custody's position fees: whole bps of size, and pricing.tradeImpactFeeScalar (0 = no impact fee). */
export interface CustodyFees {
  increaseBps: number;
  decreaseBps: number;
  impactFeeScalar: number;
}

export interface DecisionTerms {
  /** valueExposure()'s inputs that come from the terms rather than from the observations. */
  exposure: ExposureTerms;
  policy: PolicyConfig;
  costs: TradeCostParams;
  targetNetDelta: number;
  /**
   * decide()'s limits at a spot price. USD bounds become tokens at the spot of the decision; token bounds are one
   * object for every spot, so a backtest's inner loop allocates nothing for them.
   */
  limitsAt(spotUsd: number): TradeSizeLimits;
}

export function decisionTerms(t: HedgeTerms, fees: CustodyFees): DecisionTerms {
  const { unit, min, max, cooldownSec } = t.trade;
  const tokenLimits: TradeSizeLimits = { minTradeTokens: min, maxTradeTokens: max, cooldownSec };
  return {
    exposure: { hedgeRatio: t.hedgeRatio, jlpDeltaVarianceRate: t.jlpDeltaVolTokens * t.jlpDeltaVolTokens, marketVol: t.marketVol },
    policy: t.policy,
    // A band is the same width in either direction: the dearer of the two fees prices a trade back to it.
    costs: { feeBps: Math.max(fees.increaseBps, fees.decreaseBps), impactFeeScalar: fees.impactFeeScalar },
    targetNetDelta: t.targetNetDelta,
    limitsAt: unit === "tokens" ? () => tokenLimits : (spotUsd) => ({ minTradeTokens: min / spotUsd, maxTradeTokens: max / spotUsd, cooldownSec }),
  };
}
