import { strict as assert } from "node:assert";
import fc from "fast-check";
import { zakamoulineBand } from "../helpers/band-formulas";
import { oneWayCostFraction, positionFee } from "../../keeper/strategy/costs";
import { decide, type DecisionInput, type PolicyConfig } from "../../keeper/strategy/policy";
import { orderFor, type OrderContext } from "../../keeper/strategy/orders";

function close(actual: number, expected: number, relTol: number, what: string) {
  const err = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(err <= relTol, `${what}: ${actual} vs ${expected} (${err.toExponential(2)})`);
}

// The golden values carry 12 significant digits, hence 1e-10 relative. They are checked on decide(), the keeper's
// own kernels (the formulas one value at a time, tests/helpers/band-formulas.ts, are held to the kernels elsewhere).
describe("band golden values (hedging-math.md §2)", () => {
  const golden = (policy: PolicyConfig, exposure: Partial<DecisionInput["exposure"]>) =>
    decide({
      policy,
      limits: { minTradeTokens: 0, maxTradeTokens: Infinity, cooldownSec: 0 },
      costs: { feeBps: 5, impactFeeScalar: 0 },
      spotUsd: 5000,
      exposure: { delta: 0, gamma: 0.02, years: 0.25, vol: 0.2, targetVarianceRate: 0, ...exposure },
      hedgeTokens: 0,
      targetNetDelta: 0,
      nowSec: 0,
      lastTradeSec: null,
    }).band;
  it("Whalley-Wilmott H = 0.114471424255", () => close(golden({ kind: "whalley-wilmott", riskAversion: 1 }, {}).halfWidth, 0.114471424255, 1e-10, "H"));
  it("Zakamouline H0 + H1 and σ_m (short gamma)", () => {
    // A scaled delta equal to the scale puts the centre at −(scale − 1): the band's σ_m/σ, read back from the centre.
    const band = golden({ kind: "zakamouline", riskAversion: 1 }, { gamma: -0.02, volScaled: { deltaAt: (scale: number) => scale } });
    close(band.halfWidth, 0.020953691078, 1e-10, "H0+H1");
    close((1 - band.center) * 0.2, 0.213490474933, 1e-10, "σ_m short gamma");
  });
  it("the reference formulas' Zakamouline parts: H0, H1, K", () => {
    const z = zakamoulineBand({ costFraction: 5e-4, spotUsd: 5000, gamma: 0.02, riskAversion: 1, years: 0.25, vol: 0.2, rate: 0 }, false);
    close(z.h0, 1e-5, 1e-10, "H0");
    close(z.h1, 0.020943691078, 1e-10, "H1");
    close(z.k, -0.139454572173, 1e-10, "K");
  });
  it("B3 at t=0: Γ = 0.0462, γ = 0.3, 6 bps at S = 100 gives ±0.086", () => {
    assert.equal(decide(base()).band.halfWidth.toFixed(3), "0.086");
  });
  it("the general drift band reduces to Whalley-Wilmott when σ_D = ΓSσ", () => {
    const sigmaD = 0.02 * 5000 * 0.2;
    const flow = golden({ kind: "whalley-wilmott", riskAversion: 1 }, { gamma: 0, targetVarianceRate: sigmaD * sigmaD });
    close(flow.halfWidth, 0.114471424255, 1e-10, "general form");
  });
  // Mainnet rounds the linear impact up to whole bps (costs-mainnet.test.ts has the sources): a $1,000 SOL trade
  // pays 6 + 1 bps, not 6 bps plus the continuous size/scalar of 0.0027 bps.
  it("costs: 6 bps plus the whole bps of impact every trade pays; integer fee as the program charges it", () => {
    close(oneWayCostFraction({ feeBps: 6, impactFeeScalar: 3.75e15 }, 1000), 7e-4, 1e-14, "λ");
    assert.equal(positionFee(1_000_000_000n, 6n, 3_750_000_000_000_000n).positionFeeUsd6, 700_000n);
  });
});

const base = (over: Partial<DecisionInput> = {}): DecisionInput => ({
  policy: { kind: "whalley-wilmott", riskAversion: 0.3 },
  limits: { minTradeTokens: 0, maxTradeTokens: Infinity, cooldownSec: 0 },
  costs: { feeBps: 6, impactFeeScalar: 0 },
  spotUsd: 100,
  exposure: { delta: 0, gamma: 0.0462, years: 30 / 365, vol: 0.6, targetVarianceRate: 0 },
  hedgeTokens: 0,
  targetNetDelta: 0,
  nowSec: 1_000,
  lastTradeSec: null,
  ...over,
});

