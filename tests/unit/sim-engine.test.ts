import { strict as assert } from "node:assert";
import fc from "fast-check";
import { europeanGreeks } from "../../keeper/exposure/black";
import { SECONDS_PER_YEAR } from "../../keeper/exposure/options-book";
import { positionFee } from "../../keeper/strategy/costs";
import { runChunk } from "../../keeper/sim/engine";
import { costAtTrackingError, type Frontier, savingsAgainst } from "../../keeper/sim/frontier";
import { renderFrontierSvg } from "../../keeper/sim/frontier-svg";
import { certaintyEquivalent, expectedShortfall, summarize } from "../../keeper/sim/metrics";
import { prepareSimulation, runSimulation } from "../../keeper/sim/run-simulation";
import { parseScenario, policyLabel, type ScenarioInput } from "../../keeper/sim/scenario";
import { addHedgeChangeCost, type ChangeCost, positionFeeUsd6 } from "../../keeper/sim/trade-costs";

const costs = { increaseBps: 6, decreaseBps: 4, impactFeeScalar: 0, txCostUsd: 0.01 };
const zero = (): ChangeCost => ({ feesUsd: 0, impactUsd: 0, txUsd: 0, keptFeeUsd: NaN });

function run(input: ScenarioInput) {
  const s = parseScenario(input, "test");
  return runSimulation(prepareSimulation(s), { workers: 1 }).then((r) => summarize(r, s.policies.map(policyLabel), s.utilityRiskAversion));
}

const straddle = (iv: number): ScenarioInput["book"] => ({
  options: [
    { kind: "call", strike: 100, expiryDays: 10, quantity: 1, impliedVol: iv },
    { kind: "put", strike: 100, expiryDays: 10, quantity: 1, impliedVol: iv },
  ],
});

