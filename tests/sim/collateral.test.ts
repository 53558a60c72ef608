import { strict as assert } from "node:assert";
import * as path from "node:path";
import fc from "fast-check";
import { isLiquidatable } from "../../keeper/risk/liquidation";
import { collateralModelOf } from "../../keeper/sim/engine";
import { HedgeCollateral, MAINNET_MAX_LEVERAGE_BPS } from "../../keeper/sim/hedge-collateral";
import { decideCollateral } from "../../keeper/strategy/collateral-policy";
import { type PolicySummary, summarize } from "../../keeper/sim/metrics";
import { formatCsv, formatTable } from "../../keeper/sim/results-format";
import { prepareSimulation, runSimulation } from "../../keeper/sim/run-simulation";
import { loadScenarioFile, parseScenario, policyLabel, type Scenario, ScenarioError } from "../../keeper/sim/scenario";

const B3 = path.resolve(__dirname, "../../config/scenarios/b3-jupiter-gamma-scalping.yaml");

async function run(s: Scenario): Promise<PolicySummary[]> {
  const r = await runSimulation(prepareSimulation(s), { workers: 1 });
  return summarize(r, s.policies.map(policyLabel), s.utilityRiskAversion).policies;
}

/** A hedge at 3× with B3's 6 bps fees and mainnet's 500× maintenance margin, 80 % vol, $0.002 per transaction. */
function hedge(collateral: Record<string, unknown> = { enabled: false }): HedgeCollateral {
  const s = parseScenario({ spot: 100, days: 1, model: { kind: "gbm", vol: 0.8 }, book: { staticTokens: 1 }, costs: { txCostUsd: 0.002 }, collateral, policies: [{ kind: "clock", intervalSec: 3600 }] }, "test");
  return new HedgeCollateral(collateralModelOf(s, 0.8)!);
}

