import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
  distanceToLiquidation,
  effectiveLeverage,
  equityUsd6,
  isLiquidatable,
  type LiquidationCustody,
  type LiquidationPosition,
  liquidationPriceUsd6,
  liquidationThreshold,
} from "../../keeper/risk/liquidation";

/**
 * Liquidation against the public formula. SOL's custody on 2026-04-27 (../shared/reference/jupiter-perps-mainnet-
 * 2026-04-27/sol_custody.json): decreasePositionBps 6, tradeImpactFeeScalar 3.75e15, maxLeverage 5,000,000 bps (500×).
 */
const SOL: LiquidationCustody = { decreasePositionBps: 6n, pricing: { tradeImpactFeeScalar: 3_750_000_000_000_000n, maxLeverage: 5_000_000n } };
const usd = (dollars: number) => BigInt(Math.round(dollars * 1e6));

/**
 * julianfssen/jupiter-perps-anchor-idl-parsing @5cd0daa16bbcd2d69b0bb74a566fe8313ed465e4
 * src/examples/get-liquidation-price.ts, transcribed from its BN code line by line, written here apart from the
 * keeper's module so that a slip in either shows.
 */
function jfLiquidationPrice(position: LiquidationPosition, custody: LiquidationCustody, borrowFeeUsd: bigint): bigint {
  const BPS_POWER = 10_000n;
  const divCeil = (a: bigint, b: bigint) => (a % b === 0n ? a / b : a / b + 1n);
  const priceImpactFeeBps = divCeil(position.sizeUsd * BPS_POWER, custody.pricing.tradeImpactFeeScalar);
  const totalFeeBps = custody.decreasePositionBps + priceImpactFeeBps;
  const closeFeeUsd = (position.sizeUsd * totalFeeBps) / BPS_POWER;
  const totalFeeUsd = closeFeeUsd + borrowFeeUsd;
  const maxLossUsd = (position.sizeUsd * BPS_POWER) / custody.pricing.maxLeverage + totalFeeUsd;
  const marginUsd = position.collateralUsd;
  let maxPriceDiff = maxLossUsd - marginUsd;
  if (maxPriceDiff < 0n) maxPriceDiff = -maxPriceDiff;
  maxPriceDiff = (maxPriceDiff * position.price) / position.sizeUsd;
  if (position.side === "long") return maxLossUsd > marginUsd ? position.price + maxPriceDiff : position.price - maxPriceDiff;
  return maxLossUsd > marginUsd ? position.price - maxPriceDiff : position.price + maxPriceDiff;
}