describe("simulator: costs, metrics, frontiers", () => {
  describe("Jupiter's cost of a hedge change", () => {
    // keptFeeUsd: the fee of the request on the position that stays open (the collateral model takes it from there).
    const cases: Array<[string, number, number, Partial<ChangeCost>]> = [
      ["open a short of 2 at $100: increase fee", 0, -2, { feesUsd: 0.12, txUsd: 0.01, keptFeeUsd: 0.12 }],
      ["grow a long from 1 to 3: increase fee on 2", 1, 3, { feesUsd: 0.12, txUsd: 0.01, keptFeeUsd: 0.12 }],
      ["shrink a long from 3 to 1: decrease fee on 2", 3, 1, { feesUsd: 0.08, txUsd: 0.01, keptFeeUsd: 0.08 }],
      ["close a short of 2: decrease fee, none kept", -2, 0, { feesUsd: 0.08, txUsd: 0.01, keptFeeUsd: 0 }],
      ["cross from short 1 to long 2: close 1 and open 2, two transactions; the open's fee is kept", -1, 2, { feesUsd: 0.04 + 0.12, txUsd: 0.02, keptFeeUsd: 0.12 }],
      ["no change costs nothing", 1.5, 1.5, { keptFeeUsd: 0 }],
    ];
    for (const [name, from, to, want] of cases) {
      it(name, () => {
        const got = zero();
        addHedgeChangeCost(from, to, 100, costs, got);
        assert.ok(Math.abs(got.feesUsd - (want.feesUsd ?? 0)) < 1e-12, `fees ${got.feesUsd}`);
        assert.ok(Math.abs(got.txUsd - (want.txUsd ?? 0)) < 1e-12, `tx ${got.txUsd}`);
        assert.ok(Math.abs(got.keptFeeUsd - want.keptFeeUsd!) < 1e-12, `kept ${got.keptFeeUsd}`);
        assert.equal(got.impactUsd, 0);
      });
    }

    // The simulator charges the keeper's own integer fee: at a scalar of 1.25e15 a $7,500 trade's impact is
    // ceil(7.5e9·1e4/1.25e15) = 1 whole bps ($0.75), not the continuous size²/scalar ($0.045).
    it("the impact fee is the program's whole bps of impact, the rest of the fee is the base part", () => {
      const scalar = 1_250_000_000_000_000;
      const got = zero();
      addHedgeChangeCost(0, 50, 150, { ...costs, impactFeeScalar: scalar }, got);
      const fee = positionFee(7_500_000_000n, 6n, BigInt(scalar));
      assert.equal(got.impactUsd, Number(fee.priceImpactFeeUsd6) / 1e6);
      assert.equal(got.impactUsd, 0.75);
      assert.ok(Math.abs(got.feesUsd + got.impactUsd - Number(fee.positionFeeUsd6) / 1e6) < 1e-12, `${got.feesUsd} + ${got.impactUsd}`);
      assert.equal(fee.positionFeeUsd6, 5_250_000n, "6 + 1 bps of $7,500");
    });
    // The engine's fee in doubles must be the bigint fee exactly. Sizes are drawn at every scale up to 2^53 and, as often,
    // at the edges where the doubles' path ends or where a ceiling turns: the largest size whose size·1e4 and whose
    // size·(bps + linear) stay below 2^52 (±3), multiples of 1e4, sizes whose size·1e4 is a multiple of the scalar
    // (±1: the linear bps step there) and sizes whose size·(bps + linear) is 1 above a multiple of 1e4 (the fee's
    // ceiling turns there). Scalars: none, mainnet SOL's 1.25e15, 2^52 ± 1 (the doubles' limit), and any from 1e9 to 1e16
    // at every scale.
    it("property: the engine's fee in doubles is the keeper's bigint fee, base and impact, to the micro-dollar", function () {
      this.timeout(30_000);
      const below52 = 2 ** 52;
      const bigSafe = (min: number, max: number) => fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);
      const scalarArb = fc.oneof(fc.constant(0), fc.constant(1_250_000_000_000_000), fc.constantFrom(below52 - 1, below52, below52 + 1), fc.integer({ min: 9, max: 15 }).chain((e) => bigSafe(10 ** e, 10 ** (e + 1))));
      const linearAt = (size: number, scalar: number) => (scalar === 0 ? 0 : Math.ceil((size * 1e4) / scalar));
      // A size near `size` whose size·rate is 1 above a multiple of 1e4, where the fee's ceiling turns and a product
      // rounded in doubles (beyond 2^53) would lose it; `size` itself when the rate has no inverse modulo 1e4.
      const oneAboveMultiple = (size: number, rate: number): number => {
        let [r0, r1, t0, t1] = [1e4, rate % 1e4, 0, 1];
        while (r1 !== 0) {
          const k = Math.floor(r0 / r1);
          [r0, r1, t0, t1] = [r1, r0 - k * r1, t1, t0 - k * t1];
        }
        return r0 === 1 ? size - (size % 1e4) + ((t0 + 1e4) % 1e4) : size;
      };
      const sizeArb = (bps: number, scalar: number) => {
        const d = (k: number) => fc.integer({ min: -k, max: k });
        const atProductEdge = Math.floor(below52 / (bps + linearAt(below52 / (bps + 1), scalar) || 1));
        return fc
          .oneof(
            fc.integer({ min: 0, max: 53 }).chain((bits) => bigSafe(0, 2 ** bits)),
            d(3).map((e) => Math.floor(below52 / 1e4) + e),
            d(3).map((e) => atProductEdge + e),
            fc.tuple(bigSafe(0, Math.floor(below52 / 1e8)), d(1)).map(([k, e]) => k * 1e4 + e),
            fc.tuple(fc.integer({ min: 1, max: 4096 }), d(1)).map(([k, e]) => (scalar === 0 ? k : Math.round((k * scalar) / 1e4)) + e),
            fc.integer({ min: 20, max: 53 }).chain((bits) => bigSafe(1e4, 2 ** bits)).map((size) => oneAboveMultiple(size, bps + linearAt(size, scalar))),
          )
          .filter((size) => size >= 0 && size <= 2 ** 53);
      };
      const arb = fc.tuple(fc.integer({ min: 0, max: 200 }), scalarArb).chain(([bps, scalar]) => sizeArb(bps, scalar).map((size) => [size, bps, scalar] as const));
      fc.assert(
        fc.property(arb, ([size, bps, scalar]) => {
          const got = positionFeeUsd6(size, bps, scalar);
          const want = positionFee(BigInt(size), BigInt(bps), BigInt(scalar));
          assert.deepEqual({ ...got }, { feeUsd6: Number(want.positionFeeUsd6), impactUsd6: Number(want.priceImpactFeeUsd6) }, `size ${size} USD×1e6, ${bps} bps, scalar ${scalar}`);
        }),
        { numRuns: 50_000, seed: 18 },
      );
    });
  });

  describe("risk measures", () => {
    it("a certainty equivalent of a constant is the constant; of a coin flip ±1 at γ=1 it is −ln cosh 1", () => {
      assert.ok(Math.abs(certaintyEquivalent([2, 2, 2], 1) - 2) < 1e-12);
      assert.ok(Math.abs(certaintyEquivalent([1, -1], 1) + Math.log(Math.cosh(1))) < 1e-12);
      assert.ok(Number.isFinite(certaintyEquivalent([-2000, 5], 1)), "no overflow on a large loss");
    });

    it("expected shortfall at 1% is the mean loss of the worst 1%", () => {
      const x = Array.from({ length: 1000 }, (_, i) => i - 10); // worst ten: −10..−1
      assert.equal(expectedShortfall(x, 0.01), 5.5);
    });
  });

  describe("frontiers", () => {
    const clock: Frontier = {
      kind: "clock",
      points: [
        { name: "1h", parameter: 3600, trackingErrorStd: 0.5, costUsd: 2 },
        { name: "4h", parameter: 14400, trackingErrorStd: 2, costUsd: 1 },
      ],
    };

    it("interpolates cost linearly in log tracking error, and not outside the range", () => {
      assert.equal(costAtTrackingError(clock, 1), 1.5);
      assert.equal(costAtTrackingError(clock, 0.5), 2);
      assert.equal(costAtTrackingError(clock, 0.4), null);
      assert.equal(costAtTrackingError(clock, 3), null);
      const withReference: Frontier = { ...clock, points: [{ name: "every step", parameter: 300, trackingErrorStd: 0, costUsd: 9 }, ...clock.points] };
      assert.equal(costAtTrackingError(withReference, 1), 1.5, "a zero-TE point is left out of the log interpolation");
    });

    it("savings are measured at equal tracking error", () => {
      const ww: Frontier = { kind: "whalley-wilmott", points: [{ name: "WW", parameter: 1, trackingErrorStd: 1, costUsd: 1.2 }, { name: "far", parameter: 9, trackingErrorStd: 9, costUsd: 0.1 }] };
      const s = savingsAgainst(ww, clock);
      assert.equal(s.length, 1);
      assert.ok(Math.abs(s[0]!.saving - 0.2) < 1e-12);
    });

    it("draws one line per policy kind with a point per parameter", () => {
      const svg = renderFrontierSvg([clock, { kind: "whalley-wilmott", points: [{ name: "WW <1>", parameter: 1, trackingErrorStd: 1, costUsd: 1.2 }] }], "t & c");
      assert.match(svg, /^<svg /);
      assert.equal((svg.match(/<polyline /g) ?? []).length, 2);
      assert.equal((svg.match(/<circle /g) ?? []).length, 3);
      assert.ok(svg.includes("WW &lt;1&gt;") && svg.includes("t &amp; c"), "text is escaped");
    });
  });

  describe("engine", function () {
    this.timeout(120_000);
    const base: ScenarioInput = {
      spot: 100,
      days: 10,
      stepMinutes: 60,
      paths: 300,
      seed: 11,
      model: { kind: "gbm", vol: 0.8 },
      book: straddle(0.6),
      costs: { borrowPercentPerHour: 0.002, txCostUsd: 0.001 },
      policies: [{ kind: "whalley-wilmott", riskAversion: 0.3 }, { kind: "clock", intervalSec: 14_400 }, { kind: "zakamouline", riskAversion: 1 }, { kind: "fixed", thresholdTokens: 0.1 }],
    };

    it("charges every cost it is given, and net = gross − costs", async () => {
      const s = await run(base);
      for (const p of s.policies) {
        assert.ok(p.feesUsd > 0 && p.borrowUsd > 0 && p.txUsd > 0, `${p.name} pays fees, borrow and tx`);
        assert.ok(Math.abs(p.costUsd - (p.feesUsd + p.impactUsd + p.borrowUsd + p.txUsd)) < 1e-12);
        assert.ok(Math.abs(p.grossMean - p.costUsd - p.netMean) < 1e-9, `${p.name}: net = gross − cost`);
        assert.ok(p.trades >= 1, "the initial hedge is a trade");
      }
      const clock = s.policies[1]!;
      // At most 60: the clock's cadence (tests below). Fewer on paths where the straddle expires far from the strike.
      assert.ok(clock.trades <= 60, `a 4-hour clock over 10 days trades at most 60 times, got ${clock.trades} on average`);
      assert.ok(Math.abs(clock.txUsd - 0.001 * (clock.trades + 1)) < 0.03, "one transaction per trade and the unwind, two when the hedge flips side");
    });

    // The clock's cadence is tested where nothing else can hold a rebalance back: with the straddle expiring 20 days
    // after the horizon, each 4-hour move changes its delta by far more than the 1 USD×1e6 a request can carry, so every
    // path trades at steps 0, 4, …, 236: 1 + ⌊239/4⌋ = 60, in both initialHedge modes (an empty hedge's first decision
    // trades too). 60 trades at least 4 steps apart in 240 steps can only be those; a path-mean of 60 would let a
    // missed rebalance hide behind an extra one.
    // Expiring at the horizon, a path ending far from the strike has a delta that no longer moves in its last hours
    // (Φ's tail below 1e-8 tokens): those rebalances are not trades, so such a path trades fewer times, never more.
    it("a 4-hour clock over 10 days trades at steps 0, 4, …, 236: exactly 60 times on every path while the delta moves", () => {
      const clockOnly = { ...base, policies: [{ kind: "clock", intervalSec: 14_400 }] } satisfies ScenarioInput;
      const tradesPerPath = (input: ScenarioInput) => Array.from(runChunk(prepareSimulation(parseScenario(input, "test")), 0, base.paths!).perPolicy.trades);
      const byClock = 1 + Math.floor((240 - 1) / 4);
      for (const initialHedge of ["target", "policy"] as const) {
        const far = tradesPerPath({ ...clockOnly, initialHedge, book: { options: straddle(0.6).options!.map((l) => ({ ...l, expiryDays: 30 })) } });
        assert.deepEqual([...new Set(far)], [byClock], `${initialHedge}: trades per path`);
      }
      const atHorizon = tradesPerPath(clockOnly);
      assert.equal(Math.max(...atHorizon), byClock, "the most any path trades");
      assert.ok(atHorizon.filter((t) => t < byClock).length > 0, "some paths end far enough from the strike that their last rebalances change nothing");
    });

    it("latency moves the fill but not the expected gross P&L", async () => {
      const s = await run({ ...base, costs: { latencySec: 1200 }, policies: [{ kind: "clock", intervalSec: 3600 }] });
      // At r = 0 an ATM straddle is worth two ATM calls.
      const v = (vol: number) => 2 * europeanGreeks({ kind: "call", spot: 100, strike: 100, years: 10 / 365, rate: 0, carry: 0, vol }).price;
      const expected = v(0.8) - v(0.6);
      const p = s.policies[0]!;
      assert.ok(Math.abs(p.grossMean - expected) <= 4 * p.grossSe, `gross ${p.grossMean} vs ${expected} ± ${p.grossSe}`);
      assert.ok(p.trackingErrorStd > 0);
    });

    it("a static holding hedged every step is flat, and an unhedged JLP-style flow needs a band", async () => {
      const s = await run({ ...base, book: { staticTokens: 10, jlp: { deltaTokens: 5, flowVolTokens: 20 } }, costs: {}, policies: [{ kind: "clock", intervalSec: 3600 }, { kind: "whalley-wilmott", riskAversion: 0.3 }] });
      const [clock, ww] = s.policies as [(typeof s.policies)[0], (typeof s.policies)[0]];
      assert.ok(Math.abs(clock.grossMean) < 4 * clock.grossSe + 1e-9);
      assert.ok(ww.trades < clock.trades, `the flow band (${ww.trades} trades) trades less than the hourly clock (${clock.trades})`);
    });

    it("runs Merton and Heston paths and reports expected shortfall", async () => {
      for (const model of [
        { kind: "merton", vol: 0.5, jumpsPerYear: 12, jumpMean: -0.05, jumpStd: 0.1 },
        { kind: "heston", v0: 0.36, theta: 0.36, kappa: 3, xi: 0.8, rho: -0.5 },
      ] as const) {
        const s = await run({ ...base, paths: 100, model, book: { options: [{ kind: "put", strike: 95, expiryDays: 10, quantity: -1, impliedVol: 0.6 }] } });
        for (const p of s.policies) assert.ok(Number.isFinite(p.expectedShortfall1) && p.expectedShortfall1 > -p.netMean, `${model.kind} ${p.name}: ES1% ${p.expectedShortfall1} is worse than the mean`);
      }
    });

    it("property: with zero drift every policy's gross mean is the option value at realised vol minus the premium", async function () {
      this.timeout(300_000);
      const leg = fc.record({
        kind: fc.constantFrom("call" as const, "put" as const),
        strike: fc.integer({ min: 80, max: 125 }),
        expiryDays: fc.integer({ min: 3, max: 12 }),
        quantity: fc.integer({ min: -3, max: 3 }).filter((q) => q !== 0),
        impliedVol: fc.integer({ min: 30, max: 120 }).map((v) => v / 100),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(leg, { minLength: 1, maxLength: 4 }), fc.integer({ min: 30, max: 120 }), fc.integer({ min: 0, max: 1e6 }), async (legs, volPct, seed) => {
          const realised = volPct / 100;
          const days = Math.max(...legs.map((l) => l.expiryDays));
          const s = await run({ spot: 100, days, stepMinutes: 60, paths: 400, seed, model: { kind: "gbm", vol: realised }, book: { options: legs }, costs: { increaseBps: 0, decreaseBps: 0 }, policies: base.policies });
          const value = (volOf: (l: (typeof legs)[0]) => number) =>
            legs.reduce((sum, l) => sum + l.quantity * europeanGreeks({ kind: l.kind, spot: 100, strike: l.strike, years: (l.expiryDays * 86_400) / SECONDS_PER_YEAR, rate: 0, carry: 0, vol: volOf(l) }).price, 0);
          const expected = value(() => realised) - value((l) => l.impliedVol);
          for (const p of s.policies) {
            assert.ok(Math.abs(p.grossMean - expected) <= 4.5 * p.grossSe + 1e-9, `${p.name}: gross ${p.grossMean} vs ${expected} ± ${p.grossSe} for ${JSON.stringify(legs)} at ${realised}`);
          }
        }),
        { numRuns: 12, seed: 6 },
      );
    });
  });
});
