import type { Custody, Position } from "../../programs-client";
import { BPS_POWER, unrealisedPnlUsd6 } from "../market/position-math";
import { linearImpactBps } from "../strategy/costs";

/**
 * Jupiter Perps liquidation, pure and in integers (USD×1e6), for guards and collateral policies.
 *
 * The rule (../shared/reference/jupiter-perps-fees.md §4), from public code that agrees line for line:
 * - JF: julianfssen/jupiter-perps-anchor-idl-parsing @5cd0daa16bbcd2d69b0bb74a566fe8313ed465e4,
 *   src/examples/get-liquidation-price.ts (linked from Jupiter's station docs);
 * - SW: sonarwatch/portfolio @1a2b9ac4, packages/plugins/src/plugins/jupiter/exchange/helpersPerps.ts getLiquidationPrice.
 *
 *   closeFee    = floor(size·(decreasePositionBps + ceil(size·1e4/tradeImpactFeeScalar))/1e4)   no imbalance surcharge
 *   maintenance = floor(size·1e4/maxLeverage)        maxLeverage in bps: 5,000,000 = 500×, so 0.2 % of size
 *   maxLoss     = maintenance + closeFee + borrowFee
 *   diff        = floor(|maxLoss − collateral|·entry/size)
 *   long : maxLoss > collateral ? entry + diff : entry − diff
 *   short: maxLoss > collateral ? entry − diff : entry + diff
 *
 * That is the price where collateral ± PnL − closeFee − borrowFee = maintenance. A long is liquidated when the
 * oracle falls to its price, a short when it rises to it (jup-ag/space-station @428c8504 guides/8-perpetual-exchange,
 * docs.jup.ag liquidation page). The branch matters when the fees already exceed the collateral's margin: the
 * docs' `entry ∓ |collateral − fees − size/maxLev|·entry/size` then puts a long's price below entry, where the
 * position is already under water; the code puts it above entry (liquidatable now). The code's branch is used.
 *
 * Settled choices:
 * - The close fee rounds down, as JF and SW's liquidation code do (their fee code rounds the same product up; the
 *   difference is one micro-dollar of fee, far below a price tick).
 * - The borrow fee is an input: pass `accruedBorrowUsd6(position, cumulativeInterestRateAt(collateralCustody, now))`
 *   (keeper/market/position-math.ts), the counter brought to now as SW does, since the program settles the
 *   custody's rate before it checks a position. JF reads the stored counter, which lags by the hours since the
 *   custody's last update and so places the price too far away.
 * - Not public [?]: whether the program compares with < or ≤, and whether its close fee includes the imbalance
 *   surcharge. `isLiquidatable` uses <, the liquidation price is where equity equals the maintenance margin.
 */

/** The market custody's fields that set the liquidation price (`position.custody`, not the collateral custody). */
export type LiquidationCustody = Pick<Custody, "decreasePositionBps"> & { pricing: Pick<Custody["pricing"], "tradeImpactFeeScalar" | "maxLeverage"> };

/** An open position: side long or short, sizeUsd > 0; `price` is the entry price. All USD×1e6. */
export type LiquidationPosition = Pick<Position, "side" | "sizeUsd" | "collateralUsd" | "price">;

/** What the position must keep covering, USD×1e6. */
export interface LiquidationThreshold {
  /** What closing the whole position would cost: base decrease fee plus linear impact on the full size. */
  closeFeeUsd6: bigint;
  /** Accrued, unsettled borrow, as passed in. */
  borrowFeeUsd6: bigint;
  /** size/maxLeverage: the collateral that must remain after PnL and fees. */
  maintenanceMarginUsd6: bigint;
  /** maintenance + close fee + borrow: the loss of collateral at which the position is liquidated. */
  maxLossUsd6: bigint;
}

function openSide(p: LiquidationPosition): "long" | "short" {
  if (p.sizeUsd <= 0n || (p.side !== "long" && p.side !== "short")) {
    throw new RangeError(`liquidation needs an open position; got side ${p.side}, sizeUsd ${p.sizeUsd} (USD×1e6): skip closed positions`);
  }
  if (p.price <= 0n) throw new RangeError(`liquidation needs the position's entry price; got ${p.price} (USD×1e6)`);
  return p.side;
}

export function liquidationThreshold(p: LiquidationPosition, custody: LiquidationCustody, borrowFeeUsd6: bigint): LiquidationThreshold {
  openSide(p);
  if (custody.pricing.maxLeverage <= 0n) throw new RangeError(`custody maxLeverage ${custody.pricing.maxLeverage} bps: the custody did not decode or is not a perp market`);
  const closeFeeUsd6 = (p.sizeUsd * (custody.decreasePositionBps + linearImpactBps(p.sizeUsd, custody.pricing.tradeImpactFeeScalar))) / BPS_POWER;
  const maintenanceMarginUsd6 = (p.sizeUsd * BPS_POWER) / custody.pricing.maxLeverage;
  return { closeFeeUsd6, borrowFeeUsd6, maintenanceMarginUsd6, maxLossUsd6: maintenanceMarginUsd6 + closeFeeUsd6 + borrowFeeUsd6 };
}

