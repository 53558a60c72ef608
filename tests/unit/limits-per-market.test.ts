import { strict as assert } from "node:assert";
import type { MarketSymbol } from "../../programs-client";
import { type MandateLimits, type OrderRisk, type RiskState, orderVetoes } from "../../keeper/risk/limits";

/** SOL and BTC limits three orders of magnitude apart: one number for both would be wrong for one of them. */
const limits: MandateLimits = {
  maxNetDeltaTokens: { SOL: 1000, BTC: 2 },
  maxNotionalUsd6: 10n ** 15n,
  maxLeverageBps: 100_000n,
  maxTradesPerHour: 100,
  dailyFeeBudgetUsd6: 10n ** 12n,
  maxConsecutiveFailures: 5,
  breakerCooldownSec: 300,
};
const state: RiskState = { killSwitch: false, recentTradeTimesSec: [], feesTodayUsd6: 0n, consecutiveFailures: 0, lastFailureSec: null };
const order = (market: MarketSymbol, before: number, after: number): OrderRisk => ({
  market,
  nowSec: 0,
  netDeltaBeforeTokens: before,
  netDeltaAfterTokens: after,
  sizeAfterUsd6: 1_000_000_000n,
  collateralAfterUsd6: 500_000_000n,
  estimatedFeeUsd6: 1_000_000n,
  funding: null,
});

describe("maxNetDeltaTokens per market", () => {
  const cases: { market: MarketSymbol; before: number; after: number; veto: RegExp | null; why: string }[] = [
    { market: "SOL", before: 0, after: -500, veto: null, why: "500 SOL is within SOL's 1000 (BTC's 2 must not apply to SOL)" },
    { market: "SOL", before: 0, after: 1000, veto: null, why: "at the limit is within it" },
    { market: "SOL", before: 900, after: 1000.5, veto: /\|net delta\| after the trade 1000\.5000 SOL > SOL's limit 1000 \(limits\.maxNetDeltaTokens\.SOL\)/, why: "past SOL's own limit" },
    { market: "BTC", before: 0, after: 1.5, veto: null, why: "1.5 BTC is within BTC's 2" },
    { market: "BTC", before: 0, after: -3, veto: /\|net delta\| after the trade 3\.0000 BTC > BTC's limit 2 \(limits\.maxNetDeltaTokens\.BTC\)/, why: "3 BTC is past BTC's 2 (SOL's 1000 must not apply to BTC)" },
    { market: "BTC", before: 5, after: 3, veto: null, why: "a trade that reduces |delta| is allowed above the limit" },
    { market: "ETH", before: 0, after: 10_000, veto: null, why: "a market without an entry has no cap" },
  ];
  for (const c of cases) {
    it(`${c.market} ${c.before} -> ${c.after}: ${c.why}`, () => {
      const reasons = orderVetoes(order(c.market, c.before, c.after), state, limits);
      if (c.veto) {
        assert.equal(reasons.length, 1, reasons.join("; "));
        assert.match(reasons[0]!, c.veto);
      } else assert.deepEqual(reasons, []);
    });
  }
});
