import type { MarketSymbol } from "../../programs-client";
import type { Order } from "../strategy/orders";

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
    }
  | { t: "sent"; id: string; signature: string; txBase64: string; lastValidBlockHeight: number }
  | { t: "landed"; id: string; slot: number }
  /** The owner cancelled its request after Jupiter's execution window passed and no keeper closed it. */
  | { t: "cancel"; id: string; signature: string; atSec: number }
  | { t: "outcome"; id: string; result: RequestResult; detail: string; atSec: number; feeUsd6: string };

/** How a request ended. Only `filled` changes the hedge; the rest count as failures for the circuit breaker. */
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
}

/** Folds a mandate's journal into the state a restarted keeper resumes from. Pure. */
export function restoreState(records: readonly JournalRecord[], mandate: string): RestoredState {
  const intents = new Map<string, OpenIntent>();
  const state: RestoredState = { open: [], lastTradeSec: new Map(), tradeTimesSec: [], feesByDayUsd6: new Map(), consecutiveFailures: 0, lastFailureSec: null };
  for (const r of records) {
    if (r.t === "intent") {
      if (r.mandate === mandate) intents.set(r.id, { intent: r, sent: null, landedSlot: null });
      continue;
    }
    const open = intents.get(r.id);
    if (!open) continue;
    if (r.t === "sent") open.sent = r;
    else if (r.t === "landed") open.landedSlot = r.slot;
    else if (r.t === "outcome") {
      intents.delete(r.id);
      applyOutcome(state, open.intent.market, r.result, r.atSec, BigInt(r.feeUsd6));
    }
  }
  state.open = [...intents.values()];
  return state;
}

export function applyOutcome(state: RestoredState, market: MarketSymbol, result: RequestResult, atSec: number, feeUsd6: bigint) {
  if (result === "dry-run") return;
  if (result === "filled") {
    state.lastTradeSec.set(market, atSec);
    state.tradeTimesSec.push(atSec);
    const day = Math.floor(atSec / 86_400);
    state.feesByDayUsd6.set(day, (state.feesByDayUsd6.get(day) ?? 0n) + feeUsd6);
    state.consecutiveFailures = 0;
  } else if (FAILURE_RESULTS.has(result)) {
    state.consecutiveFailures++;
    state.lastFailureSec = atSec;
  }
}
