import { strict as assert } from "node:assert";
import { europeanGreeks } from "../../keeper/exposure/black";
import { BookKernel } from "../../keeper/exposure/book-kernel";
import { valueExposure } from "../../keeper/exposure/mandate-exposure";
import { bookDelta, bookGreeks, type OptionLeg, SECONDS_PER_YEAR } from "../../keeper/exposure/options-book";
import { seededUniform } from "../../keeper/lib/random";
import { driftBandHalfWidth, whalleyWilmottHalfWidth, zakamoulineBand } from "../helpers/band-formulas";
import { oneWayCostFraction, type TradeCostParams } from "../../keeper/strategy/costs";
import { applyRule, computeBands, DecisionLanes, MIN_TRADE_NOTIONAL_USD, Outcome, type ScaledOptionsDeltas } from "../../keeper/strategy/decision-lanes";
import { decide, type Decision, type ExposureGreeks, type PolicyConfig, ruleParams, type TradeSizeLimits } from "../../keeper/strategy/policy";

/**
 * The simulator decides with the kernels over a block of lanes; the live keeper's decide() runs the same kernels on one
 * lane. These tests hold the two to the same numbers, bit for bit, on random inputs for every policy and every branch
 * of the rule, and check the kernels' maths against the scalar formulas they replaced (the reference band formulas (tests/helpers/band-formulas.ts), Black-76 per
 * leg in exposure/black.ts), which stay as the reference.
 */

const NOW = 1_800_000_000;
const DAY = 86_400;

const leg = (kind: "call" | "put", strike: number, days: number, quantity: number, impliedVol: number, underlying: OptionLeg["underlying"] = "SOL"): OptionLeg => ({
  underlying,
  kind,
  strike,
  expirySec: NOW + days * DAY,
  quantity,
  impliedVol,
});

/** Books that reach every branch: long and short gamma, a call and a put sharing a group, an expired leg, another market, none. */
const BOOKS: Record<string, OptionLeg[]> = {
  "long straddle": [leg("call", 100, 30, 1, 0.6), leg("put", 100, 30, 1, 0.6)],
  "short strangle, two expiries, an expired leg and an ETH leg": [
    leg("call", 120, 9, -3, 0.7),
    leg("put", 85, 40, -2, 0.9),
    leg("call", 85, 40, 1, 0.9),
    leg("call", 100, -1, 50, 0.6),
    leg("put", 3000, 20, 4, 0.5, "ETH"),
  ],
  "JLP only": [],
};

interface Case {
  name: string;
  policy: PolicyConfig;
  costs: TradeCostParams;
  book: string;
  /** JLP flow variance, tokens²/yr. */
  variance: number;
}

const CASES: Case[] = [
  { name: "WW", policy: { kind: "whalley-wilmott", riskAversion: 0.3 }, costs: { feeBps: 6, impactFeeScalar: 0 }, book: "long straddle", variance: 0 },
  { name: "WW with the impact fee", policy: { kind: "whalley-wilmott", riskAversion: 3 }, costs: { feeBps: 6, impactFeeScalar: 1.25e9 }, book: "short strangle, two expiries, an expired leg and an ETH leg", variance: 0 },
  { name: "WW flow band (JLP only)", policy: { kind: "whalley-wilmott", riskAversion: 1 }, costs: { feeBps: 7, impactFeeScalar: 0 }, book: "JLP only", variance: 900 },
  { name: "WW option and flow bands", policy: { kind: "whalley-wilmott", riskAversion: 0.1 }, costs: { feeBps: 6, impactFeeScalar: 0 }, book: "long straddle", variance: 400 },
  { name: "Zakamouline, long gamma", policy: { kind: "zakamouline", riskAversion: 1 }, costs: { feeBps: 6, impactFeeScalar: 0 }, book: "long straddle", variance: 0 },
  { name: "Zakamouline, short gamma", policy: { kind: "zakamouline", riskAversion: 5 }, costs: { feeBps: 6, impactFeeScalar: 1.25e12 }, book: "short strangle, two expiries, an expired leg and an ETH leg", variance: 0 },
  { name: "Zakamouline without gamma (no band)", policy: { kind: "zakamouline", riskAversion: 1 }, costs: { feeBps: 6, impactFeeScalar: 0 }, book: "JLP only", variance: 100 },
  { name: "fixed", policy: { kind: "fixed", thresholdTokens: 0.2 }, costs: { feeBps: 6, impactFeeScalar: 0 }, book: "long straddle", variance: 0 },
  { name: "clock", policy: { kind: "clock", intervalSec: 3600 }, costs: { feeBps: 6, impactFeeScalar: 0 }, book: "short strangle, two expiries, an expired leg and an ETH leg", variance: 0 },
];

