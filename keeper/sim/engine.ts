import { europeanGreeks } from "../exposure/black";
import { BookKernel, greekLanes } from "../exposure/book-kernel";
import { strategyExposure } from "../exposure/mandate-exposure";
import { type OptionLeg, SECONDS_PER_YEAR } from "../exposure/options-book";
import { applyRule, computeBands, DecisionLanes, Outcome, type RuleParams, type ScaledOptionsDeltas } from "../strategy/decision-lanes";
import type { PolicyConfig } from "../strategy/policy";
import { COLLATERAL_METRICS, type CollateralMetric, type CollateralModel, HedgeCollateral, MAINNET_MAX_LEVERAGE_BPS } from "./hedge-collateral";
import { Draws, type PathModel, simulatePath } from "./paths";
import { pathSeed } from "../lib/random";
import { clockIntervalSteps, DEFAULT_TARGET_LEVERAGE, type Scenario, type SimPolicy } from "./scenario";
import { scenarioDecisionTerms } from "./hedge-terms";
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

function keeperPolicy(p: SimPolicy, dtSec: number): PolicyConfig {
  switch (p.kind) {
    case "clock":
      return { kind: "clock", intervalSec: clockIntervalSteps(p, dtSec) * dtSec };
    case "fixed":
      return { kind: "fixed", thresholdTokens: p.thresholdTokens };
    case "whalley-wilmott":
    case "zakamouline":
      return { kind: p.kind, riskAversion: p.riskAversion };
  }
}

