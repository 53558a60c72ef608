import { strict as assert } from "node:assert";
import { Keypair } from "@solana/web3.js";
import { mandateSchema } from "../../keeper/app/config";
import type { DecisionTerms } from "../../keeper/exposure/hedge-terms";
import { valueExposure } from "../../keeper/exposure/mandate-exposure";
import type { OptionLeg } from "../../keeper/exposure/options-book";
import { mandateDecisionTerms } from "../../keeper/mandate/hedge-terms";
import { scenarioDecisionTerms } from "../../keeper/sim/hedge-terms";
import { parseScenario } from "../../keeper/sim/scenario";
import { decide, type Decision } from "../../keeper/strategy/policy";

/**
 * Issue 18: the live keeper and the simulator build valueExposure()'s and decide()'s inputs from one function, so a
 * mandate and the scenario that states the same terms decide alike. (The live keeper once passed no JLP flow variance
 * and no market vol: a JLP-only Whalley-Wilmott mandate traded with a zero-width band that its backtest did not have.)
 */

const SPOT = 150;
const HEDGE_RATIO = 0.8;
const MARKET_VOL = 0.7;
const FLOW_VOL_TOKENS = 40;
/** $30 at the scenario's spot: the two minimum trades agree there. */
const MIN_TRADE_TOKENS = 0.2;
const CUSTODY = { increasePositionBps: 6n, decreasePositionBps: 7n, pricing: { tradeImpactFeeScalar: 12_500_000_000n } };

function mandate(exposures: Record<string, unknown>) {
  return mandateSchema.parse({
    name: "m",
    wallet: Keypair.generate().publicKey.toBase58(),
    keypairEnv: "GK_KEY",
    markets: ["SOL"],
    hedgeRatio: HEDGE_RATIO,
    targetNetDelta: { SOL: 1 },
    policy: { kind: "whalley-wilmott", riskAversion: 0.3 },
    trade: { minTradeUsd: MIN_TRADE_TOKENS * SPOT, maxTradeUsd: 1_000_000, cooldownSec: 30 },
    collateral: { annualVol: { SOL: MARKET_VOL } },
    limits: { maxNetDeltaTokens: { SOL: 1000 }, maxNotionalUsd: 1e7, maxLeverage: 5, maxTradesPerHour: 10, dailyFeeBudgetUsd: 100 },
    exposures,
  });
}

/** The same terms as a scenario states them: tokens, not USD; custody fees in `costs`; the model's vol. */
function scenario(book: Record<string, unknown>) {
  return parseScenario(
    {
      spot: SPOT,
      days: 1,
      model: { kind: "gbm", vol: MARKET_VOL },
      book,
      hedgeRatio: HEDGE_RATIO,
      targetNetDelta: 1,
      costs: { increaseBps: 6, decreaseBps: 7, impactFeeScalar: 12_500_000_000 },
      trade: { minTradeTokens: MIN_TRADE_TOKENS, maxTradeTokens: 1_000_000 / SPOT, cooldownSec: 30 },
      policies: [{ kind: "whalley-wilmott", riskAversion: 0.3 }],
    },
    "test scenario",
  );
}

interface Observation {
  spotUsd: number;
  nowSec: number;
  jlpTokens: number;
  hedgeTokens: number;
}

/** Both callers' glue: the observations, the terms, valueExposure() then decide(). */
function decideOn(t: DecisionTerms, legs: readonly OptionLeg[], o: Observation): Decision {
  const e = valueExposure({ market: "SOL", spotUsd: o.spotUsd, nowSec: o.nowSec, legs, walletTokens: 0, jlpTokens: o.jlpTokens, offsetTokens: 0, ...t.exposure });
  return decide({ policy: t.policy, limits: t.limitsAt(o.spotUsd), costs: t.costs, spotUsd: o.spotUsd, exposure: e.greeks, hedgeTokens: o.hedgeTokens, targetNetDelta: t.targetNetDelta, nowSec: o.nowSec, lastTradeSec: null });
}

const OBSERVATIONS: Observation[] = [
  { spotUsd: SPOT, nowSec: 0, jlpTokens: 10, hedgeTokens: 0 },
  { spotUsd: SPOT, nowSec: 600, jlpTokens: 12.5, hedgeTokens: -9.5 },
  { spotUsd: SPOT, nowSec: 1200, jlpTokens: 9, hedgeTokens: -9.5 },
  { spotUsd: 120, nowSec: 3600, jlpTokens: 30, hedgeTokens: -5 },
  { spotUsd: 210, nowSec: 7200, jlpTokens: -4, hedgeTokens: 3 },
];

const WW = { kind: "whalley-wilmott", riskAversion: 0.3 } as const;
const STRADDLE: OptionLeg[] = [
  { underlying: "SOL", kind: "call", strike: 150, expirySec: 20 * 86_400, quantity: -50, impliedVol: 0.65 },
  { underlying: "SOL", kind: "put", strike: 140, expirySec: 20 * 86_400, quantity: -50, impliedVol: 0.7 },
];
const JLP_ACCOUNT = Keypair.generate().publicKey.toBase58();

