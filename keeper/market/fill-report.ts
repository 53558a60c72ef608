import type { PublicKey } from "@solana/web3.js";
import type { PerpsEvent } from "../../programs-client";

/**
 * What a fill actually did, read from the program's own event (IncreasePositionEvent / DecreasePositionEvent) in
 * the fill transaction. USD amounts are USD x 1e6 as the event carries them. Pure.
 */
export interface FillReport {
  /** "event": every field below is the program's; "account": only the size change is known, from the diff. */
  source: "event" | "account";
  /** The fill transaction, when found. */
  signature: string | null;
  /** The price the program filled at; null when only the account diff was seen. */
  priceUsd6: bigint | null;
  sizeUsdDelta6: bigint;
  /** Base + impact fee (the event's positionFeeUsd): what the daily fee budget counts. */
  positionFeeUsd6: bigint;
  /** The impact part of positionFeeUsd6. */
  priceImpactFeeUsd6: bigint;
  /** Borrow accrued since the position's last change and settled by this fill (the event's fundingFeeUsd). */
  borrowFeeUsd6: bigint;
}

/** What was liquidated, from a LiquidateFullPositionEvent. */
export interface LiquidationReport {
  signature: string | null;
  priceUsd6: bigint;
  sizeUsd6: bigint;
  /** The position's collateral before the liquidation: all of it goes to the pool. */
  collateralUsd6: bigint;
  /** Liquidation, close and borrow fees the event reports. */
  feeUsd6: bigint;
  liquidationFeeUsd6: bigint;
  /** When the liquidated position was opened: tells this life of a position address from an earlier one. */
  positionOpenTime: bigint;
}

const asBig = (v: unknown): bigint => (typeof v === "bigint" ? v : BigInt(v as number));
const keyOf = (v: unknown): string => (v as PublicKey).toBase58();

/** The fill of `request` among a transaction's events, or null if that transaction did not fill it. */
export function fillFromEvents(events: readonly PerpsEvent[], request: PublicKey, signature: string | null): FillReport | null {
  const target = request.toBase58();
  const e = events.find(
    (x) => (x.name === "IncreasePositionEvent" || x.name === "DecreasePositionEvent") && keyOf(x.data.positionRequestKey) === target,
  );
  if (!e) return null;
  return {
    source: "event",
    signature,
    priceUsd6: asBig(e.data.price),
    sizeUsdDelta6: asBig(e.data.sizeUsdDelta),
    positionFeeUsd6: asBig(e.data.positionFeeUsd),
    priceImpactFeeUsd6: asBig(e.data.priceImpactFeeUsd),
    borrowFeeUsd6: asBig(e.data.fundingFeeUsd),
  };
}

/** The liquidation of `position` among a transaction's events, or null. */
export function liquidationFromEvents(events: readonly PerpsEvent[], position: PublicKey, signature: string | null): LiquidationReport | null {
  const target = position.toBase58();
  const e = events.find((x) => x.name === "LiquidateFullPositionEvent" && keyOf(x.data.positionKey) === target);
  if (!e) return null;
  return {
    signature,
    priceUsd6: asBig(e.data.price),
    sizeUsd6: asBig(e.data.positionSizeUsd),
    collateralUsd6: asBig(e.data.originalPositionCollateralUsd),
    feeUsd6: asBig(e.data.feeUsd),
    liquidationFeeUsd6: asBig(e.data.liquidationFeeUsd),
    positionOpenTime: asBig(e.data.positionOpenTime),
  };
}

/**
 * Slippage of a fill against the price the keeper expected when it decided, in bps, positive when the fill was
 * worse for the wallet: a buy (increase long, decrease short) filled above, a sell below.
 */
export function slippageBps(side: "long" | "short", kind: "increase" | "decrease", expectedUsd6: bigint, fillUsd6: bigint): number {
  if (expectedUsd6 <= 0n) return 0;
  const buys = (side === "long") === (kind === "increase");
  const worse = buys ? fillUsd6 - expectedUsd6 : expectedUsd6 - fillUsd6;
  return (Number(worse) * 10_000) / Number(expectedUsd6);
}
