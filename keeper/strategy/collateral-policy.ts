import { type LiquidationCustody, type LiquidationPosition, distanceToLiquidation, effectiveLeverage, equityUsd6, liquidationThreshold } from "../risk/liquidation";

/**
 * Keeping a hedge's collateral where a liquidation is unlikely, and not more there than the target leverage needs.
 * A hedge liquidated in the move that hurt the book leaves the book unhedged and the collateral gone, so the distance
 * to liquidation is measured in daily standard deviations of the market and held above a floor by depositing; above
 * a ceiling, the excess is withdrawn. Both move the equity to one target, so a deposit is not followed by a
 * withdrawal (and back) as the price wanders between floor and ceiling. Pure: the live keeper and the simulator
 * call the same function.
 */

export interface CollateralPolicyConfig {
  /** Deposit when the distance to liquidation falls below this many daily standard deviations. */
  floorSigmas: number;
  /** Withdraw when it rises above this many. Infinity: never withdraw. */
  ceilingSigmas: number;
  /** Size over equity the policy aims at after a move (the mandate's targetLeverage), e.g. 3. */
  targetLeverage: number;
  /** Smallest deposit or withdrawal worth a transaction, USD×1e6. */
  minChangeUsd6: bigint;
}

export interface CollateralInput {
  position: LiquidationPosition;
  custody: LiquidationCustody;
  borrowFeeUsd6: bigint;
  markUsd6: bigint;
  /** The market's annualised volatility (0.8 = 80 %) the distance is measured in. */
  annualVol: number;
}

export interface CollateralView {
  /** Size over equity (PnL, close fee, borrow counted): the leverage the liquidation rule sees. */
  effectiveLeverage: number;
  liquidationPriceUsd6: bigint;
  distancePct: number;
  distanceSigmas: number;
}

export type CollateralDecision =
  | { action: "hold"; view: CollateralView; reason: string }
  | { action: "deposit" | "withdraw"; view: CollateralView; amountUsd6: bigint; reason: string };

export function collateralView(x: CollateralInput): CollateralView {
  const d = distanceToLiquidation(x.position, x.custody, x.borrowFeeUsd6, x.markUsd6, x.annualVol);
  return {
    effectiveLeverage: effectiveLeverage(x.position, x.custody, x.borrowFeeUsd6, x.markUsd6),
    liquidationPriceUsd6: d.liquidationPriceUsd6,
    distancePct: 100 * d.fraction,
    distanceSigmas: d.dailySd,
  };
}

/**
 * The equity (collateral + PnL − close fee − borrow) the policy moves to: the target leverage's, or more where the
 * market is so volatile that the target leverage would sit closer to liquidation than halfway between floor and
 * ceiling. Equity moves by size·(P − mark)/entry, and the distance is measured in log price (risk/liquidation.ts),
 * so k daily σ away needs equity = maintenance + size·mark·(e^{kσ} − 1)/entry for a short, (1 − e^{−kσ}) for a long.
 */
export function targetEquityUsd6(x: CollateralInput, cfg: CollateralPolicyConfig): bigint {
  const { sizeUsd, price: entryUsd6 } = x.position;
  const byLeverage = BigInt(Math.ceil(Number(sizeUsd) / cfg.targetLeverage));
  // Halfway between floor and ceiling, but never more than twice the floor: a far ceiling (or none) means "withdraw
  // rarely", not "park collateral far beyond what the floor asks".
  const targetSigmas = Math.min((cfg.floorSigmas + cfg.ceilingSigmas) / 2, 2 * cfg.floorSigmas);
  const sigmaDay = x.annualVol / Math.sqrt(365);
  const { maintenanceMarginUsd6 } = liquidationThreshold(x.position, x.custody, x.borrowFeeUsd6);
  const move = x.position.side === "short" ? Math.expm1(targetSigmas * sigmaDay) : -Math.expm1(-targetSigmas * sigmaDay);
  // The position's value at the mark bounds what a distance can ask for: equity beyond it (a short's move beyond
  // +100 %) buys nothing a desk would pay for, and keeps the figure finite for any configured vol.
  const valueUsd6 = (Number(sizeUsd) * Number(x.markUsd6)) / Number(entryUsd6);
  const byDistance = maintenanceMarginUsd6 + BigInt(Math.ceil(Math.min(valueUsd6 * move, valueUsd6)));
  return byLeverage > byDistance ? byLeverage : byDistance;
}

export function decideCollateral(x: CollateralInput, cfg: CollateralPolicyConfig): CollateralDecision {
  const view = collateralView(x);
  const sigmas = view.distanceSigmas.toFixed(2);
  if (view.distanceSigmas >= cfg.floorSigmas && view.distanceSigmas <= cfg.ceilingSigmas) {
    return { action: "hold", view, reason: `${sigmas} daily σ from liquidation, within [${cfg.floorSigmas}, ${cfg.ceilingSigmas}]` };
  }
  const change = targetEquityUsd6(x, cfg) - equityUsd6(x.position, x.custody, x.borrowFeeUsd6, x.markUsd6);
  const below = view.distanceSigmas < cfg.floorSigmas;
  if ((below && change <= 0n) || (!below && change >= 0n)) {
    return { action: "hold", view, reason: `${sigmas} daily σ from liquidation, but the target leverage ${cfg.targetLeverage}x already sets the equity` };
  }
  const amountUsd6 = change < 0n ? -change : change;
  if (amountUsd6 < cfg.minChangeUsd6) {
    return { action: "hold", view, reason: `${sigmas} daily σ from liquidation; the change of $${(Number(amountUsd6) / 1e6).toFixed(2)} is below the minimum` };
  }
  return below
    ? { action: "deposit", view, amountUsd6, reason: `${sigmas} daily σ from liquidation, below the floor of ${cfg.floorSigmas}: deposit` }
    : { action: "withdraw", view, amountUsd6, reason: `${sigmas} daily σ from liquidation, above the ceiling of ${cfg.ceilingSigmas}: withdraw` };
}
