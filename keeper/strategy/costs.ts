/**
 * Jupiter's trading cost as the band maths needs it: the proportional fee plus the linear price-impact fee
 * (impactBps = size·1e4 / tradeImpactFeeScalar, so impact cost is quadratic in size).
 */

export interface TradeCostParams {
  /** Custody increase/decrease fee, bps of size. */
  feeBps: number;
  /** custody.pricing.tradeImpactFeeScalar; 0 disables the impact fee. */
  impactFeeScalar: number;
}

/** Fraction of notional paid to trade `sizeUsd` once. */
export function oneWayCostFraction(p: TradeCostParams, sizeUsd: number): number {
  const impact = p.impactFeeScalar > 0 ? (sizeUsd * 1e6) / p.impactFeeScalar : 0;
  return p.feeBps / 1e4 + impact;
}

/** Fee in USD×1e6 the program charges on a size change: size·bps/1e4 + size²/scalar, in integers as on chain. */
export function tradeFeeUsd6(sizeUsd6: bigint, feeBps: bigint, impactFeeScalar: bigint): bigint {
  const fee = (sizeUsd6 * feeBps) / 10_000n;
  return impactFeeScalar > 0n ? fee + (sizeUsd6 * sizeUsd6) / impactFeeScalar : fee;
}
