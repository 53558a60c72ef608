import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { KeeperEvent } from "../mandate/events";

const PNL_COMPONENTS = ["gamma", "theta", "delta", "fees", "borrow"] as const;

type DecisionEvent = Extract<KeeperEvent, { kind: "decision" }>;
type CollateralEvent = Extract<KeeperEvent, { kind: "collateral" }>;

/** What a (mandate, market)'s decisions since the last scrape add to the metrics. */
interface DecisionTally {
  last: DecisionEvent;
  actions: Map<string, number>;
  pnl: Record<(typeof PNL_COMPONENTS)[number], number>;
}

/**
 * The keeper's Prometheus metrics, all derived from its event stream (plus RPC errors from the endpoint pool).
 * Labels are mandate, market, outcome and the like: never an address, key or URL.
 */
export class KeeperMetrics {
  readonly registry = new Registry();
  /**
   * Decisions and liquidation distances arrive every cycle for every mandate and market, and prom-client validates
   * and hashes the labels on each update: they are tallied here and written into their metrics when the metrics are
   * read (each one's collect), so the decision path does no label work. Keyed by mandate and market (and side).
   */
  private readonly decisionTally = new Map<string, DecisionTally>();
  private readonly lastCollateral = new Map<string, CollateralEvent>();
  private readonly price: Gauge;
  private readonly priceAge: Gauge;
  private readonly netDelta: Gauge;
  private readonly bandHalfWidth: Gauge;
  private readonly bandCenter: Gauge;
  private readonly hedge: Gauge;
  private readonly decisions: Counter;
  private readonly vetoes: Counter;
  private readonly signingRefusals: Counter;
  private readonly requests: Counter;
  private readonly outcomes: Counter;
  private readonly fillLatency: Histogram;
  private readonly priorityFee: Counter;
  private readonly computeUnits: Histogram;
  private readonly feesPaid: Counter;
  private readonly pnl: Gauge;
  private readonly warnings: Counter;
  private readonly slippage: Histogram;
  private readonly borrowSettled: Counter;
  private readonly liquidations: Counter;
  private readonly liqDistanceSigmas: Gauge;
  private readonly liqDistancePct: Gauge;
  private readonly liqPrice: Gauge;
  private readonly effectiveLeverage: Gauge;
  private readonly collateralMoves: Counter;
  private readonly shortfalls: Counter;
  private readonly rpcErrors: Counter;
  private readonly rpcSwitches: Counter;
  readonly notifications: Counter;
  readonly lastTick: Gauge;
  readonly killSwitch: Gauge;