const LANES = 512;
const RATIO = 0.8;
const MARKET_VOL = 0.7;

interface Lane {
  spotUsd: number;
  exposure: ExposureGreeks;
  hedgeTokens: number;
  lastTradeSec: number | null;
}

/** Random lanes around the book, with hedges near and far from the target and trades long and recently past. */
function lanesFor(c: Case, seed: number): Lane[] {
  const u = seededUniform(seed);
  const legs = BOOKS[c.book]!;
  return Array.from({ length: LANES }, () => {
    const spotUsd = 60 + 90 * u();
    const e = valueExposure({
      market: "SOL",
      spotUsd,
      nowSec: NOW,
      legs,
      walletTokens: 3 * u() - 1,
      jlpTokens: c.book === "JLP only" ? 5 + 10 * u() : 0,
      offsetTokens: 0,
      hedgeRatio: RATIO,
      jlpDeltaVarianceRate: c.variance,
      marketVol: MARKET_VOL,
    }).greeks;
    const target = -e.delta;
    // Mostly near the target (inside a band, small changes), sometimes far (cut to the maximum), sometimes exactly on it.
    const r = u();
    const hedgeTokens = r < 0.05 ? target : r < 0.8 ? target + (u() - 0.5) * 0.6 : target + (u() - 0.5) * 20;
    const t = u();
    const lastTradeSec = t < 0.3 ? null : NOW - Math.floor(u() * 2 * 3600);
    return { spotUsd, exposure: e, hedgeTokens, lastTradeSec };
  });
}

/**
 * Limits that reach every branch: a minimum trade (and none; and one above a fixed threshold, so a trade back to the
 * centre can be too small), a maximum, a cooldown (and one longer than the clock's interval).
 */
const LIMITS: TradeSizeLimits[] = [
  { minTradeTokens: 0.05, maxTradeTokens: 4, cooldownSec: 600 },
  { minTradeTokens: 0, maxTradeTokens: Infinity, cooldownSec: 0 },
  { minTradeTokens: 0.5, maxTradeTokens: 2, cooldownSec: 5400 },
];

/** The kernel over all lanes at once, the way the engine calls it (its Zakamouline deltas from the book kernel). */
function kernelRun(c: Case, lanes: Lane[], limits: TradeSizeLimits): DecisionLanes {
  const x = new DecisionLanes(lanes.length);
  const book = BookKernel.compile(BOOKS[c.book]!, "SOL").at(NOW);
  lanes.forEach((l, b) => {
    x.spotUsd[b] = l.spotUsd;
    x.delta[b] = l.exposure.delta;
    x.optionsDelta[b] = l.exposure.volScaled!.deltaAt(1);
    x.gamma[b] = l.exposure.gamma;
    x.years[b] = l.exposure.years;
    x.vol[b] = l.exposure.vol;
    x.varianceRate[b] = l.exposure.targetVarianceRate;
    x.hedgeTokens[b] = l.hedgeTokens;
    x.lastTrade[b] = l.lastTradeSec ?? NaN;
  });
  const lnSpot = x.spotUsd.map(Math.log);
  const scaled: ScaledOptionsDeltas = {
    deltasAt(volScale, n, out) {
      book.deltas(x.spotUsd, lnSpot, volScale, n, out);
      for (let b = 0; b < n; b++) out[b] = RATIO * out[b]!;
    },
  };
  x.begin(lanes.length);
  computeBands(x, c.policy, c.costs, 0, scaled);
  applyRule(x, ruleParams(c.policy, limits), NOW, false);
  return x;
}

