import type { PublicKey, TransactionInstruction } from "@solana/web3.js";
import {
  MAINNET,
  type MarketSymbol,
  createDecreasePositionMarketRequest,
  createIncreasePositionMarketRequest,
} from "../../programs-client";
import type { Order } from "../strategy/orders";

export interface BuiltRequest {
  instruction: TransactionInstruction;
  position: PublicKey;
  positionRequest: PublicKey;
  /** The token the request moves (collateral in, or proceeds out). */
  mint: PublicKey;
}

/** The Jupiter Perps instruction for an order: shorts collateralised in USDC, longs in the underlying. */
export function buildRequest(owner: PublicKey, market: MarketSymbol, order: Order, counter: bigint): BuiltRequest {
  const custody = MAINNET.custodies[market];
  const usdc = MAINNET.custodies.USDC;
  const collateral = order.side === "short" ? usdc : custody;
  if (order.kind === "increase") {
    if (order.side === "long" && order.collateralToken === "usdc") {
      throw new Error("longs collateralised in USDC need a Jupiter swap quote (jupiterMinimumOut), which this build does not fetch; set longCollateral: underlying");
    }
    const r = createIncreasePositionMarketRequest({
      owner,
      pool: MAINNET.pool,
      custody: custody.custody,
      collateralCustody: collateral.custody,
      inputMint: collateral.mint,
      side: order.side,
      sizeUsdDelta: order.sizeUsdDelta6,
      collateralTokenDelta: order.collateralTokenAmount,
      priceSlippage: order.priceSlippageUsd6,
      jupiterMinimumOut: null,
      counter,
    });
    return { ...r, mint: collateral.mint };
  }
  const r = createDecreasePositionMarketRequest({
    owner,
    pool: MAINNET.pool,
    custody: custody.custody,
    collateralCustody: collateral.custody,
    side: order.side,
    desiredMint: collateral.mint,
    collateralUsdDelta: order.collateralUsdDelta6,
    sizeUsdDelta: order.sizeUsdDelta6,
    priceSlippage: order.priceSlippageUsd6,
    jupiterMinimumOut: null,
    entirePosition: order.entirePosition,
    counter,
  });
  return { ...r, mint: collateral.mint };
}
