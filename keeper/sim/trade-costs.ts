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

/** The totals a change adds to, and the fee of its request on the position that stays open (USD). */
export interface ChangeCost extends CostTotals {
  keptFeeUsd: number;
}

/** Integers below this are exact in a double, and so are the quotients and remainders of two of them. */
const EXACT_BELOW = 2 ** 52;

/**
 * ⌈a/b⌉ for integers 0 ≤ a < 2^52 and 0 < b < 2^52, exactly, in doubles. The rounded quotient cannot reach the next
 * integer up: a/b = k − r/b (r ≥ 1) lies at least 1/b below k, more than half an ulp of k when a < 2^52; so its floor
 * is the true floor, and the remainder says whether to round up.
 */
function divCeilExact(a: number, b: number): number {
  const q = Math.floor(a / b);
  return a - q * b > 0 ? q + 1 : q;
}

/** A request's fee, USD×1e6: everything and the impact part. */
interface FeeUsd6 {
  feeUsd6: number;
  impactUsd6: number;
}

const fee: FeeUsd6 = { feeUsd6: 0, impactUsd6: 0 };

/**
 * positionFee (strategy/costs.ts) without the imbalance surcharge, in doubles: the same integers wherever every
 * product stays below 2^52, which covers any hedge trade up to about $400k at a set impact scalar and far beyond
 * without one; larger sizes go through the bigint function itself. A backtest charges millions of fees, and a bigint
 * allocates. tests/unit/sim-engine.test.ts holds the two equal on random and boundary sizes.
 */
export function positionFeeUsd6(sizeUsd6: number, bps: number, impactFeeScalar: number, out: FeeUsd6 = fee): FeeUsd6 {
  if (sizeUsd6 * 1e4 < EXACT_BELOW && bps < 1e4 && impactFeeScalar < EXACT_BELOW) {
    const linear = impactFeeScalar === 0 ? 0 : divCeilExact(sizeUsd6 * 1e4, impactFeeScalar);
    if (sizeUsd6 * (bps + linear) < EXACT_BELOW) {
      out.feeUsd6 = divCeilExact(sizeUsd6 * (bps + linear), 1e4);
      out.impactUsd6 = divCeilExact(sizeUsd6 * linear, 1e4);
      return out;
    }
  }
  const exact = positionFee(BigInt(sizeUsd6), BigInt(bps), BigInt(impactFeeScalar));
  out.feeUsd6 = Number(exact.positionFeeUsd6);
  out.impactUsd6 = Number(exact.priceImpactFeeUsd6);
  return out;
}

/**
 * One request's fee, from the keeper's own fee function (the one the live keeper estimates with), so the backtest
 * pays the stepped, rounded-up fee mainnet charges: `feesUsd` gets the base part, `impactUsd` the linear impact
 * part. The imbalance surcharge is left out: it needs other traders' flow in the same minute, which a path does not
 * have, and a hedge trade alone reaches it only above the custody's threshold ($1.5M for SOL).
 */
function chargeLeg(sizeTokens: number, priceUsd: number, bps: number, c: SimCosts, into: ChangeCost): void {
  const sizeUsd6 = Math.round(sizeTokens * priceUsd * 1e6);
  // Nothing a request can carry: no request, no fee, no transaction.
  if (sizeUsd6 === 0) {
    into.keptFeeUsd = 0;
    return;
  }
  const f = positionFeeUsd6(sizeUsd6, bps, c.impactFeeScalar);
  const baseUsd = (f.feeUsd6 - f.impactUsd6) / 1e6;
  const impactUsd = f.impactUsd6 / 1e6;
  into.feesUsd += baseUsd;
  into.impactUsd += impactUsd;
  into.txUsd += c.txCostUsd;
  into.keptFeeUsd = baseUsd + impactUsd;
}

/**
 * Adds the cost of moving the hedge from `fromTokens` to `toTokens` at `priceUsd`. Jupiter keeps longs and shorts
 * as separate positions, so growing |q| on one side pays the increase fee, shrinking it the decrease fee, and a
 * change that crosses zero closes one side and opens the other: two requests, two fees, two transactions.
 * Leaves in `into.keptFeeUsd` the fee (base + impact, USD) of the request on the position that stays open, which
 * Jupiter takes from that position's collateral or payout (the collateral model needs it); 0 when the change only
 * closes. (A field, not a return value: a backtest makes millions of changes, and a returned double is boxed.)
 */
export function addHedgeChangeCost(fromTokens: number, toTokens: number, priceUsd: number, c: SimCosts, into: ChangeCost): void {
  into.keptFeeUsd = 0;
  if (fromTokens === toTokens) return;
  if (fromTokens === 0 || toTokens === 0 || Math.sign(fromTokens) === Math.sign(toTokens)) {
    const grow = Math.abs(toTokens) - Math.abs(fromTokens);
    if (grow > 0) return chargeLeg(grow, priceUsd, c.increaseBps, c, into);
    chargeLeg(-grow, priceUsd, c.decreaseBps, c, into);
    if (toTokens === 0) into.keptFeeUsd = 0;
    return;
  }
  chargeLeg(Math.abs(fromTokens), priceUsd, c.decreaseBps, c, into);
  chargeLeg(Math.abs(toTokens), priceUsd, c.increaseBps, c, into);
}
