import { europeanGreeks } from "../exposure/black";
import { BookKernel } from "../exposure/book-kernel";
import { type OptionLeg, SECONDS_PER_YEAR } from "../exposure/options-book";
import type { RuleParams } from "../strategy/decision-lanes";
import { type PolicyConfig, ruleParams } from "../strategy/policy";
import { COLLATERAL_METRICS, type CollateralMetric, type CollateralModel, MAINNET_MAX_LEVERAGE_BPS } from "./hedge-collateral";
import { PathBlock } from "./path-block";
import { Draws, type PathModel, simulatePath } from "./paths";
import { pathSeed } from "../lib/random";
import { clockIntervalSteps, DEFAULT_TARGET_LEVERAGE, type Scenario, type SimPolicy, wholeSteps } from "./scenario";
import { scenarioDecisionTerms } from "./hedge-terms";

/**
 * The backtest engine: paths go through in blocks (path-block.ts) that value the book once per step for every path of
 * the block with the keeper's own kernels, then let every policy decide on that same step (common random numbers)
 * with the kernels the live decide() runs on one lane (strategy/decision-lanes.ts), charging Jupiter's costs. The
 * decision's terms come from the function that builds the live keeper's (sim/hedge-terms.ts).
 * Each path's draws depend only on (seed, path index), so any split of paths across workers or blocks gives the same
 * numbers. With `targetLeverage` or `collateral` set, each policy's hedge also carries its collateral, is liquidated
 * by Jupiter's rule and kept from it by the keeper's collateral policy (hedge-collateral.ts).
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

/** The live rule's parameters (seconds) on the grid's clock: the engine's `now` counts steps. */
function inSteps(r: RuleParams, dtSec: number): RuleParams {
  const steps = (sec: number) => wholeSteps(sec, dtSec) ?? sec / dtSec;
  return { ...r, interval: steps(r.interval), cooldown: steps(r.cooldown) };
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

/** Paths valued together, step by step: enough lanes to amortise each kernel call, few enough to stay in cache. */
const BLOCK_PATHS = 64;

/**
 * Runs paths [firstPath, firstPath + count); `progress` is called with the number of paths done so far. Paths go
 * through in blocks (path-block.ts), each path's draws made here in a fixed order.
 */
export function runChunk(setup: SimSetup, firstPath: number, count: number, progress?: (done: number) => void): ChunkResult {
  const s = setup.scenario;
  const { steps, dtYears, dtSec } = gridOf(s);
  const nPol = setup.policies.length;
  const premiumLegs = legsOf(s, (v) => v);
  const hedgeLegs = legsOf(s, (v) => s.hedgeVol ?? v);
  const latencyFraction = Math.min(1, s.costs.latencySec / dtSec);
  const vol = modelVol(s, setup.replayPricesUsd);
  // A replay has no model to bridge with: its fills interpolate between the recorded prices.
  const bridgeSd = s.model.kind === "replay" ? 0 : vol * Math.sqrt(latencyFraction * (1 - latencyFraction) * dtYears);
  const jlp0 = s.book.jlp?.deltaTokens ?? 0;
  const flowSd = (s.book.jlp?.flowVolTokens ?? 0) * Math.sqrt(dtYears);
  const premium = premiumLegs.reduce((sum, l) => sum + l.quantity * europeanGreeks({ kind: l.kind, spot: s.spot, strike: l.strike, years: l.expirySec / SECONDS_PER_YEAR, rate: 0, carry: 0, vol: l.impliedVol }).price, 0);
  const hedgeValue0 = hedgeLegs.reduce((sum, l) => sum + l.quantity * europeanGreeks({ kind: l.kind, spot: s.spot, strike: l.strike, years: l.expirySec / SECONDS_PER_YEAR, rate: 0, carry: 0, vol: l.impliedVol }).price, 0);

  // The live keeper's terms (exposure/hedge-terms.ts), from the scenario: the same for every policy but the policy.
  const terms = setup.policies.map((p) => scenarioDecisionTerms(s, keeperPolicy(p, dtSec), vol));
  const exposure = terms[0]!.exposure;
  const collateralModel = collateralModelOf(s, exposure.marketVol!);
  const width = Math.max(1, Math.min(BLOCK_PATHS, count));
  const block = new PathBlock({
    steps,
    dtSec,
    dtYears,
    lanes: width,
    book: BookKernel.compile(hedgeLegs, UNDERLYING),
    exposure,
    targetNetDelta: terms[0]!.targetNetDelta,
    decisionCosts: terms[0]!.costs,
    policies: terms.map((t) => t.policy),
    rules: terms.map((t) => inSteps(ruleParams(t.policy, t.limitsAt(s.spot)), dtSec)),
    costs: s.costs,
    borrowPerYear: (s.costs.borrowPercentPerHour / 100) * 24 * 365,
    staticTokens: s.book.staticTokens,
    jlp0,
    initialTarget: s.initialHedge === "target",
    collateral: collateralModel,
    latency: latencyFraction > 0,
    flows: flowSd > 0,
  });

  const perPolicy = Object.fromEntries(POLICY_METRICS.map((m) => [m, new Float64Array(nPol * count)])) as Record<PolicyMetric, Float64Array>;
  const collateral = collateralModel && (Object.fromEntries(COLLATERAL_METRICS.map((m) => [m, new Float64Array(nPol * count)])) as Record<CollateralMetric, Float64Array>);
  const referenceGross = new Float64Array(count);
  const theory = new Float64Array(count);
  const { prices, fills, jlpTokens, stride } = block;

  for (let start = 0; start < count; start += width) {
    const n = Math.min(width, count - start);
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
    block.run(n, s.spot);
    block.settleAll();

    for (let b = 0; b < n; b++) {
      const k = start + b;
      const path = prices.subarray(b * stride, (b + 1) * stride);
      const last = path[steps]!;
      let bookValue = block.bookPnl[b]!;
      for (const l of premiumLegs) bookValue += l.quantity * legValueAtEnd(l, path, steps, dtSec);
      bookValue -= premium;
      referenceGross[k] = bookValue + block.refPnl[b]!;
      theory[k] = block.gammaPnl[b]! + hedgeValue0 - premium;
      for (let p = 0; p < nPol; p++) {
        const cell = p * width + b;
        const at = p * count + k;
        if (block.hedges !== null) {
          const hedge = block.hedges[cell]!;
          // The last grid price is checked too: a position liquidated there is not unwound.
          if (hedge.liquidatedAt(last)) block.q[cell] = 0;
          collateral!.liquidations[at] = hedge.liquidations;
          collateral!.liquidationLoss[at] = hedge.liquidationLossUsd;
          collateral!.deposited[at] = hedge.depositedUsd;
          collateral!.withdrawn[at] = hedge.withdrawnUsd;
          collateral!.collateralTx[at] = hedge.collateralTxUsd;
          collateral!.meanCollateral[at] = hedge.collateralSumUsd / steps;
        }
        block.charge(cell, block.q[cell]!, 0, last);
        perPolicy.gross[at] = bookValue + block.hedgePnl[cell]!;
        perPolicy.fees[at] = block.fees[cell]!;
        perPolicy.impact[at] = block.impact[cell]!;
        perPolicy.tx[at] = block.tx[cell]!;
        perPolicy.borrow[at] = block.borrow[cell]!;
        perPolicy.trades[at] = block.trades[cell]!;
        perPolicy.maxDevTokens[at] = block.maxDev[cell]!;
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
