import type { Custody } from "../../programs-client";
import { BPS_POWER, divCeil } from "../market/position-math";

/**
 * Jupiter Perps' position fee (open/close base fee, linear price impact, imbalance surcharge with its cap), as
 * public code computes it, in integers (USD×1e6), plus the float cost fraction the band policies use.
 *
 * Sources, cited below by short name (all in ../shared/reference/jupiter-perps-fees.md §1-§2):
 * - JF: julianfssen/jupiter-perps-anchor-idl-parsing @5cd0daa16bbcd2d69b0bb74a566fe8313ed465e4,
 *   src/examples/price-impact-fee.ts (getLinearPriceImpactFeeBps, calculateDeltaImbalance,
 *   getAdditivePriceImpactFeeBps), linked from Jupiter's station docs.
 * - SW: sonarwatch/portfolio @1a2b9ac4, packages/plugins/src/plugins/jupiter/exchange/helpersPerps.ts (getImpactFeeBps).
 * - EV: a mainnet DecreasePositionEvent, tx 3MnCnWjL…, rpcpool/yellowstone-vixen @f3207ee3
 *   tests/proc-macro/fixtures: a $3,285.36 close paid priceImpactFeeUsd 328,536 (1 bps) and positionFeeUsd 2,299,752 (7 bps).
 *
 * How each difference from the project's earlier model is settled (fees.md "Differences" 1-3):
 * 1. Linear impact is whole bps rounded up, `divCeil(size·1e4, scalar)`, not the continuous size²/scalar: JF and SW
 *    agree, and EV shows mainnet charging 1 bps on a trade whose continuous impact is 0.009 bps. So every trade pays at
 *    least 1 bps of impact when the scalar is set, and the rate steps up by 1 bps every scalar/1e4 USD×1e6 ($375k for SOL).
 * 2. The fee is one product rounded up, `divCeil(size·(base + linear), 1e4)` (JF), not base and impact floored
 *    separately. SW floors the same product; the two differ by at most 1 USD×1e6 and EV cannot tell them apart
 *    (3,285,360,000 × 7 is a multiple of 1e4), so JF's choice is taken: Jupiter links it, and over-estimating a fee
 *    by a micro-dollar is the safe side for fee budgets. The impact part alone is `divCeil(size·linear, 1e4)` (JF).
 * 3. The imbalance surcharge and the maxFeeBps cap follow JF: they apply only when the custody's feeFactor ≠ 0 and
 *    the 60-second signed flow window, this trade included, exceeds deltaImbalanceThresholdDecimal; the cap then
 *    covers base + linear + surcharge. docs.jup.ag's fee page (multiply by the factor, cap the impact part only)
 *    differs in form; with SOL's feeFactor of 1 the surcharge agrees, and JF is code where the docs are prose.
 */

/** Whole bps of linear impact on a trade of `sizeUsd6`: ceil(size·1e4/scalar), 0 when the scalar is 0 (JF, SW). */
export function linearImpactBps(sizeUsd6: bigint, impactFeeScalar: bigint): bigint {
  return impactFeeScalar === 0n ? 0n : divCeil(sizeUsd6 * BPS_POWER, impactFeeScalar);
}

/** The custody's 60-second flow buffer (Custody.priceImpactBuffer). */
export type PriceImpactBuffer = Custody["priceImpactBuffer"];

export type TradeChange = "increase" | "decrease";

/**
 * Signed net flow of the last 60 seconds including this trade, USD×1e6 (JF calculateDeltaImbalance): one bucket per
 * second (index unix_time % 60); an increase adds +amount, a decrease −amount, whatever the side. A buffer never
 * written or untouched for 60 s or more holds only this trade. Buckets strictly between the last write and now are
 * stale and count as 0; the current bucket is added to if it was written this same second, else overwritten.
 */
export function deltaImbalanceUsd6(buffer: Pick<PriceImpactBuffer, "openInterest" | "lastUpdated">, nowSec: bigint, amountUsd6: bigint, change: TradeChange): bigint {
  const amount = change === "increase" ? amountUsd6 : -amountUsd6;
  if (buffer.lastUpdated <= 0n || nowSec - buffer.lastUpdated >= 60n) return amount;
  const slots = buffer.openInterest.length;
  if (slots !== 60) throw new RangeError(`priceImpactBuffer.openInterest has ${slots} buckets, the layout has 60: decode the custody with the current IDL`);
  const current = Number(((nowSec % 60n) + 60n) % 60n);
  const last = Number(((buffer.lastUpdated % 60n) + 60n) % 60n);
  const stale = (i: number) => (current > last ? i > last && i < current : current < last ? i > last || i < current : false);
  let sum = 0n;
  for (let i = 0; i < 60; i++) {
    if (i === current) sum += last === current ? buffer.openInterest[i]! + amount : amount;
    else if (!stale(i)) sum += buffer.openInterest[i]!;
  }
  return sum;
}

/** What the custody's 60-second flow window says about a trade, for the imbalance surcharge. */
export interface ImbalanceContext {
  buffer: PriceImpactBuffer;
  /** The clock the program reads (Clock sysvar unix_timestamp), seconds. */
  nowSec: bigint;
  change: TradeChange;
}

export interface PositionFee {
  /** Everything the program takes for the size change: base fee, linear impact and any imbalance surcharge. */
  positionFeeUsd6: bigint;
  /** The impact part of it (linear, plus the surcharge when it applies). */
  priceImpactFeeUsd6: bigint;
  /** The bps the fee was charged at: base + linear, or the capped base + linear + surcharge. */
  feeBps: bigint;
}

