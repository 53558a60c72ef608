import type { MarketSymbol } from "../../programs-client";
import type { FillReport } from "../market/fill-report";
import type { Order } from "../strategy/orders";

/** A FillReport as the journal stores it (integers as decimal strings). */
export interface FillRecord {
  source: FillReport["source"];
  signature: string | null;
  priceUsd6: string | null;
  sizeUsdDelta6: string;
  positionFeeUsd6: string;
  priceImpactFeeUsd6: string;
  borrowFeeUsd6: string;
}

export function toFillRecord(f: FillReport): FillRecord {
  return {
    source: f.source,
    signature: f.signature,
    priceUsd6: f.priceUsd6 === null ? null : f.priceUsd6.toString(),
    sizeUsdDelta6: f.sizeUsdDelta6.toString(),
    positionFeeUsd6: f.positionFeeUsd6.toString(),
    priceImpactFeeUsd6: f.priceImpactFeeUsd6.toString(),
    borrowFeeUsd6: f.borrowFeeUsd6.toString(),
  };
}

/** A signed request as the journal keeps it: enough to rebroadcast the same bytes until their blockhash expires. */
export interface SignedTx {
  signature: string;
  txBase64: string;
  lastValidBlockHeight: number;
}

/** What the journal holds, one record per step of a request's life. Amounts are decimal strings of integers. */
export type JournalRecord =
  | {
      t: "intent";
      id: string;
      mandate: string;
      market: MarketSymbol;
      counter: string;
      order: Order;
      request: string;
      position: string;
      sizeBeforeUsd6: string;
      createdSec: number;
      /** Unix ms of the intent, for latencies (absent in journals written before it was added). */
      createdMs?: number;
      estimatedFeeUsd6: string;
      /** The mark price the decision used: what slippage is measured against (absent in older journals). */
      expectedPriceUsd6?: string;
      /** The traded position's collateral before, to see a collateral move fill (absent in older journals). */
      collateralBeforeUsd6?: string;
      /** "collateral": a deposit or withdrawal with no size change; absent or "hedge": a hedge trade. */
      purpose?: "hedge" | "collateral";
      /**
       * The signed transaction, journaled with the intent in one record (one fsync) before its first broadcast, so a
       * restart rebroadcasts these bytes. Absent when nothing was sent (a refusal, a dry run), and in journals written
       * before it was added, where a "sent" record follows the intent.
       */
      tx?: SignedTx;
    }
  | ({ t: "sent"; id: string } & SignedTx)
  | { t: "landed"; id: string; slot: number }
  /** The owner cancelled its request after Jupiter's execution window passed and no keeper closed it. */
  | { t: "cancel"; id: string; signature: string; atSec: number }
  /** feeUsd6: the fill's base + impact fee (from its event when read, else the estimate); fill: what it did. */
  | { t: "outcome"; id: string; result: RequestResult; detail: string; atSec: number; feeUsd6: string; fill?: FillRecord }
  /** A position of the wallet closed by a transaction that was not its own request: a liquidation. */
  | {
      t: "liquidated";
      mandate: string;
      market: MarketSymbol;
      position: string;
      side: string;
      sizeUsd6: string;
      collateralUsd6: string;
      /** From the LiquidateFullPositionEvent; null when no such event was found. */
      priceUsd6: string | null;
      feeUsd6: string | null;
      signature: string | null;
      atSec: number;
    };

/** How a request ended. Only `filled` changes the hedge; the rest count as failures for the circuit breaker. */
/** Where a mandate appends its records: the keeper's journal (ops/journal), seen only through this, so the mandate needs nothing from ops. */
export interface RecordJournal {
  /** On disk when it returns. */
  append(record: JournalRecord): void;
  /** Written at once, on disk when it resolves: the records of one cycle share one fsync (a group commit). */
  appendDurable(record: JournalRecord): Promise<void>;
}

export type RequestResult = "filled" | "rejected" | "expired" | "dropped" | "failed" | "sim-rejected" | "dry-run";

export const FAILURE_RESULTS: ReadonlySet<RequestResult> = new Set(["rejected", "expired", "dropped", "failed", "sim-rejected"]);

export interface OpenIntent {
  intent: Extract<JournalRecord, { t: "intent" }>;
  sent: Extract<JournalRecord, { t: "sent" }> | null;
  landedSlot: number | null;
}

export interface RestoredState {
  open: OpenIntent[];
  lastTradeSec: Map<MarketSymbol, number>;
  tradeTimesSec: number[];
  /** Fees of fills per UTC day (day number = floor(sec / 86400)). */
  feesByDayUsd6: Map<number, bigint>;
  consecutiveFailures: number;
  lastFailureSec: number | null;
  /** Each market's last fill as read from the chain, with what the keeper expected of it. */
  lastFill: Map<MarketSymbol, LastFill>;
}

export interface LastFill {
  id: string;
  atSec: number;
  order: Order;
  expectedPriceUsd6: bigint | null;
  fill: FillRecord;
}

/** Folds a mandate's journal into the state a restarted keeper resumes from. Pure. */
export function restoreState(records: readonly JournalRecord[], mandate: string): RestoredState {
  const intents = new Map<string, OpenIntent>();
  const state: RestoredState = { open: [], lastTradeSec: new Map(), tradeTimesSec: [], feesByDayUsd6: new Map(), consecutiveFailures: 0, lastFailureSec: null, lastFill: new Map() };
  for (const r of records) {
    if (r.t === "liquidated") continue;
    if (r.t === "intent") {
      if (r.mandate === mandate) intents.set(r.id, { intent: r, sent: r.tx ? { t: "sent", id: r.id, ...r.tx } : null, landedSlot: null });
      continue;
    }
    const open = intents.get(r.id);
    if (!open) continue;
    if (r.t === "sent") open.sent = r;
    else if (r.t === "landed") open.landedSlot = r.slot;
    else if (r.t === "outcome") {
      intents.delete(r.id);
      applyOutcome(state, open.intent, r);
    }
  }
  state.open = [...intents.values()];
  return state;
}

export function applyOutcome(state: RestoredState, intent: OpenIntent["intent"], outcome: Extract<JournalRecord, { t: "outcome" }>) {
  const { result, atSec } = outcome;
  const market = intent.market;
  const feeUsd6 = BigInt(outcome.feeUsd6);
  if (result === "dry-run") return;
  if (outcome.fill) {
    const expected = intent.expectedPriceUsd6 === undefined ? null : BigInt(intent.expectedPriceUsd6);
    state.lastFill.set(market, { id: intent.id, atSec, order: intent.order, expectedPriceUsd6: expected, fill: outcome.fill });
  }
  if (result === "filled") {
    // A collateral move is not a trade: it neither restarts the hedge's cooldown nor counts toward trades per hour.
    if (intent.purpose !== "collateral") {
      state.lastTradeSec.set(market, atSec);
      state.tradeTimesSec.push(atSec);
    }
    const day = Math.floor(atSec / 86_400);
    state.feesByDayUsd6.set(day, (state.feesByDayUsd6.get(day) ?? 0n) + feeUsd6);
    state.consecutiveFailures = 0;
  } else if (FAILURE_RESULTS.has(result)) {
    state.consecutiveFailures++;
    state.lastFailureSec = atSec;
  }
}
