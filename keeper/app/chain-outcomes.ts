import { PublicKey } from "@solana/web3.js";
import type { MarketSymbol } from "../../programs-client";
import { type FillReport, type LiquidationReport, fillFromEvents, liquidationFromEvents, slippageBps } from "../market/fill-report";
import type { PositionView } from "../market/reader";
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
}

/**
 * Positions that were open in the previous snapshot and are closed (size 0, or gone) in this one, where no request
 * of the keeper's targets them: only a liquidation (or someone else holding the key) closes a position that way.
 * Pure: `ownRequestPositions` are the position addresses of the keeper's requests in flight.
 */
export function closedBehindOurBack(
  before: ReadonlyMap<string, SeenPosition>,
  now: readonly PositionView[],
  ownRequestPositions: ReadonlySet<string>,
): SeenPosition[] {
  const openNow = new Set(now.filter((p) => p.open).map((p) => p.address.toBase58()));
  return [...before.values()].filter((p) => !openNow.has(p.address) && !ownRequestPositions.has(p.address));
}

export function seenPositions(now: readonly PositionView[]): Map<string, SeenPosition> {
  const seen = new Map<string, SeenPosition>();
  for (const p of now) {
    if (!p.open || p.market === null) continue;
    const address = p.address.toBase58();
    seen.set(address, { address, market: p.market, side: p.position.side, sizeUsd6: p.position.sizeUsd, collateralUsd6: p.position.collateralUsd });
  }
  return seen;
}

/** The liquidation event that closed `position`, or null (not found, or no history): the caller still reports the close. */
export async function readLiquidation(
  history: TransactionHistory,
  position: PublicKey,
  search: HistorySearch = OUTCOME_SEARCH,
): Promise<{ liquidation: LiquidationReport | null; error: string | null }> {
  try {
    return { liquidation: await findInHistory(history, position, (events, sig) => liquidationFromEvents(events, position, sig), search), error: null };
  } catch (e) {
    return { liquidation: null, error: `transaction history unavailable: ${(e as Error).message}` };
  }
}
