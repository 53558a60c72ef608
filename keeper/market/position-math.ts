import type { Custody, Position } from "../../programs-client";

/**
 * Pure position maths, in integers. Prices and sizes are USD x 1e6; token amounts are base units.
 * Divisions truncate toward zero, so a reported exposure never exceeds the true one.
 */

/**
 * Delta in token base units: PnL = sizeUsd * (P - entry) / entry, so dPnL/dP = sizeUsd / entry tokens,
 * signed + for a long and - for a short. Collateral is fixed in USD and adds no delta.
 */
export function positionDeltaBase(position: Pick<Position, "side" | "sizeUsd" | "price">, decimals: number): bigint {
  if (position.sizeUsd === 0n || position.price === 0n || position.side === "none") return 0n;
  const magnitude = (position.sizeUsd * 10n ** BigInt(decimals)) / position.price;
  return position.side === "long" ? magnitude : -magnitude;
}

/** Unrealised PnL at `markUsd6`, before fees and borrow. */
export function unrealisedPnlUsd6(position: Pick<Position, "side" | "sizeUsd" | "price">, markUsd6: bigint): bigint {
  if (position.sizeUsd === 0n || position.price === 0n || position.side === "none") return 0n;
  const move = position.side === "long" ? markUsd6 - position.price : position.price - markUsd6;
  return (position.sizeUsd * move) / position.price;
}

/** Leverage in basis points (10_000 = 1x) on the deposited collateral; null when there is none. */
export function leverageBps(position: Pick<Position, "sizeUsd" | "collateralUsd">): bigint | null {
  if (position.collateralUsd === 0n) return null;
  return (position.sizeUsd * 10_000n) / position.collateralUsd;
}