/** Seconds as grid steps: whole when they are one within rounding (600 s on a 300 s grid is 2, not 2.0000000000000004). */
function stepsOf(sec: number, dtSec: number): number {
  const steps = sec / dtSec;
  const whole = Math.round(steps);
  return Math.abs(steps - whole) <= 1e-9 * Math.max(1, steps) ? whole : steps;
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

// Module-local: a transpiled import can be a getter, and this is read for every lane.
const TRADE = Outcome.trade;

/** Paths valued together, step by step: enough lanes to amortise each kernel call, few enough to stay in cache. */
const BLOCK_PATHS = 64;

/**
 * Runs paths [firstPath, firstPath + count); `progress` is called with the number of paths done so far.
 *
 * Paths go through in blocks of BLOCK_PATHS lanes. At each step the book's greeks are computed once for the block
 * (exposure/book-kernel.ts), then each policy's band and rule run over the block's lanes (strategy/decision-lanes.ts,
 * the kernels the live decide() runs on one lane), and the trades are charged. State lives in typed arrays indexed
 * policy × lane; nothing is allocated per step.
 */
export function runChunk(setup: SimSetup, firstPath: number, count: number, progress?: (done: number) => void): ChunkResult {
  const s = setup.scenario;
  const { steps, dtYears, dtSec } = gridOf(s);
  const nPol = setup.policies.length;
  const premiumLegs = legsOf(s, (v) => v);
  const hedgeLegs = legsOf(s, (v) => s.hedgeVol ?? v);
  const costs: SimCosts = s.costs;
  const borrowPerYear = (s.costs.borrowPercentPerHour / 100) * 24 * 365;
  const latencyFraction = Math.min(1, s.costs.latencySec / dtSec);
  const vol = modelVol(s, setup.replayPricesUsd);
  // A replay has no model to bridge with: its fills interpolate between the recorded prices.
  const bridgeSd = s.model.kind === "replay" ? 0 : vol * Math.sqrt(latencyFraction * (1 - latencyFraction) * dtYears);
  const jlp0 = s.book.jlp?.deltaTokens ?? 0;
  const flowVol = s.book.jlp?.flowVolTokens ?? 0;
  const flowSd = flowVol * Math.sqrt(dtYears);
  const staticTokens = s.book.staticTokens;
  const initialTarget = s.initialHedge === "target";
  const premium = premiumLegs.reduce((sum, l) => sum + l.quantity * europeanGreeks({ kind: l.kind, spot: s.spot, strike: l.strike, years: l.expirySec / SECONDS_PER_YEAR, rate: 0, carry: 0, vol: l.impliedVol }).price, 0);
  const hedgeValue0 = hedgeLegs.reduce((sum, l) => sum + l.quantity * europeanGreeks({ kind: l.kind, spot: s.spot, strike: l.strike, years: l.expirySec / SECONDS_PER_YEAR, rate: 0, carry: 0, vol: l.impliedVol }).price, 0);

  // The live keeper's terms (exposure/hedge-terms.ts), from the scenario: the same for every policy but the policy.
  const terms = setup.policies.map((p) => scenarioDecisionTerms(s, keeperPolicy(p, dtSec), vol));
  const exposureTerms = terms[0]!.exposure;
  const ratio = exposureTerms.hedgeRatio;
  const target0 = terms[0]!.targetNetDelta;
  const decisionCosts = terms[0]!.costs;
  const rules: RuleParams[] = terms.map((t, p) => {
    const limits = t.limitsAt(s.spot);
    const policy = setup.policies[p]!;
    return {
      kind: t.policy.kind,
      interval: policy.kind === "clock" ? clockIntervalSteps(policy, dtSec) : 0,
      cooldown: stepsOf(limits.cooldownSec, dtSec),
      minTradeTokens: limits.minTradeTokens,
      maxTradeTokens: limits.maxTradeTokens,
    };
  });

  const perPolicy = Object.fromEntries(POLICY_METRICS.map((m) => [m, new Float64Array(nPol * count)])) as Record<PolicyMetric, Float64Array>;
  const collateralModel = collateralModelOf(s, exposureTerms.marketVol!);
  const collateral = collateralModel && (Object.fromEntries(COLLATERAL_METRICS.map((m) => [m, new Float64Array(nPol * count)])) as Record<CollateralMetric, Float64Array>);
  const referenceGross = new Float64Array(count);
  const theory = new Float64Array(count);

  const lanesPerBlock = Math.max(1, Math.min(BLOCK_PATHS, count));
  const stride = steps + 1;
  const prices = new Float64Array(lanesPerBlock * stride);
  const fills = latencyFraction > 0 ? new Float64Array(lanesPerBlock * steps) : null;
  const jlpTokens = flowSd > 0 ? new Float64Array(lanesPerBlock * stride) : null;
  const book = BookKernel.compile(hedgeLegs, UNDERLYING);
  const greeks = greekLanes(lanesPerBlock);
  const lanes = new DecisionLanes(lanesPerBlock);
  const scaled: ScaledOptionsDeltas = {
    deltasAt(volScale, n, out) {
      book.deltas(lanes.spotUsd, volScale, n, out);
      for (let b = 0; b < n; b++) out[b] = ratio * out[b]!;
    },
  };
  const spot = lanes.spotUsd;
  const nextSpot = new Float64Array(lanesPerBlock);
  /** Σ of the lane's grid prices before the current step: a held hedge's borrow over any span is a difference of two. */
  const priceSum = new Float64Array(lanesPerBlock);
  const heldTokens = new Float64Array(lanesPerBlock);
  const targetHedge = new Float64Array(lanesPerBlock);
  const refPnl = new Float64Array(lanesPerBlock);
  const gammaPnl = new Float64Array(lanesPerBlock);
  const bookPnl = new Float64Array(lanesPerBlock);
  const cells = nPol * lanesPerBlock;
  const q = new Float64Array(cells);
  const lastTrade = new Float64Array(cells);
  const fees = new Float64Array(cells);
  const impact = new Float64Array(cells);
  const tx = new Float64Array(cells);
  const hedgePnl = new Float64Array(cells);
  const borrow = new Float64Array(cells);
  const trades = new Float64Array(cells);
  const maxDev = new Float64Array(cells);
  // A hedge's P&L and borrow are settled when it changes, not every step: from the price and the price sum at its last
  // change (its anchor), holding q earns q·(S_now − S_anchor) and owes b·|q|·dt·Σ S over the steps held.
  const anchorPrice = new Float64Array(cells);
  const anchorSum = new Float64Array(cells);
  const hedgeViews = terms.map((_, p) => q.subarray(p * lanesPerBlock, (p + 1) * lanesPerBlock));
  const lastTradeViews = terms.map((_, p) => lastTrade.subarray(p * lanesPerBlock, (p + 1) * lanesPerBlock));
  const hedges = collateralModel ? Array.from({ length: cells }, () => new HedgeCollateral(collateralModel)) : null;
  const borrowPerStep = borrowPerYear * dtYears;
  // One cell's running totals, loaded and stored around each charge so the sums add in the order they always did.
  const totals: CostTotals = { feesUsd: 0, impactUsd: 0, txUsd: 0 };
  const charge = (cell: number, from: number, to: number, priceUsd: number): number => {
    totals.feesUsd = fees[cell]!;
    totals.impactUsd = impact[cell]!;
    totals.txUsd = tx[cell]!;
    const feeUsd = addHedgeChangeCost(from, to, priceUsd, costs, totals);
    fees[cell] = totals.feesUsd;
    impact[cell] = totals.impactUsd;
    tx[cell] = totals.txUsd;
    return feeUsd;
  };
  /** Books the hedge held since its anchor up to price `priceUsd` and price sum `sumUsd`, and re-anchors there. */
  const settle = (cell: number, priceUsd: number, sumUsd: number) => {
    const held = q[cell]!;
    hedgePnl[cell] = hedgePnl[cell]! + held * (priceUsd - anchorPrice[cell]!);
    borrow[cell] = borrow[cell]! + borrowPerStep * Math.abs(held) * (sumUsd - anchorSum[cell]!);
    anchorPrice[cell] = priceUsd;
    anchorSum[cell] = sumUsd;
  };

  for (let start = 0; start < count; start += lanesPerBlock) {
    const n = Math.min(lanesPerBlock, count - start);
    for (let b = 0; b < n; b++) {
      const index = firstPath + start + b;
      const draws = new Draws(pathSeed(s.seed, index));
      const path = prices.subarray(b * stride, (b + 1) * stride);
      simulatePath(pathModel(s, setup.replayPricesUsd, index, setup.paths, steps), s.spot, { steps, dtYears }, draws, path);
      // Drawn after the path, in a fixed order, so every policy sees the same fills and flows.
      if (fills !== null) {
        for (let i = 0; i < steps; i++) {
          const x0 = Math.log(path[i]!);
          fills[b * steps + i] = Math.exp(x0 + latencyFraction * (Math.log(path[i + 1]!) - x0) + (bridgeSd > 0 ? bridgeSd * draws.normal() : 0));
        }
      }
      if (jlpTokens !== null) {
        jlpTokens[b * stride] = jlp0;
        for (let i = 1; i <= steps; i++) jlpTokens[b * stride + i] = jlpTokens[b * stride + i - 1]! + flowSd * draws.normal();
      }
    }
    q.fill(0);
    lastTrade.fill(NaN);
    anchorPrice.fill(s.spot);
    for (const a of [fees, impact, tx, hedgePnl, borrow, trades, maxDev, anchorSum, priceSum, refPnl, gammaPnl, bookPnl]) a.fill(0);
    if (hedges) for (const h of hedges) h.startPath();

    for (let i = 0; i < steps; i++) {
      book.at(i * dtSec);
      for (let b = 0; b < n; b++) {
        spot[b] = prices[b * stride + i]!;
        nextSpot[b] = prices[b * stride + i + 1]!;
      }
      book.greeks(spot, n, greeks);
      for (let b = 0; b < n; b++) heldTokens[b] = staticTokens + (jlpTokens === null ? jlp0 : jlpTokens[b * stride + i]!);
      strategyExposure(greeks, heldTokens, exposureTerms, n, lanes);
      for (let b = 0; b < n; b++) {
        const price = spot[b]!;
        const move = nextSpot[b]! - price;
        const target = target0 - lanes.delta[b]!;
        targetHedge[b] = target;
        refPnl[b] = refPnl[b]! + target * move;
        const ret = move / price;
        gammaPnl[b] = gammaPnl[b]! + 0.5 * greeks.gamma[b]! * price * price * ret * ret + greeks.theta[b]! * dtYears;
        bookPnl[b] = bookPnl[b]! + heldTokens[b]! * move;
      }
      lanes.begin(n);
      const initial = initialTarget && i === 0;

      for (let p = 0; p < nPol; p++) {
        const base = p * lanesPerBlock;
        if (hedges !== null) {
          for (let b = 0; b < n; b++) {
            if (!hedges[base + b]!.liquidatedAt(spot[b]!)) continue;
            settle(base + b, spot[b]!, priceSum[b]!);
            q[base + b] = 0;
          }
        }
        lanes.bind(hedgeViews[p]!, lastTradeViews[p]!);
        computeBands(lanes, terms[p]!.policy, decisionCosts, target0, scaled);
        applyRule(lanes, rules[p]!, i, initial);
        const outcome = lanes.outcome;
        for (let b = 0; b < n; b++) {
          const cell = base + b;
          const held = q[cell]!;
          // From the first step on: before the initial hedge the whole delta is "deviation" for every policy alike.
          const dev = Math.abs(held - targetHedge[b]!);
          if (i > 0 && dev > maxDev[cell]!) maxDev[cell] = dev;
          if (outcome[b] !== TRADE) continue;
          const price = spot[b]!;
          const to = lanes.toTokens[b]!;
          const fill = fills === null ? price : fills[b * steps + i]!;
          const feeUsd = charge(cell, held, to, fill);
          if (hedges !== null) hedges[cell]!.change(to, fill, feeUsd);
          settle(cell, price, priceSum[b]!);
          // Latency: the change fills at `fill`, not at the decision's price.
          if (fill !== price) hedgePnl[cell] = hedgePnl[cell]! + held * (fill - price) + to * (price - fill);
          q[cell] = to;
          trades[cell] = trades[cell]! + 1;
          lastTrade[cell] = i;
        }
        if (hedges !== null) {
          for (let b = 0; b < n; b++) {
            hedges[base + b]!.applyPolicy(spot[b]!);
            hedges[base + b]!.endStep(borrowPerStep * Math.abs(q[base + b]!) * spot[b]!);
          }
        }
      }
      for (let b = 0; b < n; b++) priceSum[b] = priceSum[b]! + spot[b]!;
    }

    for (let b = 0; b < n; b++) {
      const k = start + b;
      const path = prices.subarray(b * stride, (b + 1) * stride);
      const last = path[steps]!;
      let bookValue = bookPnl[b]!;
      for (const l of premiumLegs) bookValue += l.quantity * legValueAtEnd(l, path, steps, dtSec);
      bookValue -= premium;
      referenceGross[k] = bookValue + refPnl[b]!;
      theory[k] = gammaPnl[b]! + hedgeValue0 - premium;
      for (let p = 0; p < nPol; p++) {
        const cell = p * lanesPerBlock + b;
        const at = p * count + k;
        settle(cell, last, priceSum[b]!);
        if (hedges !== null) {
          const hedge = hedges[cell]!;
          // The last grid price is checked too: a position liquidated there is not unwound.
          if (hedge.liquidatedAt(last)) q[cell] = 0;
          collateral!.liquidations[at] = hedge.liquidations;
          collateral!.liquidationLoss[at] = hedge.liquidationLossUsd;
          collateral!.deposited[at] = hedge.depositedUsd;
          collateral!.withdrawn[at] = hedge.withdrawnUsd;
          collateral!.collateralTx[at] = hedge.collateralTxUsd;
          collateral!.meanCollateral[at] = hedge.collateralSumUsd / steps;
        }
        charge(cell, q[cell]!, 0, last);
        perPolicy.gross[at] = bookValue + hedgePnl[cell]!;
        perPolicy.fees[at] = fees[cell]!;
        perPolicy.impact[at] = impact[cell]!;
        perPolicy.tx[at] = tx[cell]!;
        perPolicy.borrow[at] = borrow[cell]!;
        perPolicy.trades[at] = trades[cell]!;
        perPolicy.maxDevTokens[at] = maxDev[cell]!;
      }
    }
    if (progress) progress(start + n);
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
