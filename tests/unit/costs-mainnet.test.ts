import { strict as assert } from "node:assert";
import fc from "fast-check";
import { type Custody, decodeAccount } from "../../programs-client";
import {
  accruedBorrowUsd6,
  borrowUtilisation,
  type BorrowCustody,
  cumulativeInterestRateAt,
  hourlyBorrowRate,
  jumpRateYearlyBps,
} from "../../keeper/market/position-math";
import {
  custodyPositionFee,
  deltaImbalanceUsd6,
  linearImpactBps,
  oneWayCostFraction,
  positionFee,
  type PriceImpactBuffer,
} from "../../keeper/strategy/costs";
import { DUMPS, loadDump, requireReference } from "../helpers/reference";

/**
 * The keeper's fee and borrow maths against values from sources the project did not write:
 * - SOL's custody parameters from the mainnet dump ../shared/reference/jupiter-perps-mainnet-2026-04-27/sol_custody.json
 *   (slot 415957237): increase = decrease = 6 bps, tradeImpactFeeScalar 3.75e15, priceImpactBuffer feeFactor 1,
 *   exponent 1, threshold $1.5M, maxFeeBps 50; jump-rate curve 1000/3500/15000 bps with the kink at 80 %.
 * - The worked fees of ../shared/reference/jupiter-perps-fees.md §2, computed there with julianfssen/
 *   jupiter-perps-anchor-idl-parsing @5cd0daa16bbcd2d69b0bb74a566fe8313ed465e4 src/examples/price-impact-fee.ts.
 * - A real DecreasePositionEvent: tx 3MnCnWjL83RBYGe8ADwhxFHTvbXmDEPyi2mxHQ2211kmQ4NAqBFvhjPexgiCy8o6mGPztnZwjbcxRi4WMGZDeah8,
 *   rpcpool/yellowstone-vixen @f3207ee3d215858b7262eabd171e31894cf1cc3e tests/proc-macro/fixtures/<sig>_tx.json,
 *   instruction [1,1] (emit_cpi): sizeUsdDelta 3,285,360,000, positionFeeUsd 2,299,752, priceImpactFeeUsd 328,536.
 */

const SOL_SCALAR = 3_750_000_000_000_000n;
const SOL_FEE_BPS = 6n;
const usd = (dollars: number) => BigInt(dollars) * 1_000_000n;

const solBuffer = (over: Partial<PriceImpactBuffer> = {}): PriceImpactBuffer => ({
  openInterest: Array.from({ length: 60 }, () => 0n),
  lastUpdated: 0n,
  feeFactor: 1n,
  exponent: 1,
  deltaImbalanceThresholdDecimal: usd(1_500_000),
  maxFeeBps: 50n,
  ...over,
});

