import { PublicKey } from "@solana/web3.js";
import type { MarketSymbol, Position } from "../../programs-client";
import { type FillReport, type LiquidationReport, fillFromEvents, liquidationFromEvents, slippageBps } from "../market/fill-report";
import { type HistorySearch, type TransactionHistory, findInHistory } from "../market/transaction-history";
import type { FillSummary } from "./events";
import type { OpenIntent } from "./records";

/** How far back and how long to look for a fill's or a liquidation's transaction. */
export const OUTCOME_SEARCH: HistorySearch = { limit: 10, attempts: 3, retryMs: 400 };

/**
 * What a filled request did: the program's event in the fill transaction when it can be had, else what the account
 * diff shows (the size change, the fee as estimated at the intent, no price). The reason for a fallback is returned
 * for the log: an RPC without transaction history, or a fill transaction the node has not indexed.
 */
export async function readFill(
  history: TransactionHistory,
  open: OpenIntent,
  sizeChangeUsd6: bigint,
  search: HistorySearch = OUTCOME_SEARCH,
): Promise<{ fill: FillReport; fallbackReason: string | null; historyAvailable: boolean }> {
  const request = new PublicKey(open.intent.request);
  const skip = new Set(open.sent ? [open.sent.signature] : []);
  let fallbackReason: string;
  let historyAvailable = true;
  try {
    const fill = await findInHistory(history, request, (events, sig) => fillFromEvents(events, request, sig), { ...search, skip });
    if (fill) return { fill, fallbackReason: null, historyAvailable };
    fallbackReason = `no fill event for request ${open.intent.request} in its last ${search.limit} transactions`;
  } catch (e) {
    historyAvailable = false;
    fallbackReason = `transaction history unavailable: ${(e as Error).message}`;
  }
  const fill: FillReport = {
    source: "account",
    signature: null,
    priceUsd6: null,
    sizeUsdDelta6: sizeChangeUsd6 < 0n ? -sizeChangeUsd6 : sizeChangeUsd6,
    positionFeeUsd6: BigInt(open.intent.estimatedFeeUsd6),
    priceImpactFeeUsd6: 0n,
    borrowFeeUsd6: 0n,
  };
  return { fill, fallbackReason, historyAvailable };
}

export function summariseFill(open: OpenIntent, fill: FillReport): FillSummary {
  const expected = open.intent.expectedPriceUsd6 === undefined ? null : BigInt(open.intent.expectedPriceUsd6);
  const { side, kind } = open.intent.order;
  return {
    source: fill.source,
    signature: fill.signature,
    priceUsd: fill.priceUsd6 === null ? null : Number(fill.priceUsd6) / 1e6,
    expectedPriceUsd: expected === null ? null : Number(expected) / 1e6,
    slippageBps: expected === null || fill.priceUsd6 === null ? null : slippageBps(side, kind, expected, fill.priceUsd6),
    impactFeeUsd: Number(fill.priceImpactFeeUsd6) / 1e6,
    borrowUsd: Number(fill.borrowFeeUsd6) / 1e6,
  };
}

/** An open position of the wallet as last seen, to tell a liquidation from the keeper's own close. */
export interface SeenPosition {
  address: string;
  market: MarketSymbol;
  side: string;
  sizeUsd6: bigint;
  collateralUsd6: bigint;
  /** Jupiter stamps a position's opening; a new value at the same address is a new life of the account. */
  openTime: bigint;
}

export function seenPosition(address: string, market: MarketSymbol, p: Pick<Position, "side" | "sizeUsd" | "collateralUsd" | "openTime">): SeenPosition {
  return { address, market, side: p.side, sizeUsd6: p.sizeUsd, collateralUsd6: p.collateralUsd, openTime: p.openTime };
}

/**
 * Which of the positions seen open were closed since, judged only on each one read by address (`now`): size 0, or
 * reopened (a new openTime) in between. An address that did not read is a bad read, never a close; a position a
 * request of the keeper's is closing (`closing`) is the keeper's own close. Pure.
 */
export function closedBehindOurBack(
  before: ReadonlyMap<string, SeenPosition>,
  now: ReadonlyMap<string, Pick<Position, "sizeUsd" | "openTime"> | null>,
  closing: ReadonlySet<string>,
): SeenPosition[] {
  return [...before.values()].filter((p) => {
    const read = now.get(p.address);
    if (!read || closing.has(p.address)) return false;
    return read.sizeUsd === 0n || read.openTime !== p.openTime;
  });
}

/**
 * The liquidation event that closed this life of the position (its openTime, or failing that its size: an older
 * liquidation of the same address is not it), or null (not found, or no history): the caller still reports the close.
 */
export async function readLiquidation(
  history: TransactionHistory,
  seen: SeenPosition,
  search: HistorySearch = OUTCOME_SEARCH,
): Promise<{ liquidation: LiquidationReport | null; error: string | null }> {
  const position = new PublicKey(seen.address);
  const thisLife = (l: LiquidationReport | null) => (l && (l.positionOpenTime === seen.openTime || l.sizeUsd6 === seen.sizeUsd6) ? l : null);
  try {
    return { liquidation: await findInHistory(history, position, (events, sig) => thisLife(liquidationFromEvents(events, position, sig)), search), error: null };
  } catch (e) {
    return { liquidation: null, error: `transaction history unavailable: ${(e as Error).message}` };
  }
}
