import { europeanGreeks } from "../exposure/black";
import { valueExposure } from "../exposure/mandate-exposure";
import { type OptionLeg, SECONDS_PER_YEAR } from "../exposure/options-book";
import { decide, type DecisionInput, type PolicyConfig } from "../strategy/policy";
import { COLLATERAL_METRICS, type CollateralMetric, type CollateralModel, HedgeCollateral, MAINNET_MAX_LEVERAGE_BPS } from "./hedge-collateral";
import { Draws, type PathModel, simulatePath } from "./paths";
import { pathSeed } from "../lib/random";
import { DEFAULT_TARGET_LEVERAGE, type Scenario, type SimPolicy } from "./scenario";
import { addHedgeChangeCost, type CostTotals, type SimCosts } from "./trade-costs";

/**
 * The backtest engine: for each path, value the book once per step with the keeper's exposure code, then let every
 * policy make the keeper's own decide() call on that same step (common random numbers), charging Jupiter's costs.
 * Each path's draws depend only on (seed, path index), so any split of paths across workers gives the same numbers.
 * With `targetLeverage` or `collateral` set, each policy's hedge also carries its collateral, is liquidated by
 * Jupiter's rule and kept from it by the keeper's collateral policy (hedge-collateral.ts); without them the engine
 * computes exactly what it did before they existed.
 */

/** Everything a worker needs, as plain data (structured-clone safe). */
export interface SimSetup {
  scenario: Scenario;
  policies: SimPolicy[];
  /** A replay's prices on the grid; path k replays the window starting at `replayOffsets[k]`. */
  replayPricesUsd: Float64Array | null;
  paths: number;
}

/** Per-path results of one policy. All USD except `trades` (count) and `maxDevTokens`. */
export const POLICY_METRICS = ["gross", "fees", "impact", "borrow", "tx", "trades", "maxDevTokens"] as const;
export type PolicyMetric = (typeof POLICY_METRICS)[number];

export interface ChunkResult {
  firstPath: number;
  count: number;
  /** metric → Float64Array of policies × count, policy-major. */
  perPolicy: Record<PolicyMetric, Float64Array>;
  /** Gross P&L of hedging to q* at every step, free of costs: the tracking-error reference. */
  referenceGross: Float64Array;
  /** ½ Σ Γ S² ((ΔS/S)² − σ_h² Δt) plus the premium's gap to the hedge-vol value: the gamma-P&L theory per path. */
  theory: Float64Array;
  /** metric → policies × count, policy-major, when the scenario models collateral; else null. */
  collateral: Record<CollateralMetric, Float64Array> | null;
}

const UNDERLYING = "SOL";

export function gridOf(s: Scenario): { steps: number; dtYears: number; dtSec: number } {
  const steps = Math.round((s.days * 1440) / s.stepMinutes);
  const dtSec = s.stepMinutes * 60;
  return { steps, dtYears: dtSec / SECONDS_PER_YEAR, dtSec };
}

function legsOf(s: Scenario, vol: (impliedVol: number) => number): OptionLeg[] {
  return s.book.options.map((l) => ({ underlying: UNDERLYING, kind: l.kind, strike: l.strike, expirySec: l.expiryDays * 86_400, quantity: l.quantity, impliedVol: vol(l.impliedVol) }));
}

function pathModel(s: Scenario, replay: Float64Array | null, pathIndex: number, paths: number, steps: number): PathModel {
  const m = s.model;
  switch (m.kind) {
    case "gbm":
      return { kind: "gbm", sigma: m.vol, muAnnual: m.drift };
    case "merton":
      return { kind: "merton", sigma: m.vol, muAnnual: m.drift, jumpsPerYear: m.jumpsPerYear, jumpMeanLog: m.jumpMean, jumpStdLog: m.jumpStd };
    case "heston":
      return { kind: "heston", v0: m.v0, theta: m.theta, kappa: m.kappa, xi: m.xi, rho: m.rho, muAnnual: m.drift };
    case "replay": {
      const windows = replay!.length - steps;
      const offset = paths > 1 ? Math.floor((pathIndex * (windows - 1)) / (paths - 1)) : 0;
      return { kind: "replay", pricesUsd: replay!.subarray(offset) };
    }
  }
}