/**
 * The oracle price at which the position is liquidated, USD×1e6 (JF/SW's formula, sign branches included). For a
 * long it can be ≤ 0: collateral beyond size plus fees, and no price liquidates it. For a short ≤ 0 means every
 * price does.
 */
export function liquidationPriceUsd6(p: LiquidationPosition, custody: LiquidationCustody, borrowFeeUsd6: bigint): bigint {
  const side = openSide(p);
  const { maxLossUsd6 } = liquidationThreshold(p, custody, borrowFeeUsd6);
  // Fees beyond the collateral's margin: under water at entry, so the price lies on the profitable side of entry.
  const underwater = maxLossUsd6 > p.collateralUsd;
  const diff = ((underwater ? maxLossUsd6 - p.collateralUsd : p.collateralUsd - maxLossUsd6) * p.price) / p.sizeUsd;
  if (side === "long") return underwater ? p.price + diff : p.price - diff;
  return underwater ? p.price - diff : p.price + diff;
}

/** Collateral + PnL at `markUsd6` − close fee − borrow: what the liquidation rule compares with the maintenance margin. */
export function equityUsd6(p: LiquidationPosition, custody: LiquidationCustody, borrowFeeUsd6: bigint, markUsd6: bigint): bigint {
  const t = liquidationThreshold(p, custody, borrowFeeUsd6);
  return p.collateralUsd + unrealisedPnlUsd6(p, markUsd6) - t.closeFeeUsd6 - t.borrowFeeUsd6;
}

/** True when equity at `markUsd6` is below the maintenance margin (size/maxLeverage). */
export function isLiquidatable(p: LiquidationPosition, custody: LiquidationCustody, borrowFeeUsd6: bigint, markUsd6: bigint): boolean {
  return equityUsd6(p, custody, borrowFeeUsd6, markUsd6) < liquidationThreshold(p, custody, borrowFeeUsd6).maintenanceMarginUsd6;
}

/**
 * Size over equity at `markUsd6` (PnL, close fee and borrow counted), as a multiple (5 = 5×): the leverage the
 * liquidation rule sees. The position is liquidatable exactly when it exceeds maxLeverage/1e4 (500× on mainnet).
 * Infinity when equity is ≤ 0. Jupiter's UI leverage, size/collateral, is `leverageBps` in position-math.
 */
export function effectiveLeverage(p: LiquidationPosition, custody: LiquidationCustody, borrowFeeUsd6: bigint, markUsd6: bigint): number {
  const equity = equityUsd6(p, custody, borrowFeeUsd6, markUsd6);
  return equity > 0n ? Number(p.sizeUsd) / Number(equity) : Infinity;
}

export interface LiquidationDistance {
  liquidationPriceUsd6: bigint;
  /**
   * The adverse move to liquidation as a fraction of the mark: (mark − liq)/mark for a long, (liq − mark)/mark for a
   * short. ≤ 0: liquidatable at this mark. A long that no price liquidates has a fraction above 1.
   */
  fraction: number;
  /**
   * The same move as a log-price distance in daily standard deviations, σ_day = annualVol/√365 (the oracle trades
   * every day): ln(mark/liq) for a long, ln(liq/mark) for a short, over σ_day. Infinity when no price liquidates a
   * long; −Infinity when every price liquidates a short.
   */
  dailySd: number;
}

const DAYS_PER_YEAR = 365;

/** How far the mark is from liquidation, in % of the mark and in daily standard deviations at `annualVol` (0.8 = 80 %). */
export function distanceToLiquidation(p: LiquidationPosition, custody: LiquidationCustody, borrowFeeUsd6: bigint, markUsd6: bigint, annualVol: number): LiquidationDistance {
  if (markUsd6 <= 0n) throw new RangeError(`distance to liquidation needs a positive mark price; got ${markUsd6} (USD×1e6)`);
  if (!(annualVol > 0) || !Number.isFinite(annualVol)) throw new RangeError(`distance to liquidation needs a positive annual vol (0.8 = 80%); got ${annualVol}`);
  const side = openSide(p);
  const liq = liquidationPriceUsd6(p, custody, borrowFeeUsd6);
  const mark = Number(markUsd6);
  const fraction = side === "long" ? (mark - Number(liq)) / mark : (Number(liq) - mark) / mark;
  const dailyVol = annualVol / Math.sqrt(DAYS_PER_YEAR);
  let logDistance: number;
  if (liq <= 0n) logDistance = side === "long" ? Infinity : -Infinity;
  else logDistance = side === "long" ? Math.log(mark / Number(liq)) : Math.log(Number(liq) / mark);
  return { liquidationPriceUsd6: liq, fraction, dailySd: logDistance / dailyVol };
}
