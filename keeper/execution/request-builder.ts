import type { PublicKey, TransactionInstruction } from "@solana/web3.js";
import {
  MAINNET,
  type MarketSymbol,
  createDecreasePositionMarketRequest,
  createIncreasePositionMarketRequest,
  positionPda,
  positionRequestPda,
} from "../../programs-client";
import type { Order } from "../strategy/orders";

export interface RequestAddresses {
  position: PublicKey;
  positionRequest: PublicKey;
  /** The token the request moves (collateral in, or proceeds out). */
  mint: PublicKey;
  /** The collateral custody's mint: what a swap must turn `mint` into, when they differ. */
  collateralMint: PublicKey;
}

export interface BuiltRequest extends RequestAddresses {
  instruction: TransactionInstruction;
}

/**
 * Where an order's request lives and what it moves. Positions are collateralised in the traded token (longs) or
 * USDC (shorts); a long funded in USDC keeps the underlying as collateral, and Jupiter swaps the USDC at the fill.
 */
export function requestAddresses(owner: PublicKey, market: MarketSymbol, order: Order, counter: bigint): RequestAddresses {
  const custody = MAINNET.custodies[market];
  const collateral = order.side === "short" ? MAINNET.custodies.USDC : custody;
  const position = positionPda(owner, MAINNET.pool, custody.custody, collateral.custody, order.side);
  return { position, positionRequest: positionRequestPda(position, counter, order.kind), mint: fundingMint(market, order), collateralMint: collateral.mint };
}

/** The token a request moves: what an increase posts, or what a decrease pays out. */
export function fundingMint(market: MarketSymbol, order: Order): PublicKey {
  if (order.kind === "increase" && order.collateralToken === "usdc") return MAINNET.custodies.USDC.mint;
  return (order.side === "short" ? MAINNET.custodies.USDC : MAINNET.custodies[market]).mint;
}

/** True when the request's funding must be swapped, so it needs a quote's minimum output before it is built. */
export function needsSwap(a: RequestAddresses): boolean {
  return !a.mint.equals(a.collateralMint);
}

/** The Jupiter Perps instruction for an order; `jupiterMinimumOut` is required exactly when `needsSwap`. */
export function buildRequest(
  owner: PublicKey,
  market: MarketSymbol,
  order: Order,
  counter: bigint,
  jupiterMinimumOut: bigint | null = null,
  /** The config's `execution.referral`: the only referral the signing policy lets a request name. */
  referral?: PublicKey,
): BuiltRequest {
  const custody = MAINNET.custodies[market];
  const collateral = order.side === "short" ? MAINNET.custodies.USDC : custody;
  const addresses = requestAddresses(owner, market, order, counter);
  if (needsSwap(addresses) !== (jupiterMinimumOut !== null)) {
    throw new Error(`${market} ${order.kind} ${order.side}: jupiterMinimumOut must be set exactly when the funding mint differs from the collateral mint`);
  }
  const common = { owner, pool: MAINNET.pool, custody: custody.custody, collateralCustody: collateral.custody, side: order.side, sizeUsdDelta: order.sizeUsdDelta6, priceSlippage: order.priceSlippageUsd6, jupiterMinimumOut, counter, referral };
  const r =
    order.kind === "increase"
      ? createIncreasePositionMarketRequest({ ...common, inputMint: addresses.mint, collateralTokenDelta: order.collateralTokenAmount })
      : createDecreasePositionMarketRequest({ ...common, desiredMint: addresses.mint, collateralUsdDelta: order.collateralUsdDelta6, entirePosition: order.entirePosition });
  if (!r.positionRequest.equals(addresses.positionRequest)) throw new Error(`${market}: request address derivation disagrees with the instruction builder`);
  return { ...addresses, instruction: r.instruction };
}
