import type { MarketSymbol } from "../../programs-client";
import type { KeeperEvent } from "../mandate/events";
import { ZERO_STEP, addSteps, type PnlStep } from "../exposure/pnl-attribution";
import { hedgeInBand, marketState, signedUsd, tokens, usd } from "./terminal-format";

/**
 * What this run did per mandate and market, summed from the event stream alone: the latest decision's state,
 * the P&L its `pnl` steps attribute, the fees its fills paid. It feeds the heartbeat while the keeper holds and
 * the exit summary.
 */

type Decision = Extract<KeeperEvent, { kind: "decision" }>;

export interface MarketTally {
  mandate: string;
  market: MarketSymbol;
  last: Decision | null;
  pnl: PnlStep;
  feesUsd: number;
  requests: number;
  fills: number;
  /** Wall time of the market's last line at info (or heartbeat); null before its first. */
  lastShownMs: number | null;
}

export type SessionTally = Map<string, MarketTally>;

/** Adds one event; returns its market's tally, or undefined for an event of no market. */
export function tallyEvent(tally: SessionTally, e: KeeperEvent): MarketTally | undefined {
  if (e.kind === "warning" && (e.mandate === undefined || e.market === undefined)) return undefined;
  const mandate = e.mandate!;
  const market = e.market!;
  const key = `${mandate}/${market}`;
  let t = tally.get(key);
  if (!t) tally.set(key, (t = { mandate, market, last: null, pnl: ZERO_STEP, feesUsd: 0, requests: 0, fills: 0, lastShownMs: null }));
  if (e.kind === "decision") {
    t.last = e;
    if (e.pnl) t.pnl = addSteps(t.pnl, e.pnl);
  }
  if (e.kind === "request" && e.stage === "intent") t.requests++;
  if (e.kind === "outcome") {
    t.feesUsd += e.feeUsd;
    if (e.result === "filled") t.fills++;
  }
  return t;
}

/**
 * A heartbeat is due on a hold when the market has printed nothing for `heartbeatSec` of wall time, or nothing
 * at all yet (so a restart inside the band shows its state at once). 0 turns heartbeats off.
 */
export function heartbeatDue(t: MarketTally, e: KeeperEvent, nowMs: number, heartbeatSec: number): boolean {
  if (heartbeatSec <= 0 || e.kind !== "decision" || e.action !== "hold") return false;
  return t.lastShownMs === null || nowMs - t.lastShownMs >= heartbeatSec * 1000;
}

/** The P&L of the run, by cause: fees paid count against it. */
export function pnlTotals(t: MarketTally) {
  const { gammaUsd, thetaUsd, deltaUsd, borrowUsd } = t.pnl;
  const feesUsd = -t.feesUsd;
  return { gammaUsd, thetaUsd, deltaUsd, feesUsd, borrowUsd, totalUsd: gammaUsd + thetaUsd + deltaUsd + feesUsd + borrowUsd };
}

function pnlText(t: MarketTally): string {
  const p = pnlTotals(t);
  return `P&L ${signedUsd(p.totalUsd)} (gamma ${signedUsd(p.gammaUsd)}, theta ${signedUsd(p.thetaUsd)}, delta ${signedUsd(p.deltaUsd)}, fees ${signedUsd(p.feesUsd)}, borrow ${signedUsd(p.borrowUsd)})`;
}

/** The fields of a heartbeat or summary line, for the JSON log. */
export function tallyFields(t: MarketTally) {
  const d = t.last;
  return {
    mandate: t.mandate,
    market: t.market,
    ...(d ? { priceUsd: d.priceUsd, netDelta: d.netDelta, hedgeTokens: d.hedgeTokens, hedgeUsd: d.hedgeTokens * d.priceUsd, bandCenter: d.bandCenter, bandHalfWidth: d.bandHalfWidth } : {}),
    requests: t.requests,
    fills: t.fills,
    feesUsd: t.feesUsd,
    pnl: pnlTotals(t),
  };
}

export function heartbeatLine(t: MarketTally): string {
  return `${t.mandate} ${t.market} HOLDING ${t.last ? `${marketState(t.last)}; ` : ""}${pnlText(t)}`;
}

/** The exit summary of one market: where the hedge was left, what it cost and what it earned. */
export function summaryLine(t: MarketTally): string {
  const d = t.last;
  const state = d ? `net delta ${tokens(d.netDelta, d.market, true)}; ${hedgeInBand(d, d.market)}, worth ${usd(Math.abs(d.hedgeTokens * d.priceUsd))} at ${usd(d.priceUsd)}` : "no decision made";
  return `${t.mandate} ${t.market} FINAL ${state}; ${t.fills} of ${t.requests} requests filled, fees ${usd(t.feesUsd)}; ${pnlText(t)}`;
}