const HOLD_REASON: Record<number, RegExp> = {
  [Outcome.insideBand]: /^inside band$/,
  [Outcome.clockNotElapsed]: /^clock interval not elapsed$/,
  [Outcome.cooldown]: /^cooldown$/,
  [Outcome.belowMinimum]: /below minimum trade/,
};

describe("decision kernels: decide() on one lane = the simulator's kernels on a block", () => {
  for (const c of CASES) {
    it(`${c.name}: every lane's band and decision are the same numbers, and every branch is reached`, () => {
      const seen = new Set<string>();
      for (let l = 0; l < LIMITS.length; l++) {
        const limits = LIMITS[l]!;
        const lanes = lanesFor(c, 17 + l);
        const x = kernelRun(c, lanes, limits);
        lanes.forEach((lane, b) => {
          const d: Decision = decide({ policy: c.policy, limits, costs: c.costs, spotUsd: lane.spotUsd, exposure: lane.exposure, hedgeTokens: lane.hedgeTokens, targetNetDelta: 0, nowSec: NOW, lastTradeSec: lane.lastTradeSec });
          const at = `${c.name} lane ${b} (spot ${lane.spotUsd}, hedge ${lane.hedgeTokens})`;
          assert.ok(Object.is(d.band.center, x.center[b]), `${at}: centre ${d.band.center} vs ${x.center[b]}`);
          assert.ok(Object.is(d.band.halfWidth, x.halfWidth[b]), `${at}: half-width ${d.band.halfWidth} vs ${x.halfWidth[b]}`);
          const outcome = x.outcome[b]!;
          if (outcome === Outcome.trade) {
            assert.equal(d.action, "trade", at);
            if (d.action !== "trade") return;
            assert.ok(Object.is(d.toTokens, x.toTokens[b]) && Object.is(d.changeTokens, x.change[b]), `${at}: to ${d.toTokens} vs ${x.toTokens[b]}`);
            seen.add(x.cut[b] ? "trade cut to the maximum" : "trade");
            assert.equal(/cut to maximum trade/.test(d.reason), x.cut[b] === 1, `${at}: ${d.reason}`);
          } else {
            assert.equal(d.action, "hold", at);
            assert.match(d.reason, HOLD_REASON[outcome]!, at);
            seen.add(`hold ${outcome}`);
          }
        });
      }
      const expected = ["trade", "trade cut to the maximum", `hold ${Outcome.belowMinimum}`, `hold ${Outcome.cooldown}`, c.policy.kind === "clock" ? `hold ${Outcome.clockNotElapsed}` : `hold ${Outcome.insideBand}`];
      // Without a band (clock; Zakamouline with no gamma) nothing is "inside"; a JLP-only Zakamouline lane has no band at all.
      const reachable = c.name.includes("without gamma") ? expected.filter((e) => e !== `hold ${Outcome.insideBand}`) : expected;
      for (const e of reachable) assert.ok(seen.has(e), `${c.name}: no lane reached "${e}" (reached: ${[...seen].join(", ")})`);
    });
  }

  it("a change worth less than the smallest request (1 USD×1e6) holds, even with no minimum trade", () => {
    const e = valueExposure({ market: "SOL", spotUsd: 100, nowSec: NOW, legs: [], walletTokens: 2, jlpTokens: 0, offsetTokens: 0, hedgeRatio: 1, jlpDeltaVarianceRate: 0 }).greeks;
    const at = (hedgeTokens: number) => decide({ policy: { kind: "clock", intervalSec: 60 }, limits: { minTradeTokens: 0, maxTradeTokens: Infinity, cooldownSec: 0 }, costs: { feeBps: 6, impactFeeScalar: 0 }, spotUsd: 100, exposure: e, hedgeTokens, targetNetDelta: 0, nowSec: NOW, lastTradeSec: null });
    assert.equal(at(-2).action, "hold", "no change at all is not a trade");
    assert.equal(at(-2 + (0.9 * MIN_TRADE_NOTIONAL_USD) / 100).action, "hold");
    assert.match(at(-2 + 1e-9).reason, /below minimum trade/);
    assert.equal(at(-2 + (1.1 * MIN_TRADE_NOTIONAL_USD) / 100).action, "trade");
  });

  for (const c of CASES.filter((c) => c.policy.kind === "whalley-wilmott" || c.policy.kind === "zakamouline")) {
    it(`${c.name}: the kernel's bands are the scalar formulas of the reference band formulas (tests/helpers/band-formulas.ts) to 1e-12`, () => {
      const lanes = lanesFor(c, 99);
      const x = kernelRun(c, lanes, LIMITS[1]!);
      const policy = c.policy as Extract<PolicyConfig, { riskAversion: number }>;
      lanes.forEach((lane, b) => {
        const e = lane.exposure;
        const at = `${c.name} lane ${b}`;
        if (policy.kind === "whalley-wilmott") {
          const band = (lambda: number) =>
            Math.max(
              whalleyWilmottHalfWidth({ costFraction: lambda, spotUsd: lane.spotUsd, gamma: e.gamma, riskAversion: policy.riskAversion, years: e.years }),
              e.targetVarianceRate > 0 && e.vol > 0 ? driftBandHalfWidth({ costFraction: lambda, spotUsd: lane.spotUsd, riskAversion: policy.riskAversion, vol: e.vol }, e.targetVarianceRate) : 0,
            );
          const first = band(oneWayCostFraction(c.costs, 0));
          const want = c.costs.impactFeeScalar > 0 ? band(oneWayCostFraction(c.costs, first * lane.spotUsd)) : first;
          assert.ok(Math.abs(x.halfWidth[b]! - want) <= 1e-12 * want, `${at}: ${x.halfWidth[b]} vs ${want}`);
          assert.ok(Math.abs(x.center[b]! + e.delta) <= 1e-12, at);
          return;
        }
        if (e.gamma === 0) {
          assert.equal(x.halfWidth[b], 0, at);
          return;
        }
        const z = zakamoulineBand({ costFraction: oneWayCostFraction(c.costs, 0), spotUsd: lane.spotUsd, gamma: e.gamma, riskAversion: policy.riskAversion, years: e.years, vol: e.vol }, e.gamma > 0);
        assert.ok(Math.abs(x.halfWidth[b]! - z.halfWidth) <= 1e-12 * z.halfWidth, `${at}: ${x.halfWidth[b]} vs ${z.halfWidth}`);
        const legs = BOOKS[c.book]!;
        const shift = RATIO * (bookDelta(legs, "SOL", lane.spotUsd, NOW, z.volScale) - bookDelta(legs, "SOL", lane.spotUsd, NOW, 1));
        assert.ok(Math.abs(x.center[b]! - (-e.delta - shift)) <= 1e-12, `${at}: centre ${x.center[b]} vs ${-e.delta - shift}`);
      });
    });
  }

  it("the book kernel's greeks are Black-76 summed leg by leg (exposure/black.ts), to 1e-12", () => {
    const u = seededUniform(5);
    for (let t = 0; t < 300; t++) {
      const legs = Array.from({ length: 1 + Math.floor(u() * 6) }, () => {
        // Few strikes and expiries, so calls and puts often share a group.
        const strike = [80, 100, 130][Math.floor(u() * 3)]!;
        const days = [-2, 0.5, 7, 90][Math.floor(u() * 4)]!;
        return leg(u() < 0.5 ? "call" : "put", strike, days, Math.round((u() - 0.5) * 10) || 1, [0.3, 0.8][Math.floor(u() * 2)]!);
      });
      const spot = 20 + 200 * u();
      const g = bookGreeks(legs, "SOL", spot, NOW);
      let delta = 0;
      let gamma = 0;
      let theta = 0;
      let vega = 0;
      let weight = 0;
      let years = 0;
      let vol = 0;
      let live = 0;
      for (const l of legs) {
        if (l.expirySec <= NOW) continue;
        const y = (l.expirySec - NOW) / SECONDS_PER_YEAR;
        const r = europeanGreeks({ kind: l.kind, spot, strike: l.strike, years: y, rate: 0, carry: 0, vol: l.impliedVol });
        delta += l.quantity * r.delta;
        gamma += l.quantity * r.gamma;
        theta += l.quantity * r.theta;
        vega += l.quantity * r.vega;
        const w = Math.abs(l.quantity * r.gamma);
        weight += w;
        years += w * y;
        vol += w * l.impliedVol;
        live++;
      }
      const scale = legs.reduce((s, l) => s + Math.abs(l.quantity), 0);
      const at = `${JSON.stringify(legs)} at ${spot}`;
      assert.equal(g.legs, live, at);
      assert.ok(Math.abs(g.delta - delta) <= 1e-12 * scale, `${at}: delta ${g.delta} vs ${delta}`);
      assert.ok(Math.abs(g.gamma - gamma) <= 1e-12 * Math.max(1e-12, Math.abs(gamma), weight), `${at}: gamma ${g.gamma} vs ${gamma}`);
      assert.ok(Math.abs(g.theta - theta) <= 1e-11 * Math.max(1, Math.abs(theta)), `${at}: theta ${g.theta} vs ${theta}`);
      assert.ok(Math.abs(g.vega - vega) <= 1e-11 * Math.max(1, Math.abs(vega)), `${at}: vega ${g.vega} vs ${vega}`);
      if (weight > 0) {
        assert.ok(Math.abs(g.years - years / weight) <= 1e-12 * (years / weight), `${at}: years`);
        assert.ok(Math.abs(g.vol - vol / weight) <= 1e-12, `${at}: vol`);
      }
    }
  });

  it("the book kernel's scaled deltas are Black-76 at the scaled vol, and the intrinsic delta at zero vol", () => {
    const legs = [leg("call", 100, 20, 2, 0.6), leg("put", 100, 20, -1, 0.6), leg("put", 90, 5, 3, 0.9)];
    for (const spot of [70, 95, 100, 104.5, 150]) {
      for (const scale of [0, 0.25, 1, 1.7]) {
        const want = legs.reduce((s, l) => {
          const r = europeanGreeks({ kind: l.kind, spot, strike: l.strike, years: (l.expirySec - NOW) / SECONDS_PER_YEAR, rate: 0, carry: 0, vol: l.impliedVol * scale });
          return s + l.quantity * r.delta;
        }, 0);
        const got = bookDelta(legs, "SOL", spot, NOW, scale);
        assert.ok(Math.abs(got - want) <= 1e-12, `spot ${spot} scale ${scale}: ${got} vs ${want}`);
      }
    }
  });
});

