import type { MarketSymbol } from "../../programs-client";
import type { KeeperEvent, OrderSummary, RequestStage } from "../mandate/events";
import { grouped, usd } from "../lib/number-format";

// Dollars are shared with the mandate's fill details, so they live in lib; re-exported for the terminal's callers.
export { usd };

/**
 * The terminal's words for the keeper's events: one line each, in dollars, tokens, percent and basis points, with
 * signatures and addresses cut to their ends (the JSON log keeps them whole). Pure: the event's fields in, a string out.
 */

/** Enough decimals to see a minimum trade: 0.01 SOL is $1.50, 0.0001 BTC $10. */
const TOKEN_DECIMALS: Record<MarketSymbol, number> = { SOL: 2, ETH: 3, BTC: 4 };

/** +$1.23, -$1.23, $0.00: a P&L. */
export function signedUsd(v: number): string {
  const text = usd(v);
  return text.startsWith("-") || !/[1-9]/.test(text) ? text : `+${text}`;
}

/** 7.77 SOL, or +7.77 SOL with `signed`. */
export function tokens(v: number, market: MarketSymbol, signed = false): string {
  const text = grouped(v, TOKEN_DECIMALS[market]);
  return `${signed && !text.startsWith("-") && /[1-9]/.test(text) ? "+" : ""}${text} ${market}`;
}

/** A fraction as a percentage: 0.000637 is 0.06%. */
export function percent(fraction: number, digits = 2): string {
  return `${grouped(fraction * 100, digits)}%`;
}

export function bps(v: number): string {
  return `${grouped(v, 1)} bps`;
}

/** 3MnC…Wjq: a base58 signature or address cut to its ends, enough to find it in the JSON log or an explorer. */
export function shortKey(key: string): string {
  return key.length > 10 ? `${key.slice(0, 4)}…${key.slice(-3)}` : key;
}