  constructor() {
    const r = [this.registry];
    const mm = ["mandate", "market"] as const;
    // Any of the decision metrics read writes the tallies into all of them.
    const d = { registers: r, collect: () => this.writeDecisions() };
    this.price = new Gauge({ name: "gk_price_usd", help: "Oracle price the last decision used", labelNames: mm, ...d });
    this.priceAge = new Gauge({ name: "gk_price_age_seconds", help: "Age of the freshest oracle price at the last decision", labelNames: mm, ...d });
    this.netDelta = new Gauge({ name: "gk_net_delta_tokens", help: "Net delta (exposure plus perps) in tokens", labelNames: mm, ...d });
    this.hedge = new Gauge({ name: "gk_hedge_tokens", help: "Perp hedge in tokens (+ long, - short)", labelNames: mm, ...d });
    this.bandCenter = new Gauge({ name: "gk_band_center_tokens", help: "Hedge the policy aims at", labelNames: mm, ...d });
    this.bandHalfWidth = new Gauge({ name: "gk_band_half_width_tokens", help: "No-trade band half-width", labelNames: mm, ...d });
    this.decisions = new Counter({ name: "gk_decisions_total", help: "Decisions by action", labelNames: [...mm, "action"], ...d });
    this.vetoes = new Counter({ name: "gk_vetoes_total", help: "Trades or cycles stopped by a risk check", labelNames: mm, registers: r });
    this.signingRefusals = new Counter({ name: "gk_signing_refusals_total", help: "Transactions the signing policy refused to sign, by reason code", labelNames: ["mandate", "reason"], registers: r });
    this.requests = new Counter({ name: "gk_requests_total", help: "Request lifecycle steps", labelNames: [...mm, "stage"], registers: r });
    this.outcomes = new Counter({ name: "gk_request_outcomes_total", help: "Requests by outcome (filled, rejected, expired, ...)", labelNames: [...mm, "outcome"], registers: r });
    this.fillLatency = new Histogram({
      name: "gk_fill_latency_seconds",
      help: "Intent to reconciled fill",
      labelNames: mm,
      buckets: [0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55],
      registers: r,
    });
    this.priorityFee = new Counter({ name: "gk_priority_fee_lamports_total", help: "Priority fee bid on sent transactions (CU price x CU limit)", labelNames: mm, registers: r });
    this.computeUnits = new Histogram({ name: "gk_compute_units", help: "Compute units measured for the kind of each sent transaction (simulated at start, or consumed by a landed one)", labelNames: mm, buckets: [20e3, 40e3, 60e3, 80e3, 100e3, 150e3, 200e3, 400e3], registers: r });
    this.feesPaid = new Counter({ name: "gk_trade_fees_usd_total", help: "Jupiter open/close and impact fees on fills", labelNames: mm, registers: r });
    this.pnl = new Gauge({ name: "gk_pnl_usd", help: "Cumulative P&L attribution since start: gamma, theta, delta (unhedged), fees, borrow", labelNames: [...mm, "component"], ...d });
    this.slippage = new Histogram({
      name: "gk_fill_slippage_bps",
      help: "Fill price against the price the decision used, in bps, positive when worse for the wallet",
      labelNames: mm,
      buckets: [-50, -20, -10, -5, -2, 0, 2, 5, 10, 20, 50, 100],
      registers: r,
    });
    this.borrowSettled = new Counter({ name: "gk_borrow_settled_usd_total", help: "Borrow fees settled by fills, from the program's events", labelNames: mm, registers: r });
    const ms = [...mm, "side"] as const;
    const c = { registers: r, collect: () => this.writeCollateral() };
    this.liqDistanceSigmas = new Gauge({ name: "gk_liquidation_distance_sigmas", help: "Distance from the mark to the hedge position's liquidation price, in daily standard deviations", labelNames: ms, ...c });
    this.liqDistancePct = new Gauge({ name: "gk_liquidation_distance_pct", help: "Distance from the mark to the liquidation price, % of the mark", labelNames: ms, ...c });
    this.liqPrice = new Gauge({ name: "gk_liquidation_price_usd", help: "The hedge position's liquidation price (Jupiter's rule)", labelNames: ms, ...c });
    this.effectiveLeverage = new Gauge({ name: "gk_effective_leverage", help: "Size over equity (collateral + PnL - close fee - borrow)", labelNames: ms, ...c });
    this.collateralMoves = new Counter({ name: "gk_collateral_moves_usd_total", help: "Collateral the policy decided to deposit or withdraw", labelNames: [...mm, "action"], registers: r });
    this.shortfalls = new Counter({ name: "gk_collateral_shortfalls_total", help: "Deposits the wallet could not fully fund", labelNames: mm, registers: r });
    this.liquidations = new Counter({ name: "gk_liquidations_total", help: "Hedge positions liquidated", labelNames: mm, registers: r });
    this.warnings = new Counter({ name: "gk_warnings_total", help: "Warnings logged", labelNames: ["mandate"], registers: r });
    this.rpcErrors = new Counter({ name: "gk_rpc_errors_total", help: "Failed RPC attempts by endpoint index and kind", labelNames: ["endpoint", "kind"], registers: r });
    this.rpcSwitches = new Counter({ name: "gk_rpc_failovers_total", help: "Changes of the RPC endpoint in use", labelNames: ["to"], registers: r });
    this.notifications = new Counter({ name: "gk_ws_notifications_total", help: "Account notifications received over WebSocket", registers: r });
    this.lastTick = new Gauge({ name: "gk_last_cycle_timestamp_seconds", help: "Unix time of the last completed decision cycle", registers: r });
    this.killSwitch = new Gauge({ name: "gk_kill_switch", help: "1 while the kill switch (kill file or SIGUSR1) stops new requests, else 0", registers: r });
    // The defaults are named process_* and nodejs_* already: "gk_" gives gk_process_cpu_seconds_total.
    collectDefaultMetrics({ register: this.registry, prefix: "gk_" });
  }

