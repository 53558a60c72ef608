import { positionFee } from "../strategy/costs";

/** Jupiter's costs of changing a perp hedge, as the simulator charges them. */
export interface SimCosts {
  increaseBps: number;
  decreaseBps: number;
  /** custody.pricing.tradeImpactFeeScalar; 0 = none. */
  impactFeeScalar: number;
  /** Base plus priority fee per transaction, USD. */
  txCostUsd: number;
}

/** Running cost totals of one policy on one path, USD. */
export interface CostTotals {
  feesUsd: number;
  impactUsd: number;
  txUsd: number;
}

/**
 * One request's fee, from the keeper's own integer fee function (the one the live keeper estimates with), so the
 * backtest pays the stepped, rounded-up fee mainnet charges: `feesUsd` gets the base part, `impactUsd` the linear
 * impact part. The imbalance surcharge is left out: it needs other traders' flow in the same minute, which a path
 * does not have, and a hedge trade alone reaches it only above the custody's threshold ($1.5M for SOL).
 */
function chargeLeg(sizeTokens: number, priceUsd: number, bps: number, c: SimCosts, into: CostTotals): number {
  if (sizeTokens <= 0) return 0;
  const sizeUsd6 = BigInt(Math.round(sizeTokens * priceUsd * 1e6));
  const fee = positionFee(sizeUsd6, BigInt(bps), BigInt(c.impactFeeScalar));
  const baseUsd = Number(fee.positionFeeUsd6 - fee.priceImpactFeeUsd6) / 1e6;
  const impactUsd = Number(fee.priceImpactFeeUsd6) / 1e6;
  into.feesUsd += baseUsd;
  into.impactUsd += impactUsd;
  into.txUsd += c.txCostUsd;
  return baseUsd + impactUsd;
}

/**
 * Adds the cost of moving the hedge from `fromTokens` to `toTokens` at `priceUsd`. Jupiter keeps longs and shorts
 * as separate positions, so growing |q| on one side pays the increase fee, shrinking it the decrease fee, and a
 * change that crosses zero closes one side and opens the other: two requests, two fees, two transactions.
 * Returns the fee (base + impact, USD) of the request on the position that stays open, which Jupiter takes from
 * that position's collateral or payout (the collateral model needs it); 0 when the change only closes.
 */
export function addHedgeChangeCost(fromTokens: number, toTokens: number, priceUsd: number, c: SimCosts, into: CostTotals): number {
  if (fromTokens === toTokens) return 0;
  if (fromTokens === 0 || toTokens === 0 || Math.sign(fromTokens) === Math.sign(toTokens)) {
    const grow = Math.abs(toTokens) - Math.abs(fromTokens);
    if (grow > 0) return chargeLeg(grow, priceUsd, c.increaseBps, c, into);
    const fee = chargeLeg(-grow, priceUsd, c.decreaseBps, c, into);
    return toTokens === 0 ? 0 : fee;
  }
  chargeLeg(Math.abs(fromTokens), priceUsd, c.decreaseBps, c, into);
  return chargeLeg(Math.abs(toTokens), priceUsd, c.increaseBps, c, into);
}
