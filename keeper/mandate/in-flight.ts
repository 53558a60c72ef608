import type { MarketSymbol } from "../../programs-client";
import type { OpenIntent } from "./records";

/** Why a request is sent: to move the hedge, or only the collateral behind it. */
export type Purpose = "hedge" | "collateral";

/** A request between intent and reconciliation. `phase` says who moves it on: the sender, or the chain. */
export interface InFlight {
  open: OpenIntent;
  /** settling: the chain shows it filled; its fill transaction's events are being read. */
  phase: "sending" | "landed" | "settling";
  /** Wall ms when it was seen landed; only a snapshot started later can show the request closed. */
  landedAtMs: number;
  /** The request's updateTime on the chain's clock, once a snapshot has shown it open: its expiry is judged from it. */
  openedChainSec: bigint | null;
  /** Wall ms of the last owner cancel sent for it: one per blockhash lifetime at most. */
  cancelSentMs: number | null;
}

/** Intents journaled before collateral moves existed carry no purpose: they were hedges. */
export function purposeOf(open: OpenIntent): Purpose {
  return open.intent.purpose ?? "hedge";
}

/**
 * The mandate's requests in flight, keyed by market and purpose. The chain holds one request per market at a time
 * (the next decision must see the last one's fill), so `busy(market)` is what a decision asks, and a new flight
 * replaces any other of its market; the key says which kind of work it is, for the lookups that follow it.
 */
export class InFlightRegistry {
  private readonly byKey = new Map<string, InFlight>();

  private static key(market: MarketSymbol, purpose: Purpose) {
    return `${market}/${purpose}`;
  }

  /** Starts following `open` from `phase`; the market is busy from here on. */
  add(open: OpenIntent, phase: InFlight["phase"]): InFlight {
    const market = open.intent.market;
    for (const purpose of ["hedge", "collateral"] as const) this.byKey.delete(InFlightRegistry.key(market, purpose));
    const flight: InFlight = { open, phase, landedAtMs: 0, openedChainSec: null, cancelSentMs: null };
    this.byKey.set(InFlightRegistry.key(market, purposeOf(open)), flight);
    return flight;
  }

  /** The flight following exactly this intent, if it is still the one in flight for its market and purpose. */
  of(open: OpenIntent): InFlight | undefined {
    const flight = this.byKey.get(InFlightRegistry.key(open.intent.market, purposeOf(open)));
    return flight?.open === open ? flight : undefined;
  }

  /** Stops following `open` (settled): a no-op when another flight has taken its key since. */
  release(open: OpenIntent): void {
    if (this.of(open)) this.byKey.delete(InFlightRegistry.key(open.intent.market, purposeOf(open)));
  }

  /** Whether a request of ours, of any purpose, is in flight on the market. */
  busy(market: MarketSymbol): boolean {
    return this.onMarket(market) !== undefined;
  }

  /** The request of ours in flight on the market (at most one: see the class comment). */
  onMarket(market: MarketSymbol): InFlight | undefined {
    return this.byKey.get(InFlightRegistry.key(market, "hedge")) ?? this.byKey.get(InFlightRegistry.key(market, "collateral"));
  }

  /** Markets with a request of ours in flight. */
  markets(): Set<MarketSymbol> {
    return new Set(this.all().map((f) => f.open.intent.market));
  }

  all(): InFlight[] {
    return [...this.byKey.values()];
  }
}
