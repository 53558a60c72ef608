/**
 * From a desired change of perp delta to the one Jupiter Perps request that starts it. Jupiter keeps a long and
 * a short as separate positions, so a change that crosses zero first closes the open side; the next decision,
 * made from the chain state after that fill, opens the other. Token amounts and USD are integers from here on.
 */

export type Side = "long" | "short";

/** One open perp position as the order builder needs it (USD and prices ×1e6). */
export interface OpenPosition {
  side: Side;
  sizeUsd6: bigint;
  collateralUsd6: bigint;
  entryPriceUsd6: bigint;
}

export interface OrderContext {
  /** Price the request is sized and slippage-bounded at (the Doves mark Jupiter fills at). */
  markPriceUsd6: bigint;
  /** Underlying token decimals (SOL 9, ETH/BTC 8). */
  decimals: number;
  long: OpenPosition | null;
  short: OpenPosition | null;
  /** Collateral = size / leverage for new exposure, in bps (3x = 30_000). */
  targetLeverageBps: bigint;
  /** Worst acceptable fill price away from the mark, in bps. */
  slippageBps: bigint;
  /** Longs post the underlying as collateral unless told to post USDC (which Jupiter swaps). */
  longCollateral: "underlying" | "usdc";
  /** USDC decimals (6). */
  usdcDecimals: number;
}

export type Order =
  | {
      kind: "increase";
      side: Side;
      sizeUsdDelta6: bigint;
      collateralUsd6: bigint;
      /** Amount of the collateral token, in its base units. */
      collateralTokenAmount: bigint;
      collateralToken: "underlying" | "usdc";
      priceSlippageUsd6: bigint;
      /** Signed token change this order makes to the hedge, for logs and pending accounting. */
      deltaTokens: number;
    }
  | {
      kind: "decrease";
      side: Side;
      sizeUsdDelta6: bigint;
      collateralUsdDelta6: bigint;
      entirePosition: boolean;
      priceSlippageUsd6: bigint;
      deltaTokens: number;
    };

const BPS = 10_000n;

/** |tokens| × price as USD×1e6, rounded to the nearest micro-dollar. The one float→integer step for sizes. */
export function usd6FromTokens(tokens: number, priceUsd6: bigint): bigint {
  return BigInt(Math.round(Math.abs(tokens) * Number(priceUsd6)));
}

function tokensOf(sizeUsd6: bigint, priceUsd6: bigint): number {
  return Number(sizeUsd6) / Number(priceUsd6);
}

/** Buying (long increase, short decrease) is bounded by a maximum price; selling by a minimum. */
function slippageLimit(markUsd6: bigint, slippageBps: bigint, buying: boolean): bigint {
  return buying ? (markUsd6 * (BPS + slippageBps)) / BPS : (markUsd6 * (BPS - slippageBps)) / BPS;
}

/** The collateral token and its amount for `collateralUsd6` posted on `side` (rounded up for the underlying). */
function collateralAmount(side: Side, collateralUsd6: bigint, ctx: OrderContext): { collateralToken: "underlying" | "usdc"; collateralTokenAmount: bigint } {
  const collateralToken = side === "long" && ctx.longCollateral === "underlying" ? "underlying" : "usdc";
  // USDC is taken at $1 here: the fill values it at its oracle, so a depeg only moves the leverage slightly.
  const collateralTokenAmount =
    collateralToken === "underlying"
      ? (collateralUsd6 * 10n ** BigInt(ctx.decimals) + ctx.markPriceUsd6 - 1n) / ctx.markPriceUsd6
      : (collateralUsd6 * 10n ** BigInt(ctx.usdcDecimals)) / 1_000_000n;
  return { collateralToken, collateralTokenAmount };
}

/**
 * A collateral move on an open position, as Jupiter takes one: an increase request with sizeUsdDelta 0 deposits,
 * a decrease request with sizeUsdDelta 0 and collateralUsdDelta withdraws (jup-ag/space-station
 * guides/8-perpetual-exchange/3-onchain-accounts.md; fees.md §5). The hedge's delta does not change.
 */
export function collateralOrderFor(action: "deposit" | "withdraw", side: Side, amountUsd6: bigint, ctx: OrderContext): Order {
  if (action === "deposit") {
    return {
      kind: "increase",
      side,
      sizeUsdDelta6: 0n,
      collateralUsd6: amountUsd6,
      ...collateralAmount(side, amountUsd6, ctx),
      priceSlippageUsd6: slippageLimit(ctx.markPriceUsd6, ctx.slippageBps, side === "long"),
      deltaTokens: 0,
    };
  }
  return {
    kind: "decrease",
    side,
    sizeUsdDelta6: 0n,
    collateralUsdDelta6: amountUsd6,
    entirePosition: false,
    priceSlippageUsd6: slippageLimit(ctx.markPriceUsd6, ctx.slippageBps, side === "short"),
    deltaTokens: 0,
  };
}

export function orderFor(changeTokens: number, ctx: OrderContext): Order | null {
  if (changeTokens === 0) return null;
  const buying = changeTokens > 0;
  const reducing = buying ? ctx.short : ctx.long;
  if (reducing && reducing.sizeUsd6 > 0n) {
    const heldTokens = tokensOf(reducing.sizeUsd6, reducing.entryPriceUsd6);
    const entire = Math.abs(changeTokens) >= heldTokens;
    // A position's delta is sizeUsd/entry, so removing n tokens removes n × entry of size.
    const sizeUsdDelta6 = entire ? reducing.sizeUsd6 : usd6FromTokens(changeTokens, reducing.entryPriceUsd6);
    if (sizeUsdDelta6 === 0n) return null;
    const collateralUsdDelta6 = entire ? 0n : (reducing.collateralUsd6 * sizeUsdDelta6) / reducing.sizeUsd6;
    return {
      kind: "decrease",
      side: reducing.side,
      sizeUsdDelta6,
      collateralUsdDelta6,
      entirePosition: entire,
      priceSlippageUsd6: slippageLimit(ctx.markPriceUsd6, ctx.slippageBps, buying),
      deltaTokens: entire ? Math.sign(changeTokens) * heldTokens : changeTokens,
    };
  }
  const side: Side = buying ? "long" : "short";
  const sizeUsdDelta6 = usd6FromTokens(changeTokens, ctx.markPriceUsd6);
  if (sizeUsdDelta6 === 0n) return null;
  const collateralUsd6 = (sizeUsdDelta6 * BPS + ctx.targetLeverageBps - 1n) / ctx.targetLeverageBps;
  return {
    kind: "increase",
    side,
    sizeUsdDelta6,
    collateralUsd6,
    ...collateralAmount(side, collateralUsd6, ctx),
    priceSlippageUsd6: slippageLimit(ctx.markPriceUsd6, ctx.slippageBps, buying),
    deltaTokens: changeTokens,
  };
}