/** The model's own vol (a replay's is measured from its prices): for the latency bridge and a flow band without options. */
function modelVol(s: Scenario, replay: Float64Array | null): number {
  const m = s.model;
  if (m.kind === "gbm" || m.kind === "merton") return m.vol;
  if (m.kind === "heston") return Math.sqrt(m.theta);
  const { dtYears } = gridOf(s);
  let sum = 0;
  let sumSq = 0;
  for (let i = 1; i < replay!.length; i++) {
    const r = Math.log(replay![i]! / replay![i - 1]!);
    sum += r;
    sumSq += r * r;
  }
  const n = replay!.length - 1;
  return Math.sqrt(Math.max(0, sumSq / n - (sum / n) ** 2) / dtYears);
}

function keeperPolicy(p: SimPolicy): PolicyConfig {
  switch (p.kind) {
    case "clock":
      return { kind: "clock", intervalSec: p.intervalSec };
    case "fixed":
      return { kind: "fixed", thresholdTokens: p.thresholdTokens };
    case "whalley-wilmott":
    case "zakamouline":
      return { kind: p.kind, riskAversion: p.riskAversion };
  }
}

/** The hedge's collateral and liquidation, when the scenario sets `targetLeverage` or `collateral`. */
export function collateralModelOf(s: Scenario, marketVol: number): CollateralModel | null {
  if (s.targetLeverage === undefined && s.collateral === undefined) return null;
  const targetLeverage = s.targetLeverage ?? DEFAULT_TARGET_LEVERAGE;
  const c = s.collateral;
  return {
    custody: { decreasePositionBps: BigInt(s.costs.decreaseBps), pricing: { tradeImpactFeeScalar: BigInt(s.costs.impactFeeScalar), maxLeverage: MAINNET_MAX_LEVERAGE_BPS } },
    targetLeverage,
    policy: c?.enabled ? { floorSigmas: c.floorSigmas, ceilingSigmas: c.ceilingSigmas ?? Infinity, targetLeverage, minChangeUsd6: BigInt(Math.round(c.minChangeUsd * 1e6)) } : null,
    annualVol: c?.annualVol ?? marketVol,
    txCostUsd: s.costs.txCostUsd,
  };
}

interface PolicyRun {
  input: DecisionInput;
  /** The hedge's position and collateral; null when the scenario does not model them. */
  hedge: HedgeCollateral | null;
  q: number;
  costs: CostTotals;
  hedgePnl: number;
  borrow: number;
  trades: number;
  maxDev: number;
}

