import type { MarketSymbol } from "../../programs-client";
import { type BookGreeks, bookGreeks, type OptionLeg } from "./options-book";

/** A book's identity by content: mandates holding the same legs (in separate arrays) share their greeks. */
const bookIds = new WeakMap<readonly OptionLeg[], number>();
const idsByContent = new Map<string, number>();
const greeks = new Map<string, Readonly<BookGreeks>>();
let nextId = 0;
/** Entries for prices and seconds gone by are useless: a few cycles' worth is plenty. */
const MAX_ENTRIES = 64;

function bookId(legs: readonly OptionLeg[]): number {
  let id = bookIds.get(legs);
  if (id === undefined) {
    const content = JSON.stringify(legs);
    // Ids are never reused, so forgetting old contents (books reloaded long ago) only costs a missed share.
    if (idsByContent.size >= MAX_ENTRIES) idsByContent.clear();
    id = idsByContent.get(content) ?? nextId++;
    idsByContent.set(content, id);
    bookIds.set(legs, id);
  }
  return id;
}

/**
 * bookGreeks, computed once per (book, market, spot, second) for the whole keeper: every mandate of a cycle that
 * holds the same book decides on the same price, and Black-Scholes over its legs was a decision's largest pure cost.
 * Pure as bookGreeks is (the result is frozen, shared). A book array is fingerprinted once: its source hands out the
 * same array until it reloads.
 */
export function sharedBookGreeks(legs: readonly OptionLeg[], underlying: MarketSymbol, spotUsd: number, nowSec: number): BookGreeks {
  const key = `${bookId(legs)}|${underlying}|${spotUsd}|${nowSec}`;
  let g = greeks.get(key);
  if (g === undefined) {
    g = Object.freeze(bookGreeks(legs, underlying, spotUsd, nowSec));
    if (greeks.size >= MAX_ENTRIES) greeks.delete(greeks.keys().next().value!);
    greeks.set(key, g);
  }
  return g;
}