describe("mainnet position fee (fees.md §1-§2)", () => {
  describe("linear impact in whole bps, fee rounded up as one product", () => {
    // [what, size USD×1e6, base bps, scalar, linear bps, positionFee, priceImpactFee]
    const cases: Array<[string, bigint, bigint, bigint, bigint, bigint, bigint]> = [
      ["SOL $10k: 1 bps impact, $7.00 (fees.md §2)", usd(10_000), SOL_FEE_BPS, SOL_SCALAR, 1n, 7_000_000n, 1_000_000n],
      ["SOL $100k: still 1 bps, $70.00 (fees.md §2)", usd(100_000), SOL_FEE_BPS, SOL_SCALAR, 1n, 70_000_000n, 10_000_000n],
      ["SOL $1M: 3 bps, $900 (fees.md §2)", usd(1_000_000), SOL_FEE_BPS, SOL_SCALAR, 3n, 900_000_000n, 300_000_000n],
      ["SOL $375k = scalar/1e4: exactly the first step's end", usd(375_000), SOL_FEE_BPS, SOL_SCALAR, 1n, 262_500_000n, 37_500_000n],
      ["SOL $375k + 1 micro-dollar: the second step", usd(375_000) + 1n, SOL_FEE_BPS, SOL_SCALAR, 2n, 300_000_001n, 75_000_001n],
      ["1 micro-dollar pays 1 micro-dollar: both parts round up", 1n, SOL_FEE_BPS, SOL_SCALAR, 1n, 1n, 1n],
      ["scalar 0: no impact, base fee rounded up", 1_234_567n, SOL_FEE_BPS, 0n, 0n, 741n, 0n],
      ["size 0 pays nothing", 0n, SOL_FEE_BPS, SOL_SCALAR, 0n, 0n, 0n],
      // The DecreasePositionEvent of tx 3MnCnWjL…: a full close of a $3,285.36 SOL long. The continuous size²/scalar
      // would be 2,878 USD×1e6 of impact; mainnet took 1 bps.
      ["mainnet event 3MnCnWjL…: $3,285.36 close = 7 bps", 3_285_360_000n, SOL_FEE_BPS, SOL_SCALAR, 1n, 2_299_752n, 328_536n],
    ];
    for (const [what, size, base, scalar, bps, fee, impact] of cases) {
      it(what, () => {
        assert.equal(linearImpactBps(size, scalar), bps);
        const got = positionFee(size, base, scalar);
        assert.equal(got.positionFeeUsd6, fee, "positionFeeUsd");
        assert.equal(got.priceImpactFeeUsd6, impact, "priceImpactFeeUsd");
      });
    }

    it("a negative size is refused with the fix", () => {
      assert.throws(() => positionFee(-1n, SOL_FEE_BPS, SOL_SCALAR), /negative; pass the size change's magnitude/);
    });
  });

  describe("properties", () => {
    const size = fc.bigInt({ min: 1n, max: 10n ** 14n }); // up to $100M
    const scalar = fc.bigInt({ min: 10n ** 12n, max: 10n ** 17n });
    const base = fc.bigInt({ min: 0n, max: 100n });

    it("linear bps is the least whole bps covering size/scalar, and at least 1", () => {
      fc.assert(
        fc.property(size, scalar, (s, k) => {
          const bps = linearImpactBps(s, k);
          assert.ok(bps >= 1n);
          assert.ok(s * 10_000n <= bps * k && (bps - 1n) * k < s * 10_000n, `${bps} bps for ${s} at ${k}`);
        }),
      );
    });

    it("the fee is the exact size·bps/1e4 rounded up: never below, less than 1 micro-dollar above", () => {
      fc.assert(
        fc.property(size, scalar, base, (s, k, b) => {
          const f = positionFee(s, b, k);
          const exact10k = s * (b + linearImpactBps(s, k)); // fee × 1e4
          assert.ok(f.positionFeeUsd6 * 10_000n >= exact10k && (f.positionFeeUsd6 - 1n) * 10_000n < exact10k);
          assert.ok(f.priceImpactFeeUsd6 <= f.positionFeeUsd6);
        }),
      );
    });

    it("the fee and its bps never fall as the size grows", () => {
      fc.assert(
        fc.property(size, size, scalar, base, (a, b, k, fb) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const fl = positionFee(lo, fb, k);
          const fh = positionFee(hi, fb, k);
          assert.ok(fl.positionFeeUsd6 <= fh.positionFeeUsd6 && fl.feeBps <= fh.feeBps);
        }),
      );
    });

    it("the policies' float cost fraction charges the integer fee's bps at every size", () => {
      fc.assert(
        fc.property(size, scalar, base, (s, k, b) => {
          const fraction = oneWayCostFraction({ feeBps: Number(b), impactFeeScalar: Number(k) }, Number(s) / 1e6);
          assert.equal(fraction, Number(b + linearImpactBps(s, k)) / 1e4);
          const fee = Number(positionFee(s, b, k).positionFeeUsd6);
          assert.ok(Math.abs(fraction * Number(s) - fee) <= 1 + fee * 1e-12, `${fraction}·${s} vs ${fee}`);
        }),
      );
    });
  });

  describe("the band policies' cost fraction", () => {
    const p = { feeBps: 6, impactFeeScalar: Number(SOL_SCALAR) };
    const cases: Array<[string, number, number]> = [
      ["size unknown (0): base + the 1 bps every trade pays", 0, 7e-4],
      ["$1,000: 7 bps", 1_000, 7e-4],
      ["$375,000: still 7 bps", 375_000, 7e-4],
      ["$375,001: 8 bps", 375_001, 8e-4],
      ["$1M: 9 bps", 1_000_000, 9e-4],
    ];
    for (const [what, sizeUsd, want] of cases) it(what, () => assert.equal(oneWayCostFraction(p, sizeUsd), want));
    it("no scalar: the base fee alone", () => assert.equal(oneWayCostFraction({ feeBps: 6, impactFeeScalar: 0 }, 1e6), 6e-4));
  });

  describe("imbalance surcharge and the maxFeeBps cap (JF getAdditivePriceImpactFeeBps)", () => {
    const now = 1_777_275_318n; // the dump's lastUpdated; now % 60 = 18
    const slot = (t: bigint) => Number(t % 60n);
    // The window: +$1.0M five seconds ago (the last write), +$0.8M thirty seconds ago, and $9M in a bucket two
    // seconds ago, which is stale (written a minute earlier, between the last write and now) and must not count.
    const window = solBuffer({
      lastUpdated: now - 5n,
      openInterest: Array.from({ length: 60 }, (_, i) => (i === slot(now - 5n) ? usd(1_000_000) : i === slot(now - 30n) ? usd(800_000) : i === slot(now - 2n) ? usd(9_000_000) : 0n)),
    });
    // [what, buffer, size, change, flow, positionFee, priceImpactFee]
    const cases: Array<[string, PriceImpactBuffer, bigint, "increase" | "decrease", bigint, bigint, bigint]> = [
      // $1M alone: under the $1.5M threshold, 6 + 3 bps.
      ["a stale buffer holds only the trade: $1M, no surcharge", solBuffer({ lastUpdated: now - 60n }), usd(1_000_000), "increase", usd(1_000_000), 900_000_000n, 300_000_000n],
      // $2M alone: 6 base + ceil(2e12·1e4/3.75e15) = 6 linear + ceil(2/1.5) = 2 surcharge = 14 bps; impact = fee − 6 bps floored.
      ["$2M alone: 6 + 6 + 2 = 14 bps", solBuffer(), usd(2_000_000), "decrease", -usd(2_000_000), 2_800_000_000n, 1_600_000_000n],
      // $10M: 6 + 27 + ceil(6.67) = 7 → 40 bps, under the cap.
      ["$10M alone: 40 bps, under the 50 bps cap", solBuffer(), usd(10_000_000), "increase", usd(10_000_000), 40_000_000_000n, 34_000_000_000n],
      // $20M: 6 + 54 + 14 = 74 → capped at 50 bps (the cap is on base + linear + surcharge, per JF).
      ["$20M alone: 74 bps capped at 50", solBuffer(), usd(20_000_000), "increase", usd(20_000_000), 100_000_000_000n, 88_000_000_000n],
      // $0.5M increase into +$1.8M of live flow: 2.3M > 1.5M → ceil(2.3/1.5) = 2; 6 + 2 linear + 2 = 10 bps.
      ["$0.5M increase into $1.8M of same-minute increases: surcharge", window, usd(500_000), "increase", usd(2_300_000), 500_000_000n, 200_000_000n],
      // A decrease nets against the window: 1.3M ≤ 1.5M, so 6 + 2 = 8 bps. The side plays no part.
      ["$0.5M decrease against the same window: under the threshold", window, usd(500_000), "decrease", usd(1_300_000), 400_000_000n, 100_000_000n],
      ["feeFactor 0 turns the surcharge off", solBuffer({ feeFactor: 0n }), usd(20_000_000), "increase", usd(20_000_000), 120_000_000_000n, 108_000_000_000n],
    ];
    for (const [what, buffer, size, change, flow, fee, impact] of cases) {
      it(what, () => {
        assert.equal(deltaImbalanceUsd6(buffer, now, size, change), flow, "60-s flow");
        const got = custodyPositionFee({ increasePositionBps: SOL_FEE_BPS, decreasePositionBps: SOL_FEE_BPS, pricing: { tradeImpactFeeScalar: SOL_SCALAR }, priceImpactBuffer: buffer }, change, size, now);
        assert.equal(got.positionFeeUsd6, fee, "positionFeeUsd");
        assert.equal(got.priceImpactFeeUsd6, impact, "priceImpactFeeUsd");
      });
    }

    it("the window: same-second writes add, a new second overwrites its bucket, wrap-around clears the stale ones", () => {
      const t = 1_000_018n; // % 60 = 58
      const oi = Array.from({ length: 60 }, (_, i) => BigInt(i + 1) * 1_000n);
      const sum = (idx: number[]) => idx.reduce((s, i) => s + BigInt(i + 1) * 1_000n, 0n);
      const all = Array.from({ length: 60 }, (_, i) => i);
      assert.equal(deltaImbalanceUsd6({ openInterest: oi, lastUpdated: t }, t, 7n, "increase"), sum(all) + 7n, "same second: bucket 58 += 7");
      // Four seconds later (index 2): buckets 59, 0 and 1 are stale; bucket 2 is overwritten by the trade.
      assert.equal(deltaImbalanceUsd6({ openInterest: oi, lastUpdated: t }, t + 4n, 7n, "decrease"), sum(all.filter((i) => i > 2 && i <= 58)) - 7n);
      assert.equal(deltaImbalanceUsd6({ openInterest: oi, lastUpdated: t }, t + 59n, 7n, "increase"), sum([58]) + 7n, "59 s later only the last write is fresh");
      assert.equal(deltaImbalanceUsd6({ openInterest: oi, lastUpdated: t }, t + 60n, 7n, "increase"), 7n, "a minute later the window is empty");
    });

    it("above the threshold the fee never exceeds maxFeeBps (property)", () => {
      fc.assert(
        fc.property(fc.bigInt({ min: usd(1_500_000) + 1n, max: usd(1_000_000_000) }), fc.bigInt({ min: 1n, max: 60n }), (size, maxFee) => {
          const f = positionFee(size, SOL_FEE_BPS, SOL_SCALAR, { buffer: solBuffer({ maxFeeBps: maxFee }), nowSec: now, change: "increase" });
          assert.ok(f.feeBps <= maxFee && f.positionFeeUsd6 * 10_000n < (size * maxFee) + 10_000n);
        }),
      );
    });

    describe("on the mainnet dump's own buffer", function () {
      before(requireReference);
      const custody = (): Custody => {
        const dump = loadDump(DUMPS.solCustody);
        const d = decodeAccount("Custody", dump.data, dump.owner);
        if (!d.ok) throw d.error;
        return d.value;
      };

      it("at its lastUpdated second, a $1.2M decrease adds to the −$337.7k window and pays the surcharge; an increase does not", () => {
        const c = custody();
        const t = c.priceImpactBuffer.lastUpdated;
        const window = c.priceImpactBuffer.openInterest.reduce((s, v) => s + v, 0n); // nothing stale at the same second
        assert.ok(window < 0n && window > -usd(400_000), `window ${window}`);
        const size = usd(1_200_000);
        assert.equal(deltaImbalanceUsd6(c.priceImpactBuffer, t, size, "decrease"), window - size);
        // |window − 1.2M| ≈ 1.54M > 1.5M: 6 base + ceil(1.2e16/3.75e15) = 4 linear + ceil(1.54/1.5) = 2 → 12 bps.
        assert.equal(custodyPositionFee(c, "decrease", size, t).positionFeeUsd6, (size * 12n) / 10_000n);
        assert.equal(custodyPositionFee(c, "increase", size, t).positionFeeUsd6, (size * 10n) / 10_000n);
        assert.equal(custodyPositionFee(c, "decrease", size, t + 60n).positionFeeUsd6, (size * 10n) / 10_000n, "a minute later the trade is alone");
      });
    });
  });
});

