import type { HistorySample } from "./history";
import { slippageBps } from "../market/fill-report";
import type { JournalRecord } from "../mandate/records";

export interface TradeRow {
  time: string;
  market: string;
  id: string;
  order: string;
  sizeUsd: number;
  deltaTokens: number;
  result: string;
  /** Base + impact fee: the program's, from the fill's event, or the estimate where feeSource says so. */
  feeUsd: number;
  /** "event" (read from the fill transaction), "estimate" (account diff only), or "" for requests that did not fill. */
  feeSource: string;
  /** The price the decision used, and the one the program filled at (NaN where unknown). */
  expectedPriceUsd: number;
  fillPriceUsd: number;
  /** Fill against expected, positive when worse for the wallet. */
  slippageBps: number;
  impactFeeUsd: number;
  borrowSettledUsd: number;
  /** A collateral move's amount: + deposited, − withdrawn (0 for hedge trades). */
  collateralMoveUsd: number;
  request: string;
}

export interface LiquidationRow {
  time: string;
  market: string;
  side: string;
  sizeUsd: number;
  collateralLostUsd: number;
  priceUsd: number;
  signature: string;
  position: string;
}

export interface MarketSummary {
  market: string;
  requests: number;
  fills: number;
  failures: number;
  feesUsd: number;
  /** Borrow accrued over the period, from the P&L attribution of the history samples. */
  borrowUsd: number;
  /** Borrow the program settled at fills, from their events. */
  borrowSettledUsd: number;
  /** Mean slippage of the fills whose price is known, in bps (NaN with none). */
  meanSlippageBps: number;
  liquidations: number;
  /** The hedge's closest approach to liquidation, daily σ, and its highest effective leverage (NaN: no data). */
  minLiquidationSigmas: number;
  maxEffectiveLeverage: number;
  collateralDepositedUsd: number;
  collateralWithdrawnUsd: number;
  gammaUsd: number;
  thetaUsd: number;
  deltaUsd: number;
  /** gamma + theta + delta + borrow - fees. */
  netUsd: number;
  coveredHours: number;
  /** Time-weighted mean |net delta| in tokens. */
  meanAbsNetDelta: number;
  outsideBandPct: number;
}

export interface MandateReport {
  mandate: string;
  sinceMs: number;
  trades: TradeRow[];
  liquidations: LiquidationRow[];
  markets: MarketSummary[];
}