/** A base-unit integer as a decimal string: formatUnits(-1500000000n, 9) === "-1.5". */
export function formatUnits(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const scale = 10n ** BigInt(decimals);
  const whole = abs / scale;
  const frac = (abs % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

/**
 * Borrow, as public code computes it (../shared/reference/jupiter-perps-fees.md §3). Sources:
 * - JF: julianfssen/jupiter-perps-anchor-idl-parsing @5cd0daa16bbcd2d69b0bb74a566fe8313ed465e4,
 *   src/examples/get-borrow-fee-and-funding-rate.ts (getHourlyBorrowRate, getCumulativeInterest, getBorrowFee).
 * - SW: sonarwatch/portfolio @1a2b9ac4, packages/plugins/src/plugins/jupiter/exchange/helpersPerps.ts (the same,
 *   without the borrow-lend debt and with floors).
 * - SS: jup-ag/space-station @428c8504, guides/8-perpetual-exchange/3-onchain-accounts.md (borrow accrues on the
 *   position's collateralCustody; the stored counter moves only when the custody's assets change).
 * Settled (fees.md "Differences" 4 and 6):
 * - The custody's stored cumulativeInterestRate is stale by now − lastUpdate; it is extrapolated on the jump-rate curve
 *   by divCeil(hourly·(now − lastUpdate), 3600), as JF and SW both do. Reading the stored value under-reported borrow
 *   by up to the time since the custody's last trade.
 * - Utilisation is (locked + debt)/(owned + debt) with the borrow-lend debt (JF, the newer code; SW predates the
 *   debt field). Debt was 0 on 2026-04-27, so the two agree today.
 * - Rounding follows JF (up) where SW floors: the differences are a micro-dollar, and the keeper would rather
 *   over-state a cost it budgets against.
 */

/** 1e9 = 100 %: utilisation, cumulative interest and hourly rates. */
export const RATE_POWER = 1_000_000_000n;
export const BPS_POWER = 10_000n;
const DBPS_POWER = 100_000n;
const HOURS_PER_YEAR = 8_760n;

/** The custody fields borrow depends on. */
export type BorrowCustody = Pick<Custody, "fundingRateState" | "jumpRateState" | "debt" | "borrowLendInterestsAccured"> & {
  assets: Pick<Custody["assets"], "owned" | "locked">;
};

/** Ceiling of a/b for a ≥ 0, b > 0: the `divCeil` of Jupiter's reference code, which all its fee maths rounds with. */
export function divCeil(a: bigint, b: bigint): bigint {
  if (b <= 0n || a < 0n) throw new RangeError(`divCeil(${a}, ${b}) needs a ≥ 0 and b > 0`);
  return (a + b - 1n) / b;
}

/** Tokens lent out through borrow-lend (Custody.debt, 1e9-scaled) net of accrued interest, rounded up (JF getDebt). */
function borrowLendDebt(c: BorrowCustody): bigint {
  const net = c.debt - c.borrowLendInterestsAccured;
  return net > 0n ? divCeil(net, RATE_POWER) : 0n;
}

/** (locked + debt)/(owned + debt) in 1e9 units, floored; 0 when either is 0 (JF getHourlyBorrowRate). */
export function borrowUtilisation(c: BorrowCustody): bigint {
  const debt = borrowLendDebt(c);
  const owned = c.assets.owned + debt;
  const locked = c.assets.locked + debt;
  return owned > 0n && locked > 0n ? (locked * RATE_POWER) / owned : 0n;
}

/** Yearly borrow rate in bps on the jump-rate curve at `utilisation` (1e9 units): min→target up to the kink, target→max after. */
export function jumpRateYearlyBps(jump: Custody["jumpRateState"], utilisation: bigint): bigint {
  const { minRateBps, maxRateBps, targetRateBps, targetUtilizationRate } = jump;
  if (utilisation <= targetUtilizationRate) {
    if (targetUtilizationRate === 0n) return minRateBps;
    if (targetRateBps < minRateBps) throw new RangeError(`jump-rate curve: target rate ${targetRateBps} bps is below the minimum ${minRateBps} bps; the custody's jumpRateState is not a valid curve`);
    return divCeil((targetRateBps - minRateBps) * utilisation, targetUtilizationRate) + minRateBps;
  }
  const above = RATE_POWER - targetUtilizationRate;
  if (above <= 0n) throw new RangeError(`jump-rate curve: utilisation ${utilisation} is above a target of ${targetUtilizationRate} (1e9 = 100%), which leaves no room for the upper leg; the custody's jumpRateState is not a valid curve`);
  const rise = maxRateBps > targetRateBps ? maxRateBps - targetRateBps : 0n;
  return divCeil(rise * (utilisation - targetUtilizationRate), above) + targetRateBps;
}

/**
 * The custody's borrow rate per hour in 1e9 units (1e9 = 100 %/h), JF getHourlyBorrowRate: the legacy linear mode
 * when fundingRateState.hourlyFundingDbps ≠ 0, else the jump-rate curve (every mainnet custody on 2026-04-27).
 */
export function hourlyBorrowRate(c: BorrowCustody): bigint {
  const hourlyDbps = c.fundingRateState.hourlyFundingDbps;
  if (hourlyDbps !== 0n) {
    const debt = borrowLendDebt(c);
    const owned = c.assets.owned + debt;
    const locked = c.assets.locked + debt;
    return owned > 0n && locked > 0n ? divCeil(locked * ((hourlyDbps * RATE_POWER) / DBPS_POWER), owned) : 0n;
  }
  const yearly = (jumpRateYearlyBps(c.jumpRateState, borrowUtilisation(c)) * RATE_POWER) / BPS_POWER;
  return yearly / HOURS_PER_YEAR;
}

/**
 * The custody's cumulative interest rate (1e9-scaled, simple, not compounded) at the program's clock `nowSec`: the
 * stored counter plus divCeil(hourly·(now − lastUpdate), 3600) (JF getCumulativeInterest). Nothing accrues on a
 * custody that owns nothing, or when `nowSec` is not past lastUpdate.
 */
export function cumulativeInterestRateAt(c: BorrowCustody, nowSec: bigint): bigint {
  const { cumulativeInterestRate, lastUpdate } = c.fundingRateState;
  if (nowSec <= lastUpdate || c.assets.owned === 0n) return cumulativeInterestRate;
  return cumulativeInterestRate + divCeil(hourlyBorrowRate(c) * (nowSec - lastUpdate), 3_600n);
}

/**
 * Borrow owed since the position's snapshot, USD×1e6: divCeil((cum − snapshot)·sizeUsd, 1e9) on the full size (JF
 * getBorrowFee). `cumulativeInterestRate` is the position's collateralCustody's counter (shorts: the USDC custody;
 * SS, JF's liquidation example, SW), brought to now with `cumulativeInterestRateAt`; the stored counter alone
 * misses the hours since the custody's last update. Never negative: a snapshot ahead of the counter means none owed.
 */
export function accruedBorrowUsd6(position: Pick<Position, "sizeUsd" | "cumulativeInterestSnapshot">, cumulativeInterestRate: bigint): bigint {
  const owed = cumulativeInterestRate - position.cumulativeInterestSnapshot;
  return owed > 0n && position.sizeUsd > 0n ? divCeil(position.sizeUsd * owed, RATE_POWER) : 0n;
}
