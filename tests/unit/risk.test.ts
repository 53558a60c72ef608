import { strict as assert } from "node:assert";
import { oracleVetoes } from "../../keeper/risk/oracle-guard";
import { mandateVetoes, orderVetoes, type MandateLimits, type RiskState } from "../../keeper/risk/limits";

const guard = { maxAgeSec: 20, maxConfBps: 50, maxDivergenceBps: 100 };
const good = { pythPriceUsd6: 150_000_000n, pythAgeSec: 2, pythConfBps: 5, dovesPriceUsd6: 150_100_000n, dovesAgeSec: 1 };

describe("oracle guard", () => {
  it("passes fresh, tight, agreeing prices", () => assert.deepEqual(oracleVetoes(good, guard), []));
  it("names every reason not to trade", () => {
    assert.deepEqual(oracleVetoes({ ...good, pythAgeSec: 45 }, guard), ["Pyth price 45s old > 20s"]);
    assert.deepEqual(oracleVetoes({ ...good, pythConfBps: 80 }, guard), ["Pyth confidence 80 bps > 50 bps"]);
    assert.deepEqual(oracleVetoes({ ...good, pythPriceUsd6: 153_000_000n }, guard), ["Pyth and Doves 193 bps apart > 100 bps"]);
    assert.deepEqual(oracleVetoes({ ...good, dovesPriceUsd6: null, dovesAgeSec: null }, guard), ["Doves price unreadable (Jupiter fills at it)"]);
  });
});

const limits: MandateLimits = {
  maxNetDeltaTokens: { SOL: 50 },
  maxNotionalUsd6: 100_000_000_000n,
  maxLeverageBps: 50_000n,
  maxTradesPerHour: 3,
  dailyFeeBudgetUsd6: 100_000_000n,
  maxConsecutiveFailures: 3,
  breakerCooldownSec: 300,
};
const state: RiskState = { killSwitch: false, recentTradeTimesSec: [], feesTodayUsd6: 0n, consecutiveFailures: 0, lastFailureSec: null };

describe("mandate limits", () => {
  it("kill switch, trades per hour, fee budget", () => {
    assert.deepEqual(mandateVetoes(state, limits, 10_000), []);
    assert.deepEqual(mandateVetoes({ ...state, killSwitch: true }, limits, 10_000), ["kill switch engaged"]);
    assert.match(mandateVetoes({ ...state, recentTradeTimesSec: [6500, 7000, 9000] }, limits, 10_000)[0]!, /3 trades in the last hour/);
    assert.deepEqual(mandateVetoes({ ...state, recentTradeTimesSec: [6000, 7000, 9000] }, limits, 10_000), []);
    assert.match(mandateVetoes({ ...state, feesTodayUsd6: 100_000_000n }, limits, 10_000)[0]!, /daily fee budget spent/);
  });
  it("the circuit breaker opens after N failures and half-opens after its cooldown", () => {
    const failing = { ...state, consecutiveFailures: 3, lastFailureSec: 10_000 };
    assert.match(mandateVetoes(failing, limits, 10_100)[0]!, /circuit breaker open/);
    assert.deepEqual(mandateVetoes(failing, limits, 10_300), []);
    assert.deepEqual(mandateVetoes({ ...failing, consecutiveFailures: 2 }, limits, 10_100), []);
  });
  it("order limits: delta that grows past the cap, notional, leverage, fee, collateral the wallet lacks", () => {
    const funding = { token: "USDC", neededBase: 3_000_000_000n, availableBase: 3_000_000_000n, fix: "fund the hedging wallet with USDC" };
    const order = { market: "SOL" as const, nowSec: 0, netDeltaBeforeTokens: 80, netDeltaAfterTokens: 10, sizeAfterUsd6: 10_000_000_000n, collateralAfterUsd6: 3_000_000_000n, estimatedFeeUsd6: 6_000_000n, funding };
    assert.deepEqual(orderVetoes(order, state, limits), []);
    assert.equal(orderVetoes({ ...order, netDeltaBeforeTokens: 10, netDeltaAfterTokens: -60 }, state, limits).length, 1);
    assert.deepEqual(orderVetoes({ ...order, netDeltaAfterTokens: 60 }, state, limits), [], "a trade that reduces |delta| is allowed even above the cap");
    assert.match(orderVetoes({ ...order, sizeAfterUsd6: 200_000_000_000n, collateralAfterUsd6: 100_000_000_000n }, state, limits)[0]!, /max notional/);
    assert.match(orderVetoes({ ...order, collateralAfterUsd6: 1_000_000_000n }, state, limits)[0]!, /leverage after 100000 bps/);
    assert.match(orderVetoes(order, { ...state, feesTodayUsd6: 95_000_000n }, limits)[0]!, /exceed today's budget/);
    assert.deepEqual(orderVetoes({ ...order, funding: null }, state, limits), [], "a decrease posts nothing");
    assert.deepEqual(orderVetoes({ ...order, funding: { ...funding, availableBase: 2_999_999_999n } }, state, limits), [
      "the wallet can post 2999999999 base units of USDC, the order needs 3000000000: fund the hedging wallet with USDC",
    ]);
  });
});
