import { strict as assert } from "node:assert";
import fc from "fast-check";
import { type CollateralInput, type CollateralPolicyConfig, decideCollateral } from "../../keeper/strategy/collateral-policy";

/**
 * Golden decisions of the collateral policy, worked by hand from Jupiter's liquidation rule (fees.md §4): a $15,000
 * SOL position entered at $150 with $5,000 of collateral on the mainnet SOL custody (6 bps close fee, impact scalar
 * 3.75e15 so 1 bps of impact, 500x maximum leverage): close fee $10.50, maintenance $30, liquidation at
 * 150 ± 4,959.5·150/15,000 = $199.595 for the short and $100.405 for the long. σ_day = vol/√365.
 */
const custody = { decreasePositionBps: 6n, pricing: { tradeImpactFeeScalar: 3_750_000_000_000_000n, maxLeverage: 5_000_000n } };
const cfg: CollateralPolicyConfig = { floorSigmas: 3, ceilingSigmas: 8, targetLeverage: 3, minChangeUsd6: 10_000_000n };
const input = (side: "long" | "short", markUsd: number, annualVol = 0.8): CollateralInput => ({
  position: { side, sizeUsd: 15_000_000_000n, collateralUsd: 5_000_000_000n, price: 150_000_000n },
  custody,
  borrowFeeUsd6: 0n,
  markUsd6: BigInt(Math.round(markUsd * 1e6)),
  annualVol,
});

describe("collateral policy: distance to liquidation in daily σ, kept between a floor and a ceiling", () => {
  const table: [what: string, x: CollateralInput, action: string, amountUsd6: bigint | null, sigmas: number][] = [
    // ln(199.595/150)/(0.8/√365) = 6.82σ: inside [3, 8].
    ["short at entry, 80% vol", input("short", 150), "hold", null, 6.8218],
    // After a rally to $185: ln(199.595/185)/σ = 1.81σ. Equity 5,000 − 3,500 − 10.5 = 1,489.5; back to 3x: 5,000.
    ["short after a rally to $185", input("short", 185), "deposit", 3_510_500_000n, 1.8134],
    // After a fall to $120: 12.15σ. Equity 5,000 + 3,000 − 10.5 = 7,989.5; back to 3x: withdraw 2,989.5.
    ["short after a fall to $120", input("short", 120), "withdraw", 2_989_500_000n, 12.1507],
    // 200% vol: 2.73σ at entry, and 3x would be only 2.7σ away, so the target is 5.5σ: maintenance 30 +
    // 15,000·(e^{5.5·2/√365} − 1) = 11,707.393356; equity 4,989.5.
    ["short at entry, 200% vol", input("short", 150, 2), "deposit", 6_717_893_356n, 2.7287],
    // Long after a fall to $110: ln(110/100.405)/σ = 2.18σ; equity 5,000 − 4,000 − 10.5 = 989.5.
    ["long after a fall to $110", input("long", 110), "deposit", 4_010_500_000n, 2.1796],
  ];
  for (const [what, x, action, amount, sigmas] of table) {
    it(what, () => {
      const d = decideCollateral(x, cfg);
      assert.equal(d.action, action, d.reason);
      assert.ok(Math.abs(d.view.distanceSigmas - sigmas) < 1e-4, `distance ${d.view.distanceSigmas}σ, expected ${sigmas}`);
      if (amount !== null) assert.equal((d as { amountUsd6: bigint }).amountUsd6, amount);
    });
  }

  it("reports the liquidation price, distance in % and effective leverage", () => {
    const v = decideCollateral(input("short", 150), cfg).view;
    assert.equal(v.liquidationPriceUsd6, 199_595_000n);
    assert.ok(Math.abs(v.distancePct - 33.0633) < 1e-4, String(v.distancePct));
    assert.ok(Math.abs(v.effectiveLeverage - 15_000 / 4_989.5) < 1e-9, String(v.effectiveLeverage));
  });

  it("holds a change below the minimum, and never withdraws with an infinite ceiling", () => {
    assert.equal(decideCollateral(input("short", 185), { ...cfg, minChangeUsd6: 4_000_000_000n }).action, "hold");
    assert.equal(decideCollateral(input("short", 120), { ...cfg, ceilingSigmas: Infinity }).action, "hold");
  });

  it("a far ceiling aims no further than twice the floor, and an extreme vol asks at most the position's value", () => {
    const far = decideCollateral(input("short", 185), { ...cfg, ceilingSigmas: 40_000 });
    const twice = decideCollateral(input("short", 185), { ...cfg, ceilingSigmas: 9 });
    assert.equal(far.action, "deposit");
    assert.deepEqual(far, twice, "target 6σ either way");
    const wild = decideCollateral(input("short", 185, 1_000), cfg);
    assert.equal(wild.action, "deposit");
    // Value at the mark 15,000·185/150 = 18,500, plus maintenance 30, less equity 1,489.5.
    assert.equal((wild as { amountUsd6: bigint }).amountUsd6, 17_040_500_000n);
  });

  it("property: a deposit or withdrawal lands inside [floor, ceiling] and the decision there is to hold", () => {
    fc.assert(
      fc.property(fc.constantFrom<"long" | "short">("long", "short"), fc.double({ min: 60, max: 240, noNaN: true }), fc.double({ min: 0.2, max: 2, noNaN: true }), (side, markUsd, vol) => {
        const x = input(side, Math.round(markUsd * 100) / 100, vol);
        const d = decideCollateral(x, cfg);
        if (d.action === "hold") return;
        const collateralUsd = x.position.collateralUsd + (d.action === "deposit" ? d.amountUsd6 : -d.amountUsd6);
        const after = decideCollateral({ ...x, position: { ...x.position, collateralUsd } }, cfg);
        assert.equal(after.action, "hold", `${side} at ${x.markUsd6}, vol ${vol}: ${d.action} ${d.amountUsd6} then ${after.action} (${after.reason})`);
      }),
      { seed: 1414, numRuns: 500 },
    );
  });
});
