import type { BookKernel, GreekLanes } from "../exposure/book-kernel";
import { greekLanes } from "../exposure/book-kernel";
import { type ExposureTerms, strategyExposure } from "../exposure/mandate-exposure";
import { applyRule, computeBands, DecisionLanes, type RuleParams, type ScaledOptionsDeltas } from "../strategy/decision-lanes";
import type { TradeCostParams } from "../strategy/costs";
import type { PolicyConfig } from "../strategy/policy";
import { type CollateralModel, HedgeCollateral } from "./hedge-collateral";
import { addHedgeChangeCost, type ChangeCost, type SimCosts } from "./trade-costs";

/** What a block needs from the scenario, prepared once per chunk by the engine. */
export interface BlockPlan {
  steps: number;
  dtSec: number;
  dtYears: number;
  lanes: number;
  /** The book at the hedge's vols. */
  book: BookKernel;
  exposure: ExposureTerms;
  targetNetDelta: number;
  decisionCosts: TradeCostParams;
  policies: PolicyConfig[];
  rules: RuleParams[];
  costs: SimCosts;
  borrowPerYear: number;
  staticTokens: number;
  /** The JLP holding's delta when it does not move (no flows). */
  jlp0: number;
  initialTarget: boolean;
  collateral: CollateralModel | null;
  latency: boolean;
  flows: boolean;
}

/**
 * A block of paths run step by step through the decision kernels: each step values the book for every lane at once
 * (exposure/book-kernel.ts), then runs each policy's band and rule over the lanes (strategy/decision-lanes.ts, the
 * kernels the live decide() runs on one lane) and charges the trades. State lives in typed arrays indexed
 * policy × lane (a cell); nothing is allocated per step.
 *
 * A hedge's P&L, borrow and max|q − q*| are settled when it changes, not every step: from the price, the sum of prices
 * and the first unscanned step at its last change (its anchor), holding q earns q·(S_now − S_anchor), owes
 * b·|q|·dt·Σ S over the steps held, and deviates by the largest |q − q*| among the targets kept per step. A clock's
 * kernels are not run before the earliest of its lanes is due. Both are shortcuts to the same numbers.
 */
export class PathBlock {
  /** Lane-major grid prices (`steps + 1` per lane), fill prices (`steps`) and JLP deltas (`steps + 1`), filled by the engine. */
  readonly prices: Float64Array;
  readonly fills: Float64Array | null;
  readonly jlpTokens: Float64Array | null;
  readonly stride: number;
  // Per lane.
  private readonly lanes: DecisionLanes;
  private readonly greeks: GreekLanes;
  private readonly nextSpot: Float64Array;
  /** Σ of the lane's grid prices before the current step. */
  private readonly priceSum: Float64Array;
  private readonly heldTokens: Float64Array;
  readonly refPnl: Float64Array;
  readonly gammaPnl: Float64Array;
  readonly bookPnl: Float64Array;
  /** q* of every step, lane-major. */
  private readonly targets: Float64Array;
  // Per cell (policy × lane).
  readonly q: Float64Array;
  private readonly lastTrade: Float64Array;
  readonly fees: Float64Array;
  readonly impact: Float64Array;
  readonly tx: Float64Array;
  readonly hedgePnl: Float64Array;
  readonly borrow: Float64Array;
  readonly trades: Float64Array;
  readonly maxDev: Float64Array;
  private readonly anchorPrice: Float64Array;
  private readonly anchorSum: Float64Array;
  private readonly devFrom: Float64Array;
  readonly hedges: HedgeCollateral[] | null;
  /** Per policy: each one's cells as views the kernels read in place, and the step its clock is next due. */
  private readonly hedgeViews: Float64Array[];
  private readonly lastTradeViews: Float64Array[];
  private readonly clockDue: Float64Array;
  private readonly scaled: ScaledOptionsDeltas;
  private readonly totals: ChangeCost = { feesUsd: 0, impactUsd: 0, txUsd: 0, keptFeeUsd: 0 };
  private readonly borrowPerStep: number;
  private n = 0;