describe("simulator: the hedge's collateral and liquidation", () => {
  // Worked by hand from Jupiter's rule (risk/liquidation.ts): one token at $100 posts 100/3 and pays a 6 bps fee
  // from it, C = 33.27333; close fee 0.06, maintenance 100/500 = 0.2, so the price moves C − 0.26 = 33.01333 against
  // it. Growing the short to 2 tokens at $150 averages the entry to 250/2 = 125 and posts 50 − 0.09 more:
  // C = 83.18333, close fee 0.15, maintenance 0.5, liquidation at 125·(1 + 82.53333/250) = 166.26667. Halving a short
  // of 2 (C = 200/3 − 0.12) at $120 takes half the collateral out with it and pays its $20 loss and fee from that half,
  // leaving the first case's position: entry 100, C = 33.27333.
  const cases: Array<{ name: string; trades: Array<[number, number]>; safe: number; liquidated: number; lossUsd: number }> = [
    { name: "a short of 1 at $100 is liquidated above $133.0133", trades: [[-1, 100]], safe: 133.013, liquidated: 133.014, lossUsd: 33.273333 - 33.014 },
    { name: "a long of 1 at $100 is liquidated below $66.9867", trades: [[1, 100]], safe: 66.987, liquidated: 66.986, lossUsd: 33.273333 - 33.014 },
    { name: "a short of 2 halved at $120 keeps half its collateral and its entry, and is liquidated above $133.0133", trades: [[-2, 100], [-1, 120]], safe: 133.013, liquidated: 133.014, lossUsd: 33.273333 - 33.014 },
    { name: "a short grown to 2 at $150 has a size-weighted entry of $125 and is liquidated above $166.2667", trades: [[-1, 100], [-2, 150]], safe: 166.266, liquidated: 166.267, lossUsd: 83.183333 - 2 * 41.267 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const h = hedge();
      h.startPath();
      let held = 0;
      for (const [to, price] of c.trades) {
        h.change(to, price, Math.abs(Math.abs(to) - Math.abs(held)) * price * 0.0006); // 6 bps of the change
        held = to;
      }
      assert.equal(h.liquidatedAt(c.safe), false, `not at ${c.safe}`);
      assert.equal(h.liquidations, 0);
      assert.equal(h.liquidatedAt(c.liquidated), true, `at ${c.liquidated}`);
      assert.equal(h.liquidations, 1);
      assert.ok(Math.abs(h.liquidationLossUsd - c.lossUsd) < 1e-5, `loss ${h.liquidationLossUsd} vs ${c.lossUsd}`);
      assert.equal(h.liquidatedAt(c.liquidated * 2), false, "a liquidated hedge holds nothing");
    });
  }

  it("the policy deposits to its target equity when the distance falls below the floor, for one transaction fee", () => {
    const h = hedge({ floorSigmas: 3, ceilingSigmas: 12 });
    h.startPath();
    h.change(-1, 100, 0.06);
    h.applyPolicy(100);
    assert.equal(h.depositedUsd, 0, "at entry a 3× short is ln(133.01/100)/σ_day = 6.8 σ away: inside [3, 12]");
    // At $120 it is ln(133.0133/120)/(0.8/√365) = 2.46 σ away. The target is halfway between floor and ceiling but
    // at most twice the floor, 6 σ: equity 0.2 + 120·expm1(6·σ_day) = 34.473 (above size/3 = 33.33), against
    // 33.27333 − 20 − 0.06 = 13.21333 now.
    const sigmaDay = 0.8 / Math.sqrt(365);
    const want = 0.2 + 120 * Math.expm1(6 * sigmaDay) - (33.273333 - 20 - 0.06);
    h.applyPolicy(120);
    assert.ok(Math.abs(h.depositedUsd - want) < 1e-5, `deposited ${h.depositedUsd} vs ${want}`);
    assert.equal(h.collateralTxUsd, 0.002);
    assert.equal(h.liquidatedAt(140), false, "the deposit moved the liquidation price from $133 to ≈ $154.3");
    assert.equal(h.liquidatedAt(155), true);
  });

  // The simulator decides in floats where the position is far from liquidation and from the policy's band, and
  // calls the shared integer code near them: the shortcut must never change a decision.
  it("property: the simulated hedge liquidates and moves collateral exactly as isLiquidatable and decideCollateral decide", () => {
    const usd6 = (x: number) => BigInt(Math.round(x * 1e6));
    fc.assert(
      fc.property(
        fc.record({
          long: fc.boolean(),
          tokens: fc.double({ min: 0.01, max: 100, noNaN: true }),
          entryUsd: fc.double({ min: 1, max: 1000, noNaN: true }),
          markRatio: fc.double({ min: 0.3, max: 2, noNaN: true }),
          leverage: fc.double({ min: 1.1, max: 50, noNaN: true }),
          feeBps: fc.integer({ min: 0, max: 20 }),
          annualVol: fc.double({ min: 0.05, max: 2, noNaN: true }),
          floorSigmas: fc.double({ min: 0.5, max: 6, noNaN: true }),
          band: fc.option(fc.double({ min: 0.1, max: 20, noNaN: true })),
          minChangeUsd: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 50, noNaN: true })),
        }),
        (x) => {
          const custody = { decreasePositionBps: BigInt(x.feeBps), pricing: { tradeImpactFeeScalar: 0n, maxLeverage: MAINNET_MAX_LEVERAGE_BPS } };
          const policy = { floorSigmas: x.floorSigmas, ceilingSigmas: x.band === null ? Infinity : x.floorSigmas + x.band, targetLeverage: x.leverage, minChangeUsd6: usd6(x.minChangeUsd) };
          const h = new HedgeCollateral({ custody, targetLeverage: x.leverage, policy, annualVol: x.annualVol, txCostUsd: 0.002 });
          h.startPath();
          const sizeUsd = x.tokens * x.entryUsd;
          const feeUsd = (sizeUsd * x.feeBps) / 1e4;
          h.change(x.long ? x.tokens : -x.tokens, x.entryUsd, feeUsd);
          const position = { side: x.long ? ("long" as const) : ("short" as const), sizeUsd: usd6(sizeUsd), collateralUsd: usd6(sizeUsd / x.leverage - feeUsd), price: usd6(x.entryUsd) };
          const mark = x.entryUsd * x.markRatio;
          const liquidatable = isLiquidatable(position, custody, 0n, usd6(mark));
          assert.equal(h.liquidatedAt(mark), liquidatable, `liquidation at ${mark}`);
          if (liquidatable) return;
          const want = decideCollateral({ position, custody, borrowFeeUsd6: 0n, markUsd6: usd6(mark), annualVol: x.annualVol }, policy);
          h.applyPolicy(mark);
          const got = h.depositedUsd > 0 ? "deposit" : h.withdrawnUsd > 0 ? "withdraw" : "hold";
          assert.equal(got, want.action, want.reason);
          if (want.action !== "hold") assert.ok(Math.abs(h.depositedUsd + h.withdrawnUsd - Number(want.amountUsd6) / 1e6) <= 2e-6, `${want.action} ${h.depositedUsd + h.withdrawnUsd} vs ${want.amountUsd6}`);
        },
      ),
      { numRuns: 2000, seed: 14 },
    );
  });

  it("a scenario with neither targetLeverage nor collateral models no collateral; one with collateral defaults to the keeper's 3×", () => {
    const base = { spot: 100, days: 1, model: { kind: "gbm", vol: 0.8 }, book: { staticTokens: 1 }, policies: [{ kind: "clock", intervalSec: 3600 }] };
    assert.equal(collateralModelOf(parseScenario(base, "test"), 0.8), null);
    const m = collateralModelOf(parseScenario({ ...base, collateral: {} }, "test"), 0.8)!;
    assert.equal(m.targetLeverage, 3);
    assert.deepEqual(m.policy && { floor: m.policy.floorSigmas, ceiling: m.policy.ceilingSigmas }, { floor: 3, ceiling: Infinity });
    assert.equal(collateralModelOf(parseScenario({ ...base, targetLeverage: 5 }, "test"), 0.8)!.policy, null);
    assert.throws(() => parseScenario({ ...base, collateral: { floorSigmas: 4, ceilingSigmas: 4 } }, "test"), (e: Error) => e instanceof ScenarioError && /collateral\.ceilingSigmas: ceilingSigmas must be above floorSigmas/.test(e.message));
  });

  it("gives the same collateral results on one worker and on two", async function () {
    this.timeout(60_000);
    const s = loadScenarioFile(B3);
    Object.assign(s, { paths: 24, days: 5, model: { kind: "gbm", vol: 0.8, drift: 20 }, targetLeverage: 3, collateral: { enabled: true, floorSigmas: 3, ceilingSigmas: 12, minChangeUsd: 0 } });
    s.policies = s.policies.slice(0, 5);
    const one = await runSimulation(prepareSimulation(s), { workers: 1 });
    const two = await runSimulation(prepareSimulation(s), { workers: 2 });
    assert.ok(one.collateral!.deposited.some((v) => v > 0), "the policy acted");
    assert.deepEqual(two.collateral, one.collateral);
    assert.deepEqual(two.perPolicy, one.perPolicy);
  });

  // B3's book is a long straddle, so its hedge is short the underlying and grows shorter as the price rises: a rally
  // is what liquidates it. The rally is a steep drift, 12 a year at B3's 80 % vol: the median path ends 30 days up
  // ×e^{(12 − 0.32)·30/365} ≈ 2.6, enough to carry the price a third above the short's averaged entry on nearly
  // every path at 3×. A drift and not a jump: the policy acts between steps, so no collateral policy short of posting
  // the whole size can defend against a jump beyond its floor (3 daily σ ≈ 13 %), while a rally, however steep,
  // moves 0.25 % (one σ) per 5-minute step and is exactly what the floor is there to outrun.
  it("a steep rally liquidates B3's hedge at 3× on nearly every path without the policy, and on none with it (100 paths, same seed)", async function () {
    this.timeout(120_000);
    const rally = (collateral: Scenario["collateral"]): Scenario => {
      const s = loadScenarioFile(B3);
      s.paths = 100;
      s.model = { kind: "gbm", vol: 0.8, drift: 12 };
      s.costs.txCostUsd = 0.002;
      s.policies = s.policies.filter((p) => (p.kind === "clock" && p.intervalSec === 3600) || (p.kind === "whalley-wilmott" && p.riskAversion === 1));
      s.targetLeverage = 3;
      s.collateral = collateral;
      return s;
    };
    const without = await run(rally({ enabled: false, floorSigmas: 3, minChangeUsd: 0 }));
    const withPolicy = await run(rally({ enabled: true, floorSigmas: 3, ceilingSigmas: 12, minChangeUsd: 0 }));
    assert.equal(without.length, 2);
    for (const [i, off] of without.entries()) {
      const on = withPolicy[i]!;
      const c0 = off.collateral!;
      const c1 = on.collateral!;
      assert.ok(c0.pathsLiquidated >= 95, `${off.name} without the policy: ${c0.pathsLiquidated} of 100 paths liquidated`);
      assert.ok(c0.liquidationLossUsd > 0, `${off.name}: a liquidation leaves collateral to the pool`);
      assert.equal(c0.depositedUsd, 0);
      assert.equal(c1.liquidations, 0, `${on.name} with the policy: ${c1.liquidations} liquidations`);
      assert.ok(c1.depositedUsd > 0 && c1.collateralTxUsd > 0, `${on.name}: deposited ${c1.depositedUsd}, tx ${c1.collateralTxUsd}`);
      assert.ok(c1.collateralCostUsd > 0 && c1.collateralCostUsd === c1.liquidationLossUsd + c1.collateralTxUsd);
      assert.ok(c1.collateralCostUsd < c0.collateralCostUsd, `${on.name}: the policy's cost ${c1.collateralCostUsd} is below the liquidations' ${c0.collateralCostUsd}`);
      // The collateral's cost is in the cost and the net.
      assert.ok(Math.abs(on.costUsd - (on.feesUsd + on.impactUsd + on.borrowUsd + on.txUsd + c1.collateralCostUsd)) < 1e-9);
      assert.ok(Math.abs(on.netMean - (on.grossMean - on.costUsd)) < 1e-9);
    }
    const summary = { paths: 100, theoryMean: 0, theorySe: 0, referenceGrossMean: 0, policies: withPolicy };
    assert.match(formatTable(summary).split("\n")[0]!, /liqs\s+liqs\/path\s+liq loss\s+deposited\s+withdrawn\s+collat tx\s+collat cost/);
    const [header, row] = formatCsv(summary).split("\n");
    const fields = header!.split(",");
    assert.equal(Number(row!.split(",")[fields.indexOf("collateralCostUsd")]), withPolicy[0]!.collateral!.collateralCostUsd);
  });
});
