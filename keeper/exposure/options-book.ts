import type { MarketSymbol } from "../../programs-client";
import { europeanDelta, europeanGreeks, type OptionKind } from "./black";

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

export const SECONDS_PER_YEAR = 365 * 24 * 3600;

/**
 * Greeks of the live legs on one underlying, valued as Black-76 on the oracle price with r = 0: a Jupiter perp
 * marks to the oracle and has no funding, so the hedge instrument carries nothing. Expired legs are skipped.
 */
export function bookGreeks(legs: readonly OptionLeg[], underlying: MarketSymbol, spotUsd: number, nowSec: number, volScale = 1): BookGreeks {
  const out: BookGreeks = { delta: 0, gamma: 0, theta: 0, vega: 0, years: 0, vol: 0, legs: 0 };
  let weight = 0;
  for (const leg of legs) {
    if (leg.underlying !== underlying || leg.expirySec <= nowSec) continue;
    const years = (leg.expirySec - nowSec) / SECONDS_PER_YEAR;
    const g = europeanGreeks({ kind: leg.kind, spot: spotUsd, strike: leg.strike, years, rate: 0, carry: 0, vol: leg.impliedVol * volScale });
    out.delta += leg.quantity * g.delta;
    out.gamma += leg.quantity * g.gamma;
    out.theta += leg.quantity * g.theta;
    out.vega += leg.quantity * g.vega;
    const w = Math.abs(leg.quantity * g.gamma);
    out.years += w * years;
    out.vol += w * leg.impliedVol;
    weight += w;
    out.legs++;
  }
  if (weight > 0) {
    out.years /= weight;
    out.vol /= weight;
  }
  return out;
}

/** Delta alone of the live legs on one underlying with every vol scaled (Zakamouline's band centre). */
export function bookDelta(legs: readonly OptionLeg[], underlying: MarketSymbol, spotUsd: number, nowSec: number, volScale: number): number {
  let delta = 0;
  for (const leg of legs) {
    if (leg.underlying !== underlying || leg.expirySec <= nowSec) continue;
    const years = (leg.expirySec - nowSec) / SECONDS_PER_YEAR;
    delta += leg.quantity * europeanDelta({ kind: leg.kind, spot: spotUsd, strike: leg.strike, years, rate: 0, carry: 0, vol: leg.impliedVol * volScale });
  }
  return delta;
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
