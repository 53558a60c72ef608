import type { MarketSymbol } from "../../programs-client";
import type { OptionKind } from "./black";
import { BookKernel, greekLanes, SECONDS_PER_YEAR } from "./book-kernel";

/** One option position of the book being hedged. */
export interface OptionLeg {
  underlying: MarketSymbol;
  kind: OptionKind;
  strike: number;
  /** Expiry, unix seconds. */
  expirySec: number;
  /** Contracts of one underlying token each: + long, - short. */
  quantity: number;
  impliedVol: number;
}

/** Book greeks for one underlying, in tokens. */
export interface BookGreeks {
  delta: number;
  gamma: number;
  theta: number;
  vega: number;
  /** |Γ|-weighted years to expiry and implied vol: what a single-option band formula needs. */
  years: number;
  vol: number;
  legs: number;
}

export { SECONDS_PER_YEAR };

/**
 * Compiled kernels per legs array and underlying. A legs array is treated as immutable: a reload hands out a new
 * array (app/mandate-book.ts), which compiles afresh. An array that grew or shrank in place is recompiled; a leg edited
 * in place is not seen, so nothing may edit one.
 */
const kernels = new WeakMap<readonly OptionLeg[], { legs: number; byMarket: Map<string, BookKernel> }>();

function kernelFor(legs: readonly OptionLeg[], underlying: MarketSymbol): BookKernel {
  let compiled = kernels.get(legs);
  if (compiled === undefined || compiled.legs !== legs.length) kernels.set(legs, (compiled = { legs: legs.length, byMarket: new Map() }));
  let k = compiled.byMarket.get(underlying);
  if (k === undefined) compiled.byMarket.set(underlying, (k = BookKernel.compile(legs, underlying)));
  return k;
}

/** One lane: the live keeper values its book with the simulator's kernel (book-kernel.ts), on a batch of one. */
const one = { spot: new Float64Array(1), lnSpot: new Float64Array(1), scale: new Float64Array(1), delta: new Float64Array(1), greeks: greekLanes(1) };

/**
 * Greeks of the live legs on one underlying, valued as Black-76 on the oracle price with r = 0: a Jupiter perp
 * marks to the oracle and has no funding, so the hedge instrument carries nothing. Expired legs are skipped.
 */
export function bookGreeks(legs: readonly OptionLeg[], underlying: MarketSymbol, spotUsd: number, nowSec: number): BookGreeks {
  const k = kernelFor(legs, underlying).at(nowSec);
  one.spot[0] = spotUsd;
  const g = one.greeks;
  k.greeks(one.spot, 1, g);
  return { delta: g.delta[0]!, gamma: g.gamma[0]!, theta: g.theta[0]!, vega: g.vega[0]!, years: g.years[0]!, vol: g.vol[0]!, legs: k.liveLegCount };
}

/** Delta alone of the live legs on one underlying with every vol scaled (Zakamouline's band centre). */
export function bookDelta(legs: readonly OptionLeg[], underlying: MarketSymbol, spotUsd: number, nowSec: number, volScale: number): number {
  const k = kernelFor(legs, underlying).at(nowSec);
  one.spot[0] = spotUsd;
  one.lnSpot[0] = Math.log(spotUsd);
  one.scale[0] = volScale;
  k.deltas(one.spot, one.lnSpot, one.scale, 1, one.delta);
  return one.delta[0]!;
}

/** A leg's identity for "warned once": the same leg reloaded from a file is not reported again. */
export function legKey(leg: OptionLeg): string {
  return `${leg.underlying}/${leg.kind}/${leg.strike}/${leg.expirySec}/${leg.quantity}`;
}

/** Legs at or past expiry, which every greek above skips: the keeper hedges them as zero delta. */
export function expiredLegs(legs: readonly OptionLeg[], nowSec: number): OptionLeg[] {
  return legs.filter((leg) => leg.expirySec <= nowSec);
}

/** Expired legs not in `warned` (keys from legKey): each leg's expiry is reported once, not every cycle. */
export function newlyExpiredLegs(legs: readonly OptionLeg[], nowSec: number, warned: ReadonlySet<string>): OptionLeg[] {
  return expiredLegs(legs, nowSec).filter((leg) => !warned.has(legKey(leg)));
}

/** The warning for expired legs: which legs, since when, and what to do (an expired book hedges nothing). */
export function expiredLegsMessage(legs: readonly OptionLeg[]): string {
  const list = legs.map((l) => `${l.underlying} ${l.kind} ${l.strike} x${l.quantity} expired ${new Date(l.expirySec * 1000).toISOString()}`).join("; ");
  return `${legs.length} option leg${legs.length === 1 ? " has" : "s have"} expired and count${legs.length === 1 ? "s" : ""} as zero delta, so the keeper no longer hedges ${legs.length === 1 ? "it" : "them"}: ${list}; fix: remove or roll ${legs.length === 1 ? "it" : "them"} in the config or the options book`;
}