/** A mandate's trades, costs, P&L attribution and hedge quality since `sinceMs`, from the journal and history. Pure. */
export function buildReport(records: readonly JournalRecord[], samples: readonly HistorySample[], mandate: string, sinceMs: number): MandateReport {
  const intents = new Map<string, Extract<JournalRecord, { t: "intent" }>>();
  const trades: TradeRow[] = [];
  const liquidations: LiquidationRow[] = [];
  for (const r of records) {
    if (r.t === "intent" && r.mandate === mandate && r.createdSec * 1000 >= sinceMs) intents.set(r.id, r);
    if (r.t === "liquidated" && r.mandate === mandate && r.atSec * 1000 >= sinceMs) {
      // One liquidation is one loss, however many records name its transaction (a restarted keeper may book it again).
      if (r.signature !== null && liquidations.some((l) => l.signature === r.signature)) continue;
      liquidations.push({
        time: new Date(r.atSec * 1000).toISOString(),
        market: r.market,
        side: r.side,
        sizeUsd: Number(r.sizeUsd6) / 1e6,
        collateralLostUsd: Number(r.collateralUsd6) / 1e6,
        priceUsd: r.priceUsd6 === null ? Number.NaN : Number(r.priceUsd6) / 1e6,
        signature: r.signature ?? "",
        position: r.position,
      });
    }
    if (r.t !== "outcome") continue;
    const i = intents.get(r.id);
    if (!i) continue;
    // A request has one outcome; a duplicated record (a rewritten or concatenated journal) must not count twice.
    intents.delete(r.id);
    const f = r.fill;
    const expected = i.expectedPriceUsd6 === undefined ? null : BigInt(i.expectedPriceUsd6);
    const fillPrice = f?.priceUsd6 == null ? null : BigInt(f.priceUsd6);
    trades.push({
      time: new Date(i.createdSec * 1000).toISOString(),
      market: i.market,
      id: i.id,
      order: i.purpose === "collateral" ? `${i.order.kind === "increase" ? "deposit" : "withdraw"} ${i.order.side} collateral` : `${i.order.kind} ${i.order.side}`,
      sizeUsd: Number(i.order.sizeUsdDelta6) / 1e6,
      deltaTokens: i.order.deltaTokens,
      result: r.result,
      feeUsd: Number(r.feeUsd6) / 1e6,
      feeSource: f ? (f.source === "event" ? "event" : "estimate") : r.result === "filled" ? "estimate" : "",
      expectedPriceUsd: expected === null ? Number.NaN : Number(expected) / 1e6,
      fillPriceUsd: fillPrice === null ? Number.NaN : Number(fillPrice) / 1e6,
      slippageBps: expected === null || fillPrice === null ? Number.NaN : slippageBps(i.order.side, i.order.kind, expected, fillPrice),
      impactFeeUsd: f ? Number(f.priceImpactFeeUsd6) / 1e6 : 0,
      borrowSettledUsd: f ? Number(f.borrowFeeUsd6) / 1e6 : 0,
      collateralMoveUsd: i.purpose !== "collateral" ? 0 : i.order.kind === "increase" ? Number(i.order.collateralUsd6) / 1e6 : -Number(i.order.collateralUsdDelta6) / 1e6,
      request: i.request,
    });
  }
  const byMarket = new Map<string, MarketSummary>();
  const summary = (market: string) => {
    let s = byMarket.get(market);
    if (!s) {
      s = { market, requests: 0, fills: 0, failures: 0, feesUsd: 0, borrowUsd: 0, borrowSettledUsd: 0, meanSlippageBps: Number.NaN, liquidations: 0, minLiquidationSigmas: Number.NaN, maxEffectiveLeverage: Number.NaN, collateralDepositedUsd: 0, collateralWithdrawnUsd: 0, gammaUsd: 0, thetaUsd: 0, deltaUsd: 0, netUsd: 0, coveredHours: 0, meanAbsNetDelta: 0, outsideBandPct: 0 };
      byMarket.set(market, s);
    }
    return s;
  };
  const slippages = new Map<string, number[]>();
  for (const t of trades) {
    const s = summary(t.market);
    s.requests++;
    if (t.result === "filled") s.fills++;
    else if (t.result !== "dry-run") s.failures++;
    s.feesUsd += t.feeUsd;
    s.borrowSettledUsd += t.borrowSettledUsd;
    if (t.result === "filled" && t.collateralMoveUsd > 0) s.collateralDepositedUsd += t.collateralMoveUsd;
    if (t.result === "filled" && t.collateralMoveUsd < 0) s.collateralWithdrawnUsd -= t.collateralMoveUsd;
    if (Number.isFinite(t.slippageBps)) slippages.set(t.market, [...(slippages.get(t.market) ?? []), t.slippageBps]);
  }
  for (const [market, bps] of slippages) summary(market).meanSlippageBps = bps.reduce((a, b) => a + b, 0) / bps.length;
  for (const l of liquidations) summary(l.market).liquidations++;
  const weights = new Map<string, { ms: number; absNet: number; outside: number }>();
  for (const h of samples) {
    if (h.mandate !== mandate || h.toMs < sinceMs) continue;
    const s = summary(h.market);
    s.borrowUsd += -h.pnl.borrowUsd;
    s.gammaUsd += h.pnl.gammaUsd;
    s.thetaUsd += h.pnl.thetaUsd;
    s.deltaUsd += h.pnl.deltaUsd;
    if (h.minLiquidationSigmas !== undefined) s.minLiquidationSigmas = Number.isNaN(s.minLiquidationSigmas) ? h.minLiquidationSigmas : Math.min(s.minLiquidationSigmas, h.minLiquidationSigmas);
    if (h.maxEffectiveLeverage !== undefined) s.maxEffectiveLeverage = Number.isNaN(s.maxEffectiveLeverage) ? h.maxEffectiveLeverage : Math.max(s.maxEffectiveLeverage, h.maxEffectiveLeverage);
    const w = weights.get(h.market) ?? { ms: 0, absNet: 0, outside: 0 };
    w.ms += h.toMs - h.fromMs;
    w.absNet += h.absNetDeltaTokenMs;
    w.outside += h.outsideBandMs;
    weights.set(h.market, w);
  }
  for (const s of byMarket.values()) {
    const w = weights.get(s.market);
    s.netUsd = s.gammaUsd + s.thetaUsd + s.deltaUsd - s.borrowUsd - s.feesUsd;
    if (w && w.ms > 0) {
      s.coveredHours = w.ms / 3_600_000;
      s.meanAbsNetDelta = w.absNet / w.ms;
      s.outsideBandPct = (100 * w.outside) / w.ms;
    }
  }
  return { mandate, sinceMs, trades, liquidations, markets: [...byMarket.values()].sort((a, b) => a.market.localeCompare(b.market)) };
}