/** Both adapters on the same observations: equal, non-zero bands; the same decision where the limits agree (spot 150). */
function assertSameDecisions(live: DecisionTerms, sim: DecisionTerms, legs: readonly OptionLeg[]) {
  for (const o of OBSERVATIONS) {
    const a = decideOn(live, legs, o);
    const b = decideOn(sim, legs, o);
    const at = JSON.stringify(o);
    assert.ok(a.band.halfWidth > 0, `live band has zero width at ${at}`);
    assert.ok(Math.abs(a.band.halfWidth - b.band.halfWidth) <= 1e-12 * b.band.halfWidth, `${at}: live band ±${a.band.halfWidth}, simulated ±${b.band.halfWidth}`);
    assert.equal(a.band.center, b.band.center, at);
    if (o.spotUsd !== SPOT) continue;
    assert.equal(a.action, b.action, at);
    assert.equal(a.reason, b.reason, at);
  }
}

describe("hedge terms: a mandate decides live as its scenario does in the simulator (issue 18)", () => {
  it("a JLP-only Whalley-Wilmott mandate: the same flow band from the JLP delta's flow vol and the market vol", () => {
    const live = mandateDecisionTerms(mandate({ jlp: { tokenAccount: JLP_ACCOUNT, deltaVolTokens: { SOL: FLOW_VOL_TOKENS } } }), "SOL", CUSTODY);
    const sim = scenarioDecisionTerms(scenario({ jlp: { deltaTokens: 10, flowVolTokens: FLOW_VOL_TOKENS } }), WW, MARKET_VOL);
    assertSameDecisions(live, sim, []);
    // Both a hold inside the band and a trade back to its edge are compared.
    const actions = OBSERVATIONS.filter((o) => o.spotUsd === SPOT).map((o) => decideOn(live, [], o).action);
    assert.deepEqual(new Set(actions), new Set(["hold", "trade"]));
  });

  it("an options mandate (with a JLP holding beside it): the same band from the book's gamma", () => {
    const live = mandateDecisionTerms(mandate({ jlp: { tokenAccount: JLP_ACCOUNT, deltaVolTokens: { SOL: FLOW_VOL_TOKENS } } }), "SOL", CUSTODY);
    const sim = scenarioDecisionTerms(scenario({ jlp: { deltaTokens: 10, flowVolTokens: FLOW_VOL_TOKENS } }), WW, MARKET_VOL);
    assertSameDecisions(live, sim, STRADDLE);
    const liveOptionsOnly = mandateDecisionTerms(mandate({}), "SOL", CUSTODY);
    // The legs come to both as OptionLeg[] (STRADDLE); the scenario's book only has to be one with options.
    const simOptionsOnly = scenarioDecisionTerms(scenario({ options: [{ kind: "call", strike: 150, expiryDays: 20, quantity: -50, impliedVol: 0.65 }] }), WW, MARKET_VOL);
    assertSameDecisions(liveOptionsOnly, simOptionsOnly, STRADDLE);
  });

  it("the scenario's hedgeVol is its market vol, as collateral.annualVol is the mandate's", () => {
    const s = { ...scenario({ jlp: { deltaTokens: 10, flowVolTokens: FLOW_VOL_TOKENS } }), hedgeVol: MARKET_VOL };
    const live = mandateDecisionTerms(mandate({ jlp: { tokenAccount: JLP_ACCOUNT, deltaVolTokens: { SOL: FLOW_VOL_TOKENS } } }), "SOL", CUSTODY);
    assertSameDecisions(live, scenarioDecisionTerms(s, WW, 1.5), []);
  });

  it("limits: USD bounds become tokens at the decision's spot; token bounds are one object for every spot", () => {
    const live = mandateDecisionTerms(mandate({}), "SOL", CUSTODY);
    assert.deepEqual(live.limitsAt(120), { minTradeTokens: 30 / 120, maxTradeTokens: 1_000_000 / 120, cooldownSec: 30 });
    const sim = scenarioDecisionTerms(scenario({ staticTokens: 1 }), WW, MARKET_VOL);
    assert.equal(sim.limitsAt(120), sim.limitsAt(210));
    assert.deepEqual(sim.limitsAt(120), { minTradeTokens: MIN_TRADE_TOKENS, maxTradeTokens: 1_000_000 / SPOT, cooldownSec: 30 });
    assert.deepEqual(live.costs, { feeBps: 7, impactFeeScalar: 12_500_000_000 });
    assert.deepEqual(live.costs, sim.costs);
  });

  it("a flow vol counts only with a JLP holding, and per market", () => {
    const m = mandate({ jlp: { tokenAccount: JLP_ACCOUNT, deltaVolTokens: { SOL: FLOW_VOL_TOKENS } } });
    assert.equal(mandateDecisionTerms(m, "SOL", CUSTODY).exposure.jlpDeltaVarianceRate, FLOW_VOL_TOKENS ** 2);
    assert.equal(mandateDecisionTerms(m, "ETH", CUSTODY).exposure.jlpDeltaVarianceRate, 0);
    assert.equal(mandateDecisionTerms(mandate({}), "SOL", CUSTODY).exposure.jlpDeltaVarianceRate, 0);
  });
});