/** Runs paths [firstPath, firstPath + count); `progress` is called with the number of paths done so far. */
export function runChunk(setup: SimSetup, firstPath: number, count: number, progress?: (done: number) => void): ChunkResult {
  const s = setup.scenario;
  const { steps, dtYears, dtSec } = gridOf(s);
  const nPol = setup.policies.length;
  const premiumLegs = legsOf(s, (v) => v);
  const hedgeLegs = legsOf(s, (v) => s.hedgeVol ?? v);
  const costs: SimCosts = s.costs;
  const decisionCosts = { feeBps: Math.max(s.costs.increaseBps, s.costs.decreaseBps), impactFeeScalar: s.costs.impactFeeScalar };
  const limits = { minTradeTokens: s.trade.minTradeTokens, maxTradeTokens: s.trade.maxTradeTokens ?? Infinity, cooldownSec: s.trade.cooldownSec };
  const borrowPerYear = (s.costs.borrowPercentPerHour / 100) * 24 * 365;
  const latencyFraction = Math.min(1, s.costs.latencySec / dtSec);
  const vol = modelVol(s, setup.replayPricesUsd);
  // A replay has no model to bridge with: its fills interpolate between the recorded prices.
  const bridgeSd = s.model.kind === "replay" ? 0 : vol * Math.sqrt(latencyFraction * (1 - latencyFraction) * dtYears);
  const jlp0 = s.book.jlp?.deltaTokens ?? 0;
  const flowVol = s.book.jlp?.flowVolTokens ?? 0;
  const flowSd = flowVol * Math.sqrt(dtYears);
  const premium = premiumLegs.reduce((sum, l) => sum + l.quantity * europeanGreeks({ kind: l.kind, spot: s.spot, strike: l.strike, years: l.expirySec / SECONDS_PER_YEAR, rate: 0, carry: 0, vol: l.impliedVol }).price, 0);
  const hedgeValue0 = hedgeLegs.reduce((sum, l) => sum + l.quantity * europeanGreeks({ kind: l.kind, spot: s.spot, strike: l.strike, years: l.expirySec / SECONDS_PER_YEAR, rate: 0, carry: 0, vol: l.impliedVol }).price, 0);

  const perPolicy = Object.fromEntries(POLICY_METRICS.map((m) => [m, new Float64Array(nPol * count)])) as Record<PolicyMetric, Float64Array>;
  const collateralModel = collateralModelOf(s, s.hedgeVol ?? vol);
  const collateral = collateralModel && (Object.fromEntries(COLLATERAL_METRICS.map((m) => [m, new Float64Array(nPol * count)])) as Record<CollateralMetric, Float64Array>);
  const referenceGross = new Float64Array(count);
  const theory = new Float64Array(count);
  const path = new Float64Array(steps + 1);
  const fillPrice = new Float64Array(steps);
  const jlpTokens = new Float64Array(steps + 1);

  const runs: PolicyRun[] = setup.policies.map((p) => ({
    input: { policy: keeperPolicy(p), limits, costs: decisionCosts, spotUsd: s.spot, exposure: null!, hedgeTokens: 0, targetNetDelta: s.targetNetDelta, nowSec: 0, lastTradeSec: null },
    hedge: collateralModel && new HedgeCollateral(collateralModel),
    q: 0,
    costs: { feesUsd: 0, impactUsd: 0, txUsd: 0 },
    hedgePnl: 0,
    borrow: 0,
    trades: 0,
    maxDev: 0,
  }));

  for (let k = 0; k < count; k++) {
    const index = firstPath + k;
    const draws = new Draws(pathSeed(s.seed, index));
    simulatePath(pathModel(s, setup.replayPricesUsd, index, setup.paths, steps), s.spot, { steps, dtYears }, draws, path);
    // Drawn after the path, in a fixed order, so every policy sees the same fills and flows.
    for (let i = 0; i < steps; i++) {
      if (latencyFraction === 0) {
        fillPrice[i] = path[i]!;
        continue;
      }
      const x0 = Math.log(path[i]!);
      fillPrice[i] = Math.exp(x0 + latencyFraction * (Math.log(path[i + 1]!) - x0) + (bridgeSd > 0 ? bridgeSd * draws.normal() : 0));
    }
    jlpTokens[0] = jlp0;
    for (let i = 1; i <= steps; i++) jlpTokens[i] = jlpTokens[i - 1]! + (flowSd > 0 ? flowSd * draws.normal() : 0);

    for (const r of runs) {
      r.q = 0;
      r.costs.feesUsd = r.costs.impactUsd = r.costs.txUsd = 0;
      r.hedgePnl = r.borrow = r.trades = r.maxDev = 0;
      r.input.lastTradeSec = null;
      r.hedge?.startPath();
    }
    let refPnl = 0;
    let gammaPnl = 0;
    let bookPnl = 0;

    for (let i = 0; i < steps; i++) {
      const spot = path[i]!;
      const next = path[i + 1]!;
      const nowSec = i * dtSec;
      const move = next - spot;
      const exposure = valueExposure({
        market: UNDERLYING,
        spotUsd: spot,
        nowSec,
        legs: hedgeLegs,
        walletTokens: s.book.staticTokens,
        jlpTokens: jlpTokens[i]!,
        offsetTokens: 0,
        hedgeRatio: s.hedgeRatio,
        jlpDeltaVarianceRate: flowVol * flowVol,
        marketVol: s.hedgeVol ?? vol,
      });
      const g = exposure.greeks;
      const target = s.targetNetDelta - g.delta;
      refPnl += target * move;
      const ret = move / spot;
      gammaPnl += 0.5 * exposure.options.gamma * spot * spot * ret * ret + exposure.options.theta * dtYears;
      bookPnl += (s.book.staticTokens + jlpTokens[i]!) * move;

      for (let p = 0; p < nPol; p++) {
        const r = runs[p]!;
        const hedge = r.hedge;
        if (hedge !== null && hedge.liquidatedAt(spot)) r.q = 0;
        // From the first step on: before the initial hedge the whole delta is "deviation" for every policy alike.
        const dev = Math.abs(r.q - target);
        if (i > 0 && dev > r.maxDev) r.maxDev = dev;
        const input = r.input;
        input.spotUsd = spot;
        input.exposure = g;
        input.hedgeTokens = r.q;
        input.nowSec = nowSec;
        const d = decide(input);
        if (d.action === "trade") {
          const fill = fillPrice[i]!;
          const feeUsd = addHedgeChangeCost(r.q, d.toTokens, fill, costs, r.costs);
          if (hedge !== null) hedge.change(d.toTokens, fill, feeUsd);
          r.hedgePnl += r.q * (fill - spot) + d.toTokens * (next - fill);
          r.q = d.toTokens;
          r.trades++;
          input.lastTradeSec = nowSec;
        } else {
          r.hedgePnl += r.q * move;
        }
        const borrow = borrowPerYear * Math.abs(r.q) * spot * dtYears;
        r.borrow += borrow;
        if (hedge !== null) {
          hedge.applyPolicy(spot);
          hedge.endStep(borrow);
        }
      }
    }

    const last = path[steps]!;
    for (const l of premiumLegs) bookPnl += l.quantity * legValueAtEnd(l, path, steps, dtSec);
    bookPnl -= premium;
    referenceGross[k] = bookPnl + refPnl;
    theory[k] = gammaPnl + hedgeValue0 - premium;
    for (let p = 0; p < nPol; p++) {
      const r = runs[p]!;
      const at = p * count + k;
      const hedge = r.hedge;
      if (hedge !== null) {
        // The last grid price is checked too: a position liquidated there is not unwound.
        if (hedge.liquidatedAt(last)) r.q = 0;
        collateral!.liquidations[at] = hedge.liquidations;
        collateral!.liquidationLoss[at] = hedge.liquidationLossUsd;
        collateral!.deposited[at] = hedge.depositedUsd;
        collateral!.withdrawn[at] = hedge.withdrawnUsd;
        collateral!.collateralTx[at] = hedge.collateralTxUsd;
        collateral!.meanCollateral[at] = hedge.collateralSumUsd / steps;
      }
      addHedgeChangeCost(r.q, 0, last, costs, r.costs);
      perPolicy.gross[at] = bookPnl + r.hedgePnl;
      perPolicy.fees[at] = r.costs.feesUsd;
      perPolicy.impact[at] = r.costs.impactUsd;
      perPolicy.tx[at] = r.costs.txUsd;
      perPolicy.borrow[at] = r.borrow;
      perPolicy.trades[at] = r.trades;
      perPolicy.maxDevTokens[at] = r.maxDev;
    }
    if (progress && ((k + 1) % 64 === 0 || k + 1 === count)) progress(k + 1);
  }
  return { firstPath, count, perPolicy, referenceGross, theory, collateral };
}

/** A leg's payoff at the first grid point at or after its expiry, or its implied-vol value at the horizon if later. */
function legValueAtEnd(l: OptionLeg, path: Float64Array, steps: number, dtSec: number): number {
  const expiryStep = Math.ceil(l.expirySec / dtSec - 1e-9);
  if (expiryStep <= steps) {
    const s = path[expiryStep]!;
    return Math.max(0, l.kind === "call" ? s - l.strike : l.strike - s);
  }
  const years = (l.expirySec - steps * dtSec) / SECONDS_PER_YEAR;
  return europeanGreeks({ kind: l.kind, spot: path[steps]!, strike: l.strike, years, rate: 0, carry: 0, vol: l.impliedVol }).price;
}