  constructor(private readonly plan: BlockPlan) {
    const { lanes: width, steps } = plan;
    const cells = plan.policies.length * width;
    const f = (size: number) => new Float64Array(size);
    this.stride = steps + 1;
    this.prices = f(width * this.stride);
    this.fills = plan.latency ? f(width * steps) : null;
    this.jlpTokens = plan.flows ? f(width * this.stride) : null;
    this.lanes = new DecisionLanes(width);
    this.greeks = greekLanes(width);
    this.nextSpot = f(width);
    this.priceSum = f(width);
    this.heldTokens = f(width);
    this.refPnl = f(width);
    this.gammaPnl = f(width);
    this.bookPnl = f(width);
    this.targets = f(width * steps);
    this.q = f(cells);
    this.lastTrade = f(cells);
    this.fees = f(cells);
    this.impact = f(cells);
    this.tx = f(cells);
    this.hedgePnl = f(cells);
    this.borrow = f(cells);
    this.trades = f(cells);
    this.maxDev = f(cells);
    this.anchorPrice = f(cells);
    this.anchorSum = f(cells);
    this.devFrom = f(cells);
    const collateral = plan.collateral;
    this.hedges = collateral ? Array.from({ length: cells }, () => new HedgeCollateral(collateral)) : null;
    this.hedgeViews = plan.policies.map((_, p) => this.q.subarray(p * width, (p + 1) * width));
    this.lastTradeViews = plan.policies.map((_, p) => this.lastTrade.subarray(p * width, (p + 1) * width));
    this.clockDue = f(plan.policies.length);
    this.borrowPerStep = plan.borrowPerYear * plan.dtYears;
    const ratio = plan.exposure.hedgeRatio;
    const lanes = this.lanes;
    const greeks = this.greeks;
    this.scaled = {
      deltasAt(volScale, n, out) {
        plan.book.deltas(lanes.spotUsd, greeks.lnSpot, volScale, n, out);
        for (let b = 0; b < n; b++) out[b] = ratio * out[b]!;
      },
    };
  }

  /** Runs lanes [0, n) over every step, from flat, once the engine has filled their prices (and fills and flows). */
  run(n: number, spot0: number): void {
    this.n = n;
    this.q.fill(0);
    this.lastTrade.fill(NaN);
    this.anchorPrice.fill(spot0);
    // The deviation before the first decision is the whole delta for every policy alike: it is not counted.
    this.devFrom.fill(1);
    this.clockDue.fill(-Infinity);
    for (const a of [this.fees, this.impact, this.tx, this.hedgePnl, this.borrow, this.trades, this.maxDev, this.anchorSum, this.priceSum, this.refPnl, this.gammaPnl, this.bookPnl]) a.fill(0);
    if (this.hedges) for (const h of this.hedges) h.startPath();
    for (let i = 0; i < this.plan.steps; i++) {
      this.value(i);
      for (let p = 0; p < this.plan.policies.length; p++) this.decide(p, i);
      const { priceSum, lanes } = this;
      for (let b = 0; b < n; b++) priceSum[b] = priceSum[b]! + lanes.spotUsd[b]!;
    }
  }

  /** Step i's prices, greeks and targets for every lane, and the reference and theory P&L. */
  private value(i: number): void {
    const { plan, lanes, greeks, nextSpot, heldTokens, targets, prices, stride, jlpTokens, refPnl, gammaPnl, bookPnl, n } = this;
    const spot = lanes.spotUsd;
    const steps = plan.steps;
    plan.book.at(i * plan.dtSec);
    for (let b = 0; b < n; b++) {
      spot[b] = prices[b * stride + i]!;
      nextSpot[b] = prices[b * stride + i + 1]!;
      heldTokens[b] = plan.staticTokens + (jlpTokens === null ? plan.jlp0 : jlpTokens[b * stride + i]!);
    }
    plan.book.greeks(spot, n, greeks);
    strategyExposure(greeks, heldTokens, plan.exposure, n, lanes);
    const target0 = plan.targetNetDelta;
    const dtYears = plan.dtYears;
    for (let b = 0; b < n; b++) {
      const price = spot[b]!;
      const move = nextSpot[b]! - price;
      const target = target0 - lanes.delta[b]!;
      targets[b * steps + i] = target;
      refPnl[b] = refPnl[b]! + target * move;
      const ret = move / price;
      gammaPnl[b] = gammaPnl[b]! + 0.5 * greeks.gamma[b]! * price * price * ret * ret + greeks.theta[b]! * dtYears;
      bookPnl[b] = bookPnl[b]! + heldTokens[b]! * move;
    }
    lanes.begin(n);
  }