describe("decide()", () => {
  it("holds inside the band and trades only back to its edge", () => {
    const inside = decide(base({ exposure: { ...base().exposure, delta: 0.05 } }));
    assert.equal(inside.action, "hold");
    const out = decide(base({ exposure: { ...base().exposure, delta: 1 } }));
    assert.equal(out.action, "trade");
    if (out.action !== "trade") return;
    close(out.toTokens, -1 + out.band.halfWidth, 1e-12, "to the near edge");
  });
  it("fixed threshold and clock trade to the centre", () => {
    const fixed = decide(base({ policy: { kind: "fixed", thresholdTokens: 0.1 }, exposure: { ...base().exposure, delta: 0.5 } }));
    assert.ok(fixed.action === "trade" && fixed.toTokens === -0.5);
    const early = decide(base({ policy: { kind: "clock", intervalSec: 3600 }, lastTradeSec: 0, exposure: { ...base().exposure, delta: 0.5 } }));
    assert.equal(early.action, "hold");
    const due = decide(base({ policy: { kind: "clock", intervalSec: 3600 }, nowSec: 3600, lastTradeSec: 0, exposure: { ...base().exposure, delta: 0.5 } }));
    assert.ok(due.action === "trade" && due.toTokens === -0.5);
  });
  it("cooldown, minimum and maximum trade size", () => {
    const e = { ...base().exposure, delta: 10 };
    assert.equal(decide(base({ exposure: e, lastTradeSec: 990, limits: { minTradeTokens: 0, maxTradeTokens: Infinity, cooldownSec: 30 } })).reason, "cooldown");
    assert.match(decide(base({ exposure: e, limits: { minTradeTokens: 100, maxTradeTokens: Infinity, cooldownSec: 0 } })).reason, /below minimum/);
    const cut = decide(base({ exposure: e, limits: { minTradeTokens: 0, maxTradeTokens: 2, cooldownSec: 0 } }));
    assert.ok(cut.action === "trade" && cut.changeTokens === -2);
  });
  it("target net delta shifts the centre", () => {
    const d = decide(base({ policy: { kind: "fixed", thresholdTokens: 0.01 }, targetNetDelta: 5 }));
    assert.ok(d.action === "trade" && d.toTokens === 5);
  });
  it("Zakamouline centres on the delta at σ_m", () => {
    const exposure = { ...base().exposure, delta: 0.5, volScaled: { deltaAt: (k: number) => 0.5 + (k - 1) } };
    const d = decide(base({ policy: { kind: "zakamouline", riskAversion: 1 }, exposure }));
    const z = zakamoulineBand({ costFraction: 6e-4, spotUsd: 100, gamma: 0.0462, riskAversion: 1, years: 30 / 365, vol: 0.6 }, true);
    close(d.band.center, -0.5 - (z.volScale - 1), 1e-12, "centre");
  });

  it("property: a band trade ends on the band, moves toward the centre and never overshoots it", () => {
    const policies: PolicyConfig[] = [{ kind: "whalley-wilmott", riskAversion: 0.5 }, { kind: "zakamouline", riskAversion: 0.5 }, { kind: "fixed", thresholdTokens: 0.2 }];
    fc.assert(
      fc.property(
        fc.constantFrom(...policies),
        fc.double({ min: -50, max: 50, noNaN: true }),
        fc.double({ min: -50, max: 50, noNaN: true }),
        fc.double({ min: 1e-4, max: 0.5, noNaN: true }),
        (policy, delta, hedge, gamma) => {
          const d = decide(base({ policy, exposure: { ...base().exposure, delta, gamma }, hedgeTokens: hedge }));
          const before = Math.abs(hedge - d.band.center);
          if (d.action === "hold") return before <= d.band.halfWidth;
          const after = Math.abs(d.toTokens - d.band.center);
          return after <= d.band.halfWidth + 1e-9 && after < before && Math.sign(d.changeTokens) === Math.sign(d.band.center - hedge);
        },
      ),
    );
  });
});

describe("orderFor()", () => {
  const ctx = (over: Partial<OrderContext> = {}): OrderContext => ({
    markPriceUsd6: 150_000_000n,
    decimals: 9,
    long: null,
    short: null,
    targetLeverageBps: 30_000n,
    slippageBps: 100n,
    longCollateral: "underlying",
    usdcDecimals: 6,
    ...over,
  });
  it("opens a short in USDC at the target leverage with a minimum-price bound", () => {
    const o = orderFor(-100, ctx());
    assert.deepEqual(o, {
      kind: "increase", side: "short", sizeUsdDelta6: 15_000_000_000n, collateralUsd6: 5_000_000_000n, collateralTokenAmount: 5_000_000_000n,
      collateralToken: "usdc", priceSlippageUsd6: 148_500_000n, deltaTokens: -100,
    });
  });
  it("opens a long with the underlying as collateral and a maximum-price bound", () => {
    const o = orderFor(2, ctx());
    assert.ok(o?.kind === "increase" && o.side === "long");
    assert.equal(o.collateralTokenAmount, 666_666_667n); // $300 at 3x = $100 of SOL at $150, rounded up
    assert.equal(o.priceSlippageUsd6, 151_500_000n);
  });
  it("reduces the open side at its entry price, withdrawing collateral pro rata", () => {
    const short = { side: "short" as const, sizeUsd6: 15_000_000_000n, collateralUsd6: 5_000_000_000n, entryPriceUsd6: 150_000_000n };
    const o = orderFor(10, ctx({ short, markPriceUsd6: 140_000_000n }));
    assert.deepEqual(o, {
      kind: "decrease", side: "short", sizeUsdDelta6: 1_500_000_000n, collateralUsdDelta6: 500_000_000n, entirePosition: false,
      priceSlippageUsd6: 141_400_000n, deltaTokens: 10,
    });
  });
  it("crossing zero closes the open side entirely first", () => {
    const short = { side: "short" as const, sizeUsd6: 15_000_000_000n, collateralUsd6: 5_000_000_000n, entryPriceUsd6: 150_000_000n };
    const o = orderFor(130, ctx({ short }));
    assert.ok(o?.kind === "decrease" && o.entirePosition && o.sizeUsdDelta6 === 15_000_000_000n && o.deltaTokens === 100);
  });
  it("no order for a change too small to size", () => {
    assert.equal(orderFor(0, ctx()), null);
    assert.equal(orderFor(1e-12, ctx()), null);
  });
});