export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${grouped(ms / 1000, 1)} s`;
}

/** The band bounds the hedge (the perp position), not the net delta: centre ± half-width, in tokens. */
export function band(center: number, halfWidth: number, market: MarketSymbol): string {
  return `${grouped(center, TOKEN_DECIMALS[market])} ± ${tokens(halfWidth, market)}`;
}

/** "at $150.09: net delta +7.26 SOL; hedge -7.02 SOL in band -14.28 ± 6.68 SOL", and what is pending. */
export function marketState(d: Extract<KeeperEvent, { kind: "decision" }>): string {
  const pending = d.pendingTokens ? `, ${tokens(d.pendingTokens, d.market, true)} pending` : "";
  return `at ${usd(d.priceUsd)}: net delta ${tokens(d.netDelta, d.market, true)}; ${hedgeInBand(d, d.market)}${pending}`;
}

/** "hedge -7.02 SOL in band -14.28 ± 6.68 SOL" (or "outside"). */
export function hedgeInBand(d: { hedgeTokens: number; bandCenter: number; bandHalfWidth: number }, market: MarketSymbol): string {
  const inside = Math.abs(d.hedgeTokens - d.bandCenter) <= d.bandHalfWidth;
  return `hedge ${tokens(d.hedgeTokens, market, true)} ${inside ? "in" : "outside"} band ${band(d.bandCenter, d.bandHalfWidth, market)}`;
}

const STAGE: Record<RequestStage, string> = { intent: "ORDER", quote: "QUOTE", sent: "SENT", landed: "LANDED", resumed: "RESUMED", cancel: "CANCEL" };

function describeOrder(o: OrderSummary, market: MarketSymbol): string {
  const limit = `worst price ${usd(o.priceLimitUsd)}`;
  if (o.purpose === "collateral") {
    return o.kind === "increase" ? `deposit ${usd(o.collateralUsd)} collateral into the ${o.side}, ${limit}` : `withdraw ${usd(o.collateralUsd)} collateral from the ${o.side}, ${limit}`;
  }
  const posting = o.kind === "increase" && o.collateralUsd > 0 ? `, posting ${usd(o.collateralUsd)}` : "";
  return `${o.kind} ${o.side} ${usd(o.sizeUsd)} (${tokens(o.deltaTokens, market, true)})${posting}, ${limit}`;
}

type Outcome = Extract<KeeperEvent, { kind: "outcome" }>;

function describeFill(e: Outcome & { fill: NonNullable<Outcome["fill"]> }): string {
  const { fill, position } = e;
  const sizes = position ? `${position.side} ${usd(position.sizeBeforeUsd)} → ${usd(position.sizeAfterUsd)} ` : "";
  const traded = position ? Math.abs(position.sizeAfterUsd - position.sizeBeforeUsd) : 0;
  let price: string;
  if (fill.priceUsd === null) price = "price unknown (account diff)";
  else if (fill.expectedPriceUsd === null || fill.slippageBps === null) price = `at ${usd(fill.priceUsd)}`;
  else price = `at ${usd(fill.priceUsd)} (decided at ${usd(fill.expectedPriceUsd)}, slippage ${bps(fill.slippageBps)})`;
  const feeShare = traded > 0 ? `${percent(e.feeUsd / traded)}, ` : "";
  const fee = fill.source === "event" ? `fee ${usd(e.feeUsd)} (${feeShare}impact ${usd(fill.impactFeeUsd)})` : `fee ~${usd(e.feeUsd)} (estimated)`;
  return `${sizes}${price}; ${fee}, borrow ${usd(fill.borrowUsd)}; ${duration(e.latencyMs)}${fill.signature ? `; tx ${shortKey(fill.signature)}` : ""}`;
}

/** Who a warning is about: its mandate (or the keeper) and market. */
function warningSubject(e: Extract<KeeperEvent, { kind: "warning" }>): string {
  return `${e.mandate ?? "keeper"}${e.market ? ` ${e.market}` : ""}`;
}

/** An event's line as the logger's message: after the level (WARN:), so a warning does not say WARN again. */
export function logMessage(e: KeeperEvent): string {
  return e.kind === "warning" ? `${warningSubject(e)} ${e.message}` : formatEvent(e);
}

/** One human line per event: `plan` and `status` print it bare; the terminal's log through logMessage. */
export function formatEvent(e: KeeperEvent): string {
  switch (e.kind) {
    case "decision":
      return `${e.mandate} ${e.market} ${e.action.toUpperCase()} ${marketState(e)}; ${e.reason}`;
    case "veto":
      return `${e.mandate} ${e.market} VETO ${e.reasons.join("; ")}`;
    case "request": {
      let what = e.detail;
      if (e.order) what = describeOrder(e.order, e.market);
      else if (e.stage === "sent" && e.tx) what = `tx ${shortKey(e.tx.signature)}, ${grouped(e.tx.computeUnitLimit, 0)} CU at ${grouped(e.tx.microLamports, 0)} µlamports/CU (priority fee ${grouped(e.tx.priorityFeeLamports, 0)} lamports)`;
      else if (e.tx) what = `${e.detail}; tx ${shortKey(e.tx.signature)}`;
      return `${e.mandate} ${e.market} ${STAGE[e.stage]} ${what}; req ${shortKey(e.request)}`;
    }
    case "outcome": {
      const what = e.result === "filled" && e.fill ? describeFill({ ...e, fill: e.fill }) : `${e.detail}; ${duration(e.latencyMs)}`;
      return `${e.mandate} ${e.market} ${e.result.toUpperCase()} ${what}; req ${shortKey(e.request)}`;
    }
    case "liquidation":
      // The detail names the price, the transaction and the collateral lost.
      return `${e.mandate} ${e.market} LIQUIDATED ${e.side} ${usd(e.sizeUsd)}, position ${shortKey(e.position)}: ${e.detail}`;
    case "collateral":
      return (
        `${e.mandate} ${e.market} COLLATERAL ${e.side} ${e.action}${e.amountUsd ? ` ${usd(e.amountUsd)}` : ""}: leverage ${grouped(e.effectiveLeverage, 2)}x, ` +
        `liquidation ${usd(e.liquidationPriceUsd)} (${grouped(e.distancePct, 2)}% away, ${grouped(e.distanceSigmas, 1)} daily σ); ${e.reason}`
      );
    case "shortfall":
      return `${e.mandate} ${e.market} SHORTFALL ${e.message}`;
    case "warning":
      return `${warningSubject(e)} WARN ${e.message}`;
  }
}