  /** Policy p's decisions at step i, and its trades. */
  private decide(p: number, i: number): void {
    const { plan, lanes, n, q, hedges } = this;
    const base = p * plan.lanes;
    const spot = lanes.spotUsd;
    if (hedges !== null) {
      for (let b = 0; b < n; b++) {
        if (!hedges[base + b]!.liquidatedAt(spot[b]!)) continue;
        this.scanDeviation(base + b, b, i - 1);
        this.settle(base + b, spot[b]!, this.priceSum[b]!);
        q[base + b] = 0;
      }
    }
    const rule = plan.rules[p]!;
    if (i >= this.clockDue[p]!) {
      lanes.bind(this.hedgeViews[p]!, this.lastTradeViews[p]!);
      computeBands(lanes, plan.policies[p]!, plan.decisionCosts, plan.targetNetDelta, this.scaled);
      applyRule(lanes, rule, i, plan.initialTarget && i === 0);
      for (let t = 0; t < lanes.tradeCount; t++) this.trade(base, lanes.trading[t]!, i);
      if (rule.kind === "clock") {
        let due = Infinity;
        for (let b = 0; b < n; b++) {
          const last = this.lastTrade[base + b]!;
          due = Math.min(due, Number.isNaN(last) ? -Infinity : last + rule.interval);
        }
        this.clockDue[p] = due;
      }
    }
    if (hedges !== null) {
      for (let b = 0; b < n; b++) {
        hedges[base + b]!.applyPolicy(spot[b]!);
        hedges[base + b]!.endStep(this.borrowPerStep * Math.abs(q[base + b]!) * spot[b]!);
      }
    }
  }

  /** Lane b of the policy at `base` changes its hedge at step i to what the rule sized. */
  private trade(base: number, b: number, i: number): void {
    const cell = base + b;
    const held = this.q[cell]!;
    const price = this.lanes.spotUsd[b]!;
    const to = this.lanes.toTokens[b]!;
    const fill = this.fills === null ? price : this.fills[b * this.plan.steps + i]!;
    this.scanDeviation(cell, b, i);
    this.charge(cell, held, to, fill);
    if (this.hedges !== null) this.hedges[cell]!.change(to, fill, this.totals.keptFeeUsd);
    this.settle(cell, price, this.priceSum[b]!);
    // Latency: the change fills at `fill`, not at the decision's price.
    if (fill !== price) this.hedgePnl[cell] = this.hedgePnl[cell]! + held * (fill - price) + to * (price - fill);
    this.q[cell] = to;
    this.trades[cell] = this.trades[cell]! + 1;
    this.lastTrade[cell] = i;
  }

  /** The cost of moving a cell's hedge, added in the order the running totals always added it (the fee kept in `totals`). */
  charge(cell: number, from: number, to: number, priceUsd: number): void {
    const totals = this.totals;
    totals.feesUsd = this.fees[cell]!;
    totals.impactUsd = this.impact[cell]!;
    totals.txUsd = this.tx[cell]!;
    addHedgeChangeCost(from, to, priceUsd, this.plan.costs, totals);
    this.fees[cell] = totals.feesUsd;
    this.impact[cell] = totals.impactUsd;
    this.tx[cell] = totals.txUsd;
  }

  /** Books the hedge held since its anchor up to price `priceUsd` and price sum `sumUsd`, and re-anchors there. */
  settle(cell: number, priceUsd: number, sumUsd: number): void {
    const held = this.q[cell]!;
    this.hedgePnl[cell] = this.hedgePnl[cell]! + held * (priceUsd - this.anchorPrice[cell]!);
    this.borrow[cell] = this.borrow[cell]! + this.borrowPerStep * Math.abs(held) * (sumUsd - this.anchorSum[cell]!);
    this.anchorPrice[cell] = priceUsd;
    this.anchorSum[cell] = sumUsd;
  }

  /** Folds the deviations of the hedge held from devFrom through step `until` into its max|q − q*|. */
  scanDeviation(cell: number, b: number, until: number): void {
    const held = this.q[cell]!;
    const targets = this.targets;
    const from = b * this.plan.steps;
    let max = this.maxDev[cell]!;
    for (let j = this.devFrom[cell]!; j <= until; j++) {
      const dev = Math.abs(held - targets[from + j]!);
      if (dev > max) max = dev;
    }
    this.maxDev[cell] = max;
    this.devFrom[cell] = until + 1;
  }

  /** After `run`: settles every cell at the last price (its P&L, borrow and deviations), before the unwind. */
  settleAll(): void {
    const { plan, n, stride, prices } = this;
    for (let p = 0; p < plan.policies.length; p++) {
      for (let b = 0; b < n; b++) {
        const cell = p * plan.lanes + b;
        this.scanDeviation(cell, b, plan.steps - 1);
        this.settle(cell, prices[b * stride + plan.steps]!, this.priceSum[b]!);
      }
    }
  }
}
