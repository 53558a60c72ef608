import { type DecisionTerms, decisionTerms } from "../exposure/hedge-terms";
import type { PolicyConfig } from "../strategy/policy";
import type { Scenario } from "./scenario";

/**
 * What the simulator passes to valueExposure() and decide() for one of the scenario's policies: the live keeper's
 * terms (exposure/hedge-terms.ts) from the scenario's fields. `policy` is the scenario's policy as decide() takes it
 * (the engine turns a clock's grid steps into seconds); `modelVol` is the price model's own vol (a replay's measured
 * from its prices), the market vol unless `hedgeVol` is set. The exposure part is the same for every policy.
 */
export function scenarioDecisionTerms(s: Scenario, policy: PolicyConfig, modelVol: number): DecisionTerms {
  return decisionTerms(
    {
      policy,
      hedgeRatio: s.hedgeRatio,
      targetNetDelta: s.targetNetDelta,
      trade: { unit: "tokens", min: s.trade.minTradeTokens, max: s.trade.maxTradeTokens ?? Infinity, cooldownSec: s.trade.cooldownSec },
      marketVol: s.hedgeVol ?? modelVol,
      jlpDeltaVolTokens: s.book.jlp?.flowVolTokens ?? 0,
    },
    { increaseBps: s.costs.increaseBps, decreaseBps: s.costs.decreaseBps, impactFeeScalar: s.costs.impactFeeScalar },
  );
}