/**
 * Surcharge bps above the threshold (JF): ceil(ceil((|imbalance|/threshold)^exponent) / feeFactor). The exponent is
 * an f32 on chain; at 1 (every custody on 2026-04-27) the ratio's ceiling is taken in integers, exactly; any other
 * exponent goes through a double, as JF goes through decimal.js.
 */
function imbalanceSurchargeBps(imbalanceUsd6: bigint, buffer: PriceImpactBuffer): bigint {
  const threshold = buffer.deltaImbalanceThresholdDecimal;
  // A zero threshold makes the ratio infinite: the cap is all that is left.
  if (threshold <= 0n) return buffer.maxFeeBps;
  const steps = buffer.exponent === 1 ? divCeil(imbalanceUsd6, threshold) : BigInt(Math.ceil(Math.pow(Number(imbalanceUsd6) / Number(threshold), buffer.exponent)));
  return divCeil(steps, buffer.feeFactor);
}

/**
 * The position fee the program charges on a size change of `sizeUsd6` (JF getAdditivePriceImpactFeeBps).
 * `baseFeeBps` is the traded custody's increasePositionBps or decreasePositionBps. Without `imbalance` (the caller
 * has no custody buffer) the surcharge is left out, which is exact whenever the window's flow is under the threshold
 * ($1.5M for SOL on 2026-04-27).
 */
export function positionFee(sizeUsd6: bigint, baseFeeBps: bigint, impactFeeScalar: bigint, imbalance?: ImbalanceContext): PositionFee {
  if (sizeUsd6 < 0n) throw new RangeError(`positionFee: size ${sizeUsd6} USD×1e6 is negative; pass the size change's magnitude`);
  if (sizeUsd6 === 0n) return { positionFeeUsd6: 0n, priceImpactFeeUsd6: 0n, feeBps: 0n };
  const linear = linearImpactBps(sizeUsd6, impactFeeScalar);
  const unsurcharged: PositionFee = {
    positionFeeUsd6: divCeil(sizeUsd6 * (baseFeeBps + linear), BPS_POWER),
    priceImpactFeeUsd6: divCeil(sizeUsd6 * linear, BPS_POWER),
    feeBps: baseFeeBps + linear,
  };
  if (!imbalance || imbalance.buffer.feeFactor === 0n) return unsurcharged;
  const flow = deltaImbalanceUsd6(imbalance.buffer, imbalance.nowSec, sizeUsd6, imbalance.change);
  const magnitude = flow < 0n ? -flow : flow;
  if (magnitude <= imbalance.buffer.deltaImbalanceThresholdDecimal) return unsurcharged;
  const uncapped = baseFeeBps + linear + imbalanceSurchargeBps(magnitude, imbalance.buffer);
  const feeBps = uncapped < imbalance.buffer.maxFeeBps ? uncapped : imbalance.buffer.maxFeeBps;
  const positionFeeUsd6 = divCeil(sizeUsd6 * feeBps, BPS_POWER);
  // JF: the impact part is what is left after the base fee, floored on its own.
  return { positionFeeUsd6, priceImpactFeeUsd6: positionFeeUsd6 - (sizeUsd6 * baseFeeBps) / BPS_POWER, feeBps };
}

/** The custody fields a fee depends on. */
export type FeeCustody = Pick<Custody, "increasePositionBps" | "decreasePositionBps" | "priceImpactBuffer"> & { pricing: Pick<Custody["pricing"], "tradeImpactFeeScalar"> };

/** The fee of a size change on the custody as read, at the program's clock `nowSec`, surcharge included. */
export function custodyPositionFee(custody: FeeCustody, change: TradeChange, sizeUsd6: bigint, nowSec: bigint): PositionFee {
  const baseFeeBps = change === "increase" ? custody.increasePositionBps : custody.decreasePositionBps;
  return positionFee(sizeUsd6, baseFeeBps, custody.pricing.tradeImpactFeeScalar, { buffer: custody.priceImpactBuffer, nowSec, change });
}

export interface TradeCostParams {
  /** Custody increase/decrease fee, bps of size. */
  feeBps: number;
  /** custody.pricing.tradeImpactFeeScalar; 0 disables the impact fee. */
  impactFeeScalar: number;
}

/**
 * Fraction of notional paid to trade `sizeUsd` once: (base + linear bps)/1e4, with the linear bps stepped exactly as
 * `linearImpactBps` steps them (the fee is this times the size, to within the fee's 1 USD×1e6 rounding).
 *
 * The band formulas (Whalley-Wilmott, Zakamouline) assume a cost proportional to the trade. The stepped fee is exactly
 * that inside each step: every SOL trade up to $375k pays (6 + 1) bps, a flat 7 bps. So no smoothing is needed: at a
 * known size the fraction is the exact one of that size's step, and at size 0 (size not yet known) it is the limit
 * from above, base + 1 bps, which is what any trade up to one step pays and a lower bound beyond. The band evaluates
 * it at one size, so the discontinuities never enter a derivative. A smooth upper bound, should a formula need one,
 * is (base + 1 + size·1e4/scalar)/1e4.
 * The imbalance surcharge is left out: it depends on other traders' last-minute flow, not on the hedge.
 */
export function oneWayCostFraction(p: TradeCostParams, sizeUsd: number): number {
  if (p.impactFeeScalar <= 0) return p.feeBps / 1e4;
  const sizeUsd6 = Math.round(sizeUsd * 1e6);
  const linearBps = sizeUsd6 <= 0 ? 1 : Math.ceil((sizeUsd6 * 1e4) / p.impactFeeScalar);
  return (p.feeBps + linearBps) / 1e4;
}