describe("decide() on one lane: nesting and books", () => {
  const input = (spotUsd: number, volScaled: ExposureGreeks["volScaled"]) => ({
    policy: { kind: "zakamouline", riskAversion: 1 } as PolicyConfig,
    limits: LIMITS[1]!,
    costs: { feeBps: 6, impactFeeScalar: 0 },
    spotUsd,
    exposure: { ...valueExposure({ market: "SOL", spotUsd, nowSec: NOW, legs: BOOKS["long straddle"]!, walletTokens: 0, jlpTokens: 0, offsetTokens: 0, hedgeRatio: 1, jlpDeltaVarianceRate: 0 }).greeks, ...(volScaled ? { volScaled } : {}) },
    hedgeTokens: 0.4,
    targetNetDelta: 0,
    nowSec: NOW,
    lastTradeSec: null,
  });

  it("a Zakamouline evaluator that decides itself does not disturb the outer decision", () => {
    const plain = decide(input(101, undefined));
    const inner = input(101, undefined).exposure.volScaled!;
    const nested = decide(
      input(101, {
        deltaAt(scale: number) {
          decide(input(57, undefined)); // another decision in the middle of this one
          return inner.deltaAt(scale);
        },
      }),
    );
    assert.deepEqual({ band: nested.band, action: nested.action, reason: nested.reason }, { band: plain.band, action: plain.action, reason: plain.reason });
  });

  it("a legs array that grows in place is valued afresh", () => {
    const legs = [leg("call", 100, 30, 1, 0.6)];
    const before = bookGreeks(legs, "SOL", 100, NOW).delta;
    legs.push(leg("put", 100, 30, 1, 0.6));
    const after = bookGreeks(legs, "SOL", 100, NOW);
    assert.equal(after.legs, 2);
    assert.ok(after.delta < before - 0.4, `the put's delta is in: ${after.delta} vs ${before}`);
  });
});