const SUMMARY_COLUMNS: (keyof MarketSummary)[] = ["market", "requests", "fills", "failures", "liquidations", "minLiquidationSigmas", "maxEffectiveLeverage", "collateralDepositedUsd", "collateralWithdrawnUsd", "feesUsd", "meanSlippageBps", "borrowSettledUsd", "borrowUsd", "gammaUsd", "thetaUsd", "deltaUsd", "netUsd", "coveredHours", "meanAbsNetDelta", "outsideBandPct"];
const TRADE_COLUMNS: (keyof TradeRow)[] = ["time", "market", "id", "order", "sizeUsd", "deltaTokens", "result", "expectedPriceUsd", "fillPriceUsd", "slippageBps", "feeUsd", "feeSource", "impactFeeUsd", "borrowSettledUsd", "collateralMoveUsd", "request"];
const LIQUIDATION_COLUMNS: (keyof LiquidationRow)[] = ["time", "market", "side", "sizeUsd", "collateralLostUsd", "priceUsd", "signature", "position"];

function cell(v: unknown): string {
  if (typeof v === "number") return Number.isNaN(v) ? "" : Number.isInteger(v) ? String(v) : v.toFixed(6);
  return String(v);
}

function csvCell(v: unknown): string {
  const s = cell(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCsv<T>(rows: readonly T[], columns: (keyof T)[]): string {
  return `${[columns.join(","), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(","))].join("\n")}\n`;
}

export const summaryCsv = (r: MandateReport) => toCsv(r.markets, SUMMARY_COLUMNS);
export const tradesCsv = (r: MandateReport) => toCsv(r.trades, TRADE_COLUMNS);
export const liquidationsCsv = (r: MandateReport) => toCsv(r.liquidations, LIQUIDATION_COLUMNS);

function table<T>(rows: readonly T[], columns: (keyof T)[]): string[] {
  const text = [columns.map(String), ...rows.map((r) => columns.map((c) => cell(r[c])))];
  const widths = columns.map((_, i) => Math.max(...text.map((row) => row[i]!.length)));
  return text.map((row) => row.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd());
}

/** The report as terminal lines: per-market summary, then the trades. */
export function formatReport(r: MandateReport): string[] {
  return [
    `mandate ${r.mandate} since ${new Date(r.sinceMs).toISOString()}`,
    "",
    ...(r.markets.length ? table(r.markets, SUMMARY_COLUMNS) : ["no history in this period"]),
    "",
    `${r.trades.length} requests`,
    ...(r.trades.length ? table(r.trades, TRADE_COLUMNS) : []),
    ...(r.liquidations.length ? ["", `${r.liquidations.length} liquidations`, ...table(r.liquidations, LIQUIDATION_COLUMNS)] : []),
  ];
}
