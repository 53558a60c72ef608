import { strict as assert } from "node:assert";
import { runChunk } from "../../keeper/sim/engine";
import { prepareSimulation } from "../../keeper/sim/run-simulation";
import { parseScenario, type ScenarioInput } from "../../keeper/sim/scenario";
import { driftBandHalfWidth, whalleyWilmottHalfWidth, zakamoulineBand } from "../helpers/band-formulas";
import { oneWayCostFraction } from "../../keeper/strategy/costs";
import { MIN_TRADE_NOTIONAL_USD } from "../../keeper/strategy/decision-lanes";
import { decide, type DecisionInput, type PolicyConfig } from "../../keeper/strategy/policy";
import { addHedgeChangeCost } from "../../keeper/sim/trade-costs";

/**
 * Written in the review of issue 18 (decision kernels over lanes) by someone who did not write them. decide() is
 * held to a scalar reference written from the formulas of the reference band formulas (tests/helpers/band-formulas.ts) and hedging-math.md §2 (the rule as decide() had it before the kernels, plus the one new rule:
 * a change worth less than 1 USD×1e6 is not a trade), on random inputs that reach every policy and every branch.
 * The simulator is run on scenarios the change's own tests do not cover.
 */

interface RefDecision {
  action: "hold" | "trade";
  why?: "clock" | "inside" | "cooldown" | "min";
  center: number;
  halfWidth: number;
  toTokens?: number;
}

function refBand(i: DecisionInput): { center: number; halfWidth: number } {
  const e = i.exposure;
  const p = i.policy;
  const base = i.targetNetDelta - e.delta;
  const ww = (lambda: number, gamma: number) => {
    const option = whalleyWilmottHalfWidth({ costFraction: lambda, spotUsd: i.spotUsd, gamma: e.gamma, riskAversion: gamma, years: e.years });
    const flow = e.targetVarianceRate > 0 && e.vol > 0 ? driftBandHalfWidth({ costFraction: lambda, spotUsd: i.spotUsd, riskAversion: gamma, vol: e.vol }, e.targetVarianceRate) : 0;
    return Math.max(option, flow);
  };
  switch (p.kind) {
    case "fixed":
      return { center: base, halfWidth: p.thresholdTokens };
    case "clock":
      return { center: base, halfWidth: 0 };
    case "whalley-wilmott": {
      const first = ww(oneWayCostFraction(i.costs, 0), p.riskAversion);
      return { center: base, halfWidth: i.costs.impactFeeScalar > 0 ? ww(oneWayCostFraction(i.costs, first * i.spotUsd), p.riskAversion) : first };
    }
    case "zakamouline": {
      if (e.gamma === 0 || !(e.years > 0) || !(e.vol > 0)) return { center: base, halfWidth: 0 };
      const z = zakamoulineBand({ costFraction: oneWayCostFraction(i.costs, 0), spotUsd: i.spotUsd, gamma: e.gamma, riskAversion: p.riskAversion, years: e.years, vol: e.vol }, e.gamma > 0);
      const shift = e.volScaled ? e.volScaled.deltaAt(z.volScale) - e.volScaled.deltaAt(1) : 0;
      return { center: base - shift, halfWidth: z.halfWidth };
    }
  }
}

function refDecide(i: DecisionInput): RefDecision {
  const band = refBand(i);
  const q = i.hedgeTokens;
  const dev = q - band.center;
  let to: number;
  if (i.policy.kind === "clock") {
    if (i.lastTradeSec !== null && i.nowSec - i.lastTradeSec < i.policy.intervalSec) return { action: "hold", why: "clock", ...band };
    to = band.center;
  } else if (Math.abs(dev) <= band.halfWidth) {
    return { action: "hold", why: "inside", ...band };
  } else {
    to = i.policy.kind === "fixed" ? band.center : band.center + Math.sign(dev) * band.halfWidth;
  }
  if (i.lastTradeSec !== null && i.nowSec - i.lastTradeSec < i.limits.cooldownSec) return { action: "hold", why: "cooldown", ...band };
  let change = to - q;
  if (Math.abs(change) < i.limits.minTradeTokens || Math.abs(change) * i.spotUsd < MIN_TRADE_NOTIONAL_USD) return { action: "hold", why: "min", ...band };
  if (Math.abs(change) > i.limits.maxTradeTokens) change = Math.sign(change) * i.limits.maxTradeTokens;
  return { action: "trade", ...band, toTokens: q + change };
}