  /** The decisions since the last read, into their metrics: gauges to the last one, counters and P&L by the sums. */
  private writeDecisions() {
    for (const t of this.decisionTally.values()) {
      const e = t.last;
      const l = { mandate: e.mandate, market: e.market };
      this.price.set(l, e.priceUsd);
      this.priceAge.set(l, e.priceAgeSec);
      this.netDelta.set(l, e.netDelta);
      this.hedge.set(l, e.hedgeTokens);
      this.bandCenter.set(l, e.bandCenter);
      this.bandHalfWidth.set(l, e.bandHalfWidth);
      for (const [action, n] of t.actions) this.decisions.inc({ ...l, action }, n);
      // Every component is exported from the first decision on, 0 until it moves.
      for (const component of PNL_COMPONENTS) this.pnl.inc({ ...l, component }, t.pnl[component]);
    }
    this.decisionTally.clear();
  }

  private writeCollateral() {
    for (const e of this.lastCollateral.values()) {
      const l = { mandate: e.mandate, market: e.market, side: e.side };
      // An unbounded distance (a long no price liquidates) is exported as +Inf, which Prometheus accepts.
      this.liqDistanceSigmas.set(l, e.distanceSigmas);
      this.liqDistancePct.set(l, e.distancePct);
      this.liqPrice.set(l, e.liquidationPriceUsd);
      this.effectiveLeverage.set(l, e.effectiveLeverage);
    }
    this.lastCollateral.clear();
  }

  rpcError(endpointIndex: number, kind: string) {
    this.rpcErrors.inc({ endpoint: String(endpointIndex), kind });
  }

  rpcSwitch(endpointIndex: number) {
    this.rpcSwitches.inc({ to: String(endpointIndex) });
  }

  observe(e: KeeperEvent): void {
    switch (e.kind) {
      case "decision": {
        const key = `${e.mandate}\n${e.market}`;
        let t = this.decisionTally.get(key);
        if (!t) this.decisionTally.set(key, (t = { last: e, actions: new Map(), pnl: { gamma: 0, theta: 0, delta: 0, fees: 0, borrow: 0 } }));
        t.last = e;
        t.actions.set(e.action, (t.actions.get(e.action) ?? 0) + 1);
        if (e.pnl) {
          t.pnl.gamma += e.pnl.gammaUsd;
          t.pnl.theta += e.pnl.thetaUsd;
          t.pnl.delta += e.pnl.deltaUsd;
          t.pnl.borrow += e.pnl.borrowUsd;
        }
        return;
      }
      case "veto":
        this.vetoes.inc({ mandate: e.mandate, market: e.market });
        if (e.signingRefusal) this.signingRefusals.inc({ mandate: e.mandate, reason: e.signingRefusal });
        return;
      case "request": {
        const l = { mandate: e.mandate, market: e.market };
        this.requests.inc({ ...l, stage: e.stage });
        if (e.tx) {
          this.priorityFee.inc(l, e.tx.priorityFeeLamports);
          // 0 until the request's kind is measured (it was sent at execution.defaultComputeUnits).
          if (e.tx.simulatedUnits > 0) this.computeUnits.observe(l, e.tx.simulatedUnits);
        }
        return;
      }
      case "outcome": {
        const l = { mandate: e.mandate, market: e.market };
        this.outcomes.inc({ ...l, outcome: e.result });
        if (e.result === "filled") {
          this.fillLatency.observe(l, e.latencyMs / 1000);
          this.feesPaid.inc(l, e.feeUsd);
          this.pnl.inc({ ...l, component: "fees" }, -e.feeUsd);
          if (e.fill?.slippageBps != null) this.slippage.observe(l, e.fill.slippageBps);
          if (e.fill) this.borrowSettled.inc(l, e.fill.borrowUsd);
        }
        return;
      }
      case "liquidation":
        this.liquidations.inc({ mandate: e.mandate, market: e.market });
        return;
      case "collateral": {
        this.lastCollateral.set(`${e.mandate}\n${e.market}\n${e.side}`, e);
        if (e.action !== "hold") this.collateralMoves.inc({ mandate: e.mandate, market: e.market, action: e.action }, e.amountUsd);
        return;
      }
      case "shortfall":
        this.shortfalls.inc({ mandate: e.mandate, market: e.market });
        return;
      case "warning":
        this.warnings.inc({ mandate: e.mandate ?? "keeper" });
        return;
    }
  }
}