describe("liquidation (fees.md §4)", () => {
  // [what, position, borrow, liquidation price]. Worked by hand from the formula:
  // $10k: close fee = 10,000·(6 + ceil(1e10·1e4/3.75e15) = 1)/1e4 = $7; maintenance = $10k/500 = $20; maxLoss = $27.
  const cases: Array<[string, LiquidationPosition, bigint, bigint]> = [
    // diff = (1000 − 27)·150/10,000 = 14.595
    ["10× long $10k at $150: $135.405", { side: "long", sizeUsd: usd(10_000), collateralUsd: usd(1_000), price: usd(150) }, 0n, usd(135.405)],
    ["10× short $10k at $150: $164.595", { side: "short", sizeUsd: usd(10_000), collateralUsd: usd(1_000), price: usd(150) }, 0n, usd(164.595)],
    // $30 of accrued borrow: (1000 − 57)·0.015 = 14.145
    ["the long with $30 of borrow: $135.855", { side: "long", sizeUsd: usd(10_000), collateralUsd: usd(1_000), price: usd(150) }, usd(30), usd(135.855)],
    // Fees exceed the margin: maxLoss $27 > $20 collateral, diff = 7·0.015 = 0.105, on the profitable side of entry.
    ["fees beyond the margin, long: above entry, $150.105", { side: "long", sizeUsd: usd(10_000), collateralUsd: usd(20), price: usd(150) }, 0n, usd(150.105)],
    ["fees beyond the margin, short: below entry, $149.895", { side: "short", sizeUsd: usd(10_000), collateralUsd: usd(20), price: usd(150) }, 0n, usd(149.895)],
    // $1k at $100 on $2k: close $0.70, maintenance $2, diff = (2000 − 2.7)·100/1000 = 199.73: no price liquidates the long.
    ["over-collateralised long: below zero", { side: "long", sizeUsd: usd(1_000), collateralUsd: usd(2_000), price: usd(100) }, 0n, usd(-99.73)],
    ["over-collateralised short: $299.73", { side: "short", sizeUsd: usd(1_000), collateralUsd: usd(2_000), price: usd(100) }, 0n, usd(299.73)],
    // $1M pays 3 bps of impact: close $900, maintenance $2,000; diff = (100,000 − 2,900)·150/1e6 = 14.565
    ["$1M long at $150 on $100k: $135.435", { side: "long", sizeUsd: usd(1_000_000), collateralUsd: usd(100_000), price: usd(150) }, 0n, usd(135.435)],
  ];
  for (const [what, position, borrow, want] of cases) {
    it(what, () => {
      assert.equal(liquidationPriceUsd6(position, SOL, borrow), want);
      assert.equal(jfLiquidationPrice(position, SOL, borrow), want, "JF's formula agrees");
    });
  }

  it("the docs' always-∓ form is wrong once fees exceed the margin; the code's branch is what the rule implies", () => {
    const p: LiquidationPosition = { side: "long", sizeUsd: usd(10_000), collateralUsd: usd(20), price: usd(150) };
    const t = liquidationThreshold(p, SOL, 0n);
    assert.deepEqual(t, { closeFeeUsd6: usd(7), borrowFeeUsd6: 0n, maintenanceMarginUsd6: usd(20), maxLossUsd6: usd(27) });
    // docs.jup.ag / space-station: price − |collateral − fees − size/maxLev|·price/size = $149.895 for this long …
    const docs = p.price - ((t.maxLossUsd6 - p.collateralUsd) * p.price) / p.sizeUsd;
    assert.equal(docs, usd(149.895));
    // … where it is already long past liquidation, and it is even at entry.
    assert.ok(isLiquidatable(p, SOL, 0n, docs));
    assert.ok(isLiquidatable(p, SOL, 0n, p.price));
    assert.ok(!isLiquidatable(p, SOL, 0n, usd(150.2)));
  });

  describe("properties", () => {
    const position = fc.record({
      side: fc.constantFrom("long" as const, "short" as const),
      sizeUsd: fc.bigInt({ min: usd(10), max: usd(50_000_000) }),
      leverageX100: fc.bigInt({ min: 10n, max: 60_000n }), // 0.1× to 600×
      price: fc.bigInt({ min: usd(0.01), max: usd(200_000) }),
      borrow: fc.bigInt({ min: 0n, max: usd(10_000) }),
    });
    const build = (r: { side: "long" | "short"; sizeUsd: bigint; leverageX100: bigint; price: bigint }): LiquidationPosition => ({
      side: r.side,
      sizeUsd: r.sizeUsd,
      collateralUsd: (r.sizeUsd * 100n) / r.leverageX100,
      price: r.price,
    });

    it("equals JF's formula, transcribed independently", () => {
      fc.assert(fc.property(position, (r) => assert.equal(liquidationPriceUsd6(build(r), SOL, r.borrow), jfLiquidationPrice(build(r), SOL, r.borrow))));
    });

    it("is where collateral ± PnL − fees meets the maintenance margin: liquidatable just past it, not just before", () => {
      fc.assert(
        fc.property(position, (r) => {
          const p = build(r);
          const liq = liquidationPriceUsd6(p, SOL, r.borrow);
          // Exact root of collateral + s·size·(P − entry)/entry − maxLoss = 0 (s = +1 long, −1 short), in rationals.
          const { maxLossUsd6 } = liquidationThreshold(p, SOL, r.borrow);
          const s = p.side === "long" ? 1n : -1n;
          const rootTimesSize = p.price * p.sizeUsd + s * (maxLossUsd6 - p.collateralUsd) * p.price; // root · size
          const offBySize = liq * p.sizeUsd - rootTimesSize;
          assert.ok(offBySize > -p.sizeUsd && offBySize < p.sizeUsd, "within 1 micro-dollar of the exact root (JF floors toward entry)");
          // One micro-dollar of price moves PnL by size/entry micro-dollars; step far enough for rounding to settle.
          const step = (2n * p.price) / p.sizeUsd + 3n;
          const past = liq - s * step;
          const before = liq + s * step;
          if (past > 0n) assert.ok(isLiquidatable(p, SOL, r.borrow, past), `past ${past}`);
          if (before > 0n) assert.ok(!isLiquidatable(p, SOL, r.borrow, before), `before ${before}`);
        }),
      );
    });

    it("more borrow brings the price nearer: higher for a long, lower for a short", () => {
      fc.assert(
        fc.property(position, fc.bigInt({ min: 0n, max: usd(1_000) }), (r, extra) => {
          const p = build(r);
          const a = liquidationPriceUsd6(p, SOL, r.borrow);
          const b = liquidationPriceUsd6(p, SOL, r.borrow + extra);
          assert.ok(p.side === "long" ? b >= a : b <= a);
        }),
      );
    });
  });

  describe("effective leverage and distance", () => {
    const long: LiquidationPosition = { side: "long", sizeUsd: usd(10_000), collateralUsd: usd(1_000), price: usd(150) };
    const short: LiquidationPosition = { ...long, side: "short" };

    it("size over equity, with PnL and fees: 10,000/(1,000 − 7) at entry, 500× at the liquidation price", () => {
      assert.equal(equityUsd6(long, SOL, 0n, usd(150)), usd(993));
      assert.equal(effectiveLeverage(long, SOL, 0n, usd(150)), 10_000 / 993);
      // At $135.405 the long has lost 973: equity = 1000 − 973 − 7 = 20 = size/500.
      assert.equal(equityUsd6(long, SOL, 0n, usd(135.405)), usd(20));
      assert.equal(effectiveLeverage(long, SOL, 0n, usd(135.405)), 500);
      assert.ok(!isLiquidatable(long, SOL, 0n, usd(135.405)) && isLiquidatable(long, SOL, 0n, usd(135.404)));
      assert.equal(effectiveLeverage(long, SOL, 0n, usd(100)), Infinity, "equity below zero");
    });

    // [what, position, mark, fraction, liquidation price]
    const distances: Array<[string, LiquidationPosition, bigint, number, bigint]> = [
      ["long at $150: 9.73 % down to $135.405", long, usd(150), 14.595 / 150, usd(135.405)],
      ["short at $150: 9.73 % up to $164.595", short, usd(150), 14.595 / 150, usd(164.595)],
      ["long at $130: already past, negative", long, usd(130), (130 - 135.405) / 130, usd(135.405)],
    ];
    for (const [what, p, mark, fraction, liq] of distances) {
      it(what, () => {
        const d = distanceToLiquidation(p, SOL, 0n, mark, 0.8);
        assert.equal(d.liquidationPriceUsd6, liq);
        assert.ok(Math.abs(d.fraction - fraction) < 1e-12, `${d.fraction} vs ${fraction}`);
        // σ_day = 0.8/√365 ≈ 4.19 %: a 9.73 % drop is ≈ 2.45 daily standard deviations in log terms.
        const m = Number(mark);
        const logDistance = p.side === "long" ? Math.log(m / Number(liq)) : Math.log(Number(liq) / m);
        assert.ok(Math.abs(d.dailySd - logDistance / (0.8 / Math.sqrt(365))) < 1e-9, `${d.dailySd}`);
      });
    }

    it("a long no price liquidates is infinitely far; a short every price liquidates is infinitely past", () => {
      const rich: LiquidationPosition = { side: "long", sizeUsd: usd(1_000), collateralUsd: usd(2_000), price: usd(100) };
      assert.equal(distanceToLiquidation(rich, SOL, 0n, usd(100), 0.8).dailySd, Infinity);
      const broke: LiquidationPosition = { side: "short", sizeUsd: usd(1_000), collateralUsd: 0n, price: usd(100) };
      const d = distanceToLiquidation(broke, SOL, usd(2_000), usd(100), 0.8);
      assert.ok(d.liquidationPriceUsd6 <= 0n);
      assert.equal(d.dailySd, -Infinity);
    });

    it("refuses what has no liquidation price, saying what was passed", () => {
      assert.throws(() => liquidationPriceUsd6({ ...long, side: "none" }, SOL, 0n), /open position; got side none/);
      assert.throws(() => liquidationPriceUsd6({ ...long, sizeUsd: 0n }, SOL, 0n), /sizeUsd 0/);
      assert.throws(() => distanceToLiquidation(long, SOL, 0n, usd(150), 0), /positive annual vol/);
      assert.throws(() => liquidationPriceUsd6(long, { ...SOL, pricing: { ...SOL.pricing, maxLeverage: 0n } }, 0n), /maxLeverage 0/);
    });
  });
});