describe("mainnet borrow (fees.md §3)", () => {
  const curve = { minRateBps: 1_000n, maxRateBps: 15_000n, targetRateBps: 3_500n, targetUtilizationRate: 800_000_000n };
  const custody = (over: Partial<BorrowCustody> & { owned?: bigint; locked?: bigint } = {}): BorrowCustody => ({
    assets: { owned: over.owned ?? 1_000_000n, locked: over.locked ?? 100_000n },
    fundingRateState: over.fundingRateState ?? { cumulativeInterestRate: 1_000_000_000n, lastUpdate: 1_000n, hourlyFundingDbps: 0n },
    jumpRateState: over.jumpRateState ?? curve,
    debt: over.debt ?? 0n,
    borrowLendInterestsAccured: over.borrowLendInterestsAccured ?? 0n,
  });

  describe("the SOL custody dump (slot 415957237): util 75,593,378, 1237 bps/yr, 14,121 per hour", function () {
    before(requireReference);
    const sol = (): Custody => {
      const dump = loadDump(DUMPS.solCustody);
      const d = decodeAccount("Custody", dump.data, dump.owner);
      if (!d.ok) throw d.error;
      return d.value;
    };

    it("utilisation, yearly bps and hourly rate as fees.md §3 computes them", () => {
      const c = sol();
      assert.equal(borrowUtilisation(c), 75_593_378n);
      assert.equal(jumpRateYearlyBps(c.jumpRateState, borrowUtilisation(c)), 1_237n);
      assert.equal(hourlyBorrowRate(c), 14_121n);
    });

    it("the counter extrapolated from lastUpdate, and a $10k position's hour of borrow = $0.141210", () => {
      const c = sol();
      const { cumulativeInterestRate: stored, lastUpdate } = c.fundingRateState;
      assert.equal(cumulativeInterestRateAt(c, lastUpdate), stored, "no time, no accrual");
      assert.equal(cumulativeInterestRateAt(c, lastUpdate - 100n), stored, "a clock behind lastUpdate accrues nothing");
      assert.equal(cumulativeInterestRateAt(c, lastUpdate + 1n), stored + 4n, "one second: ceil(14121/3600) = 4");
      assert.equal(cumulativeInterestRateAt(c, lastUpdate + 3_600n), stored + 14_121n);
      const position = { sizeUsd: usd(10_000), cumulativeInterestSnapshot: stored };
      assert.equal(accruedBorrowUsd6(position, cumulativeInterestRateAt(c, lastUpdate + 3_600n)), 141_210n);
      assert.equal(accruedBorrowUsd6(position, stored), 0n, "the stored counter alone misses the hour");
    });
  });

  // [what, custody, utilisation (1e9), yearly bps or null (linear mode), hourly]
  const cases: Array<[string, BorrowCustody, bigint, bigint | null, bigint]> = [
    ["idle custody: min rate", custody({ locked: 0n }), 0n, 1_000n, (1_000n * 100_000n) / 8_760n],
    ["10 % used: on the lower leg", custody(), 100_000_000n, 1_313n, (1_313n * 100_000n) / 8_760n],
    ["at the 80 % kink: the target rate", custody({ locked: 800_000n }), 800_000_000n, 3_500n, (3_500n * 100_000n) / 8_760n],
    // (15000 − 3500)·(0.9 − 0.8)/(1 − 0.8) + 3500 = 9250
    ["90 % used: on the upper leg", custody({ locked: 900_000n }), 900_000_000n, 9_250n, (9_250n * 100_000n) / 8_760n],
    // (100 + 500)/(1000 + 500) = 40 %: debt = ceil((debt − accrued interest)/1e9) tokens counts as both owned and locked.
    ["borrow-lend debt counts as owned and locked", custody({ owned: 1_000n, locked: 100n, debt: 500_000_000_000n + 7n, borrowLendInterestsAccured: 7n }), 400_000_000n, 2_250n, (2_250n * 100_000n) / 8_760n],
    ["interest beyond the debt leaves no debt", custody({ owned: 1_000n, locked: 100n, debt: 5n, borrowLendInterestsAccured: 9n }), 100_000_000n, 1_313n, (1_313n * 100_000n) / 8_760n],
    // Legacy linear mode: hourly = ceil(locked·(dbps·1e9/1e5)/owned) = ceil(1e5·1e5/1e6) = 10,000.
    ["legacy linear mode (hourlyFundingDbps 10)", custody({ fundingRateState: { cumulativeInterestRate: 0n, lastUpdate: 0n, hourlyFundingDbps: 10n } }), 100_000_000n, null, 10_000n],
  ];
  for (const [what, c, util, yearly, hourly] of cases) {
    it(what, () => {
      assert.equal(borrowUtilisation(c), util, "utilisation");
      if (yearly !== null) assert.equal(jumpRateYearlyBps(c.jumpRateState, util), yearly, "yearly bps");
      assert.equal(hourlyBorrowRate(c), hourly, "hourly");
    });
  }

  it("a curve that is not one is refused with the reason", () => {
    assert.throws(() => jumpRateYearlyBps({ ...curve, targetRateBps: 500n }, 100_000_000n), /target rate 500 bps is below the minimum 1000 bps/);
    assert.throws(() => jumpRateYearlyBps({ ...curve, targetUtilizationRate: 1_000_000_000n }, 1_100_000_000n), /no room for the upper leg/);
  });

  it("a custody that owns nothing accrues nothing", () => {
    const c = custody({ owned: 0n, locked: 0n });
    assert.equal(cumulativeInterestRateAt(c, 1_000_000n), c.fundingRateState.cumulativeInterestRate);
  });

  it("accrued borrow rounds up, never goes negative, and is 0 on a closed position", () => {
    assert.equal(accruedBorrowUsd6({ sizeUsd: 3n, cumulativeInterestSnapshot: 0n }, 1n), 1n, "3e-9 of a micro-dollar rounds up to 1");
    assert.equal(accruedBorrowUsd6({ sizeUsd: usd(1_000), cumulativeInterestSnapshot: 10n }, 5n), 0n);
    assert.equal(accruedBorrowUsd6({ sizeUsd: 0n, cumulativeInterestSnapshot: 0n }, 10n ** 9n), 0n);
  });

  it("the counter and a position's borrow never fall as time passes, and stay within a micro-dollar of the exact accrual (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 16n }),
        fc.bigInt({ min: 0n, max: 10n ** 16n }),
        fc.bigInt({ min: 0n, max: 10n * 365n * 86_400n }),
        fc.bigInt({ min: 0n, max: 86_400n }),
        fc.bigInt({ min: 1n, max: 10n ** 14n }),
        (owned, locked, elapsed, more, sizeUsd) => {
          const c = custody({ owned, locked: locked > owned ? owned : locked });
          const t0 = c.fundingRateState.lastUpdate;
          const early = cumulativeInterestRateAt(c, t0 + elapsed);
          const late = cumulativeInterestRateAt(c, t0 + elapsed + more);
          assert.ok(early <= late);
          const position = { sizeUsd, cumulativeInterestSnapshot: c.fundingRateState.cumulativeInterestRate };
          assert.ok(accruedBorrowUsd6(position, early) <= accruedBorrowUsd6(position, late));
          const exact = (early - position.cumulativeInterestSnapshot) * sizeUsd; // × 1e-9 USD×1e6
          const got = accruedBorrowUsd6(position, early);
          assert.ok(got * 1_000_000_000n >= exact && (got - 1n) * 1_000_000_000n < exact);
        },
      ),
    );
  });
});
