import type { Custody, MarketSymbol } from "../../programs-client";
import { type DecisionTerms, type HedgeTerms, decisionTerms } from "../exposure/hedge-terms";
import type { PolicyConfig } from "../strategy/policy";
import type { RunnerDeps } from "./context";

type Mandate = RunnerDeps["mandate"];

/** A live mandate's terms on one market; its trade bounds are in USD. */
export function mandateHedgeTerms(m: Mandate, market: MarketSymbol): HedgeTerms {
  const policy: PolicyConfig = m.policy.kind === "fixed" ? { kind: "fixed", thresholdTokens: m.policy.thresholdTokens[market] ?? 0 } : m.policy;
  return {
    policy,
    hedgeRatio: m.hedgeRatio,
    targetNetDelta: m.targetNetDelta[market] ?? 0,
    trade: { unit: "usd", min: m.trade.minTradeUsd, max: m.trade.maxTradeUsd, cooldownSec: m.trade.cooldownSec },
    // The mandate's one statement of the market's vol (it also measures the distance to liquidation).
    marketVol: m.collateral.annualVol[market],
    jlpDeltaVolTokens: m.exposures.jlp?.deltaVolTokens?.[market] ?? 0,
  };
}

/** What the live keeper passes to valueExposure() and decide() for the mandate on a market, at its custody's fees. */
export function mandateDecisionTerms(m: Mandate, market: MarketSymbol, custody: Pick<Custody, "increasePositionBps" | "decreasePositionBps"> & { pricing: Pick<Custody["pricing"], "tradeImpactFeeScalar"> }): DecisionTerms {
  return decisionTerms(mandateHedgeTerms(m, market), {
    increaseBps: Number(custody.increasePositionBps),
    decreaseBps: Number(custody.decreasePositionBps),
    impactFeeScalar: Number(custody.pricing.tradeImpactFeeScalar),
  });
}