/** A small LCG: the inputs are reproducible from the seed alone. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

const relDiff = (a: number, b: number) => (a === b || (Number.isNaN(a) && Number.isNaN(b)) ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300));

describe("decide() against a scalar reference written from the formulas (review of issue 18)", () => {
  it("agrees on 40,000 random valid inputs, every policy and branch, to 1e-12 relative with the same action", () => {
    const rnd = lcg(18);
    const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
    const seen = new Set<string>();
    const NOW = 1_800_000_000;
    for (let n = 0; n < 40_000; n++) {
      const kind = pick(["fixed", "clock", "whalley-wilmott", "zakamouline"] as const);
      const policy: PolicyConfig =
        kind === "fixed"
          ? { kind, thresholdTokens: pick([0, rnd() * 2]) }
          : kind === "clock"
            ? { kind, intervalSec: pick([0, 1, Math.floor(rnd() * 3600)]) }
            : { kind, riskAversion: Math.exp(rnd() * 8 - 4) };
      const a = rnd() * 2 - 1;
      const c = rnd() * 0.5;
      const i: DecisionInput = {
        policy,
        costs: { feeBps: pick([0, 6, 7]), impactFeeScalar: pick([0, 1.25e9, 3.75e12]) },
        spotUsd: pick([1e-9, 1e-3, Math.exp(rnd() * 10 - 2)]),
        exposure: {
          delta: pick([0, rnd() * 20 - 10]),
          gamma: pick([0, -0, 1e-12, (rnd() * 2 - 1) * 0.1]),
          years: pick([0, rnd() * 0.3]),
          vol: pick([0, rnd() * 1.5]),
          targetVarianceRate: pick([0, rnd() * 1000]),
          volScaled: rnd() < 0.8 ? { deltaAt: (s: number) => a + c * s * s } : undefined,
        },
        hedgeTokens: pick([0, rnd() * 20 - 10]),
        targetNetDelta: pick([0, rnd() * 2 - 1]),
        nowSec: NOW,
        lastTradeSec: pick([null, NOW, NOW + 100, NOW - Math.floor(rnd() * 4000)]),
        limits: { minTradeTokens: pick([0, rnd() * 0.1, 1e9]), maxTradeTokens: pick([0, Infinity, rnd() * 10]), cooldownSec: pick([0, rnd() * 600]) },
      };
      const got = decide(i);
      const want = refDecide(i);
      const where = `case ${n}: ${JSON.stringify({ ...i, exposure: { ...i.exposure, volScaled: i.exposure.volScaled ? [a, c] : null } })}`;
      assert.equal(got.action, want.action, where);
      assert.ok(relDiff(got.band.center, want.center) <= 1e-12, `${where}: centre ${got.band.center} vs ${want.center}`);
      assert.ok(relDiff(got.band.halfWidth, want.halfWidth) <= 1e-12, `${where}: half-width ${got.band.halfWidth} vs ${want.halfWidth}`);
      if (got.action === "trade") assert.ok(relDiff(got.toTokens, want.toTokens!) <= 1e-12, `${where}: to ${got.toTokens} vs ${want.toTokens}`);
      seen.add(`${kind} ${want.action} ${want.why ?? ""}`);
    }
    // Every branch was reached for every policy that has it.
    for (const k of ["fixed", "clock", "whalley-wilmott", "zakamouline"]) {
      for (const b of ["trade ", "hold cooldown", "hold min"]) assert.ok(seen.has(`${k} ${b}`), `${k} ${b} never reached`);
    }
    assert.ok(seen.has("clock hold clock"));
    for (const k of ["fixed", "whalley-wilmott", "zakamouline"]) assert.ok(seen.has(`${k} hold inside`), `${k} inside never reached`);
  });
});

describe("the simulator never leaves a position worth less than a request can carry (review of issue 18)", function () {
  this.timeout(120_000);

  // Found in review (there before issue 18): with the collateral model on, a rebalance to a hedge worth less than
  // 1 USD×1e6 (a short put expiring out of the money: q* → 1e-10 tokens) traded, and HedgeCollateral.change() then
  // asked liquidationThreshold() about a position of size 0 USD×1e6, which threw "liquidation needs an open position;
  // got side short, sizeUsd 0", killing the run. Such a trade now closes the position (decision-lanes.ts sizeTrade).
  it("a collateral backtest of a short put that ends out of the money runs", () => {
    const input: ScenarioInput = {
      spot: 100,
      days: 3,
      stepMinutes: 60,
      paths: 20,
      seed: 1,
      model: { kind: "gbm", vol: 0.6 },
      book: { options: [{ kind: "put", strike: 100, expiryDays: 2, quantity: -3, impliedVol: 0.7 }] },
      targetLeverage: 10,
      policies: [{ kind: "clock", intervalSteps: 1 }, { kind: "whalley-wilmott", riskAversion: 0.3 }],
    };
    const s = parseScenario(input, "review");
    const r = runChunk(prepareSimulation(s), 0, s.paths);
    for (const v of r.perPolicy.gross) assert.ok(Number.isFinite(v));
  });

  // The same throw, reached more often: two cuts to maxTradeTokens 0.05 from −0.05000000000000002 landed on
  // −1.3877787807814457e-17 tokens (the cut's rounding), a position of 0 USD×1e6, when a JLP delta's flows take the
  // target through zero.
  it("a collateral backtest with a maximum trade and a target crossing zero runs", () => {
    const s = parseScenario(
      {
        spot: 100,
        days: 2,
        paths: 65,
        seed: 1,
        model: { kind: "gbm", vol: 0.8 },
        book: { jlp: { deltaTokens: 0.2, flowVolTokens: 20 } },
        trade: { maxTradeTokens: 0.05 },
        targetLeverage: 10,
        policies: [{ kind: "fixed", thresholdTokens: 0.1 }, { kind: "clock", intervalSec: 3600 }],
      },
      "review",
    );
    const r = runChunk(prepareSimulation(s), 0, s.paths);
    for (const v of r.perPolicy.gross) assert.ok(Number.isFinite(v));
  });
});

describe("dust: a trade never leaves a position worth less than 1 USD×1e6", () => {
  const flat = { delta: 0, gamma: 0, years: 0, vol: 0, targetVarianceRate: 0 };
  it("a cut to the maximum trade that lands a few ulps from zero closes the position instead", () => {
    // From −0.05000000000000002 a cut of 0.05 lands on −1.4e-17 tokens.
    const d = decide({
      policy: { kind: "fixed", thresholdTokens: 0.01 },
      limits: { minTradeTokens: 0, maxTradeTokens: 0.05, cooldownSec: 0 },
      costs: { feeBps: 6, impactFeeScalar: 0 },
      spotUsd: 100,
      exposure: { ...flat, delta: -0.2 },
      hedgeTokens: -0.05000000000000002,
      targetNetDelta: 0,
      nowSec: 1,
      lastTradeSec: null,
    });
    assert.equal(d.action, "trade");
    if (d.action === "trade") {
      assert.equal(d.toTokens, 0);
      assert.equal(d.changeTokens, 0.05000000000000002);
    }
  });
  it("a change that leaves nothing a request can carry is charged nothing", () => {
    const got = { feesUsd: 0, impactUsd: 0, txUsd: 0, keptFeeUsd: NaN };
    addHedgeChangeCost(1e-10, 0, 100, { increaseBps: 6, decreaseBps: 6, impactFeeScalar: 0, txCostUsd: 0.01 }, got);
    assert.deepEqual(got, { feesUsd: 0, impactUsd: 0, txUsd: 0, keptFeeUsd: 0 });
  });
});
