import type { Position } from "../../programs-client";

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
 * Borrow owed since the position's last update: sizeUsd x (the collateral custody's cumulative rate - the
 * position's snapshot) / 1e9, in USD x 1e6. Never negative (a snapshot ahead of the rate read means no accrual yet).
 */
export function accruedBorrowUsd6(position: Pick<Position, "sizeUsd" | "cumulativeInterestSnapshot">, cumulativeInterestRate: bigint): bigint {
  const owed = cumulativeInterestRate - position.cumulativeInterestSnapshot;
  return owed > 0n ? (position.sizeUsd * owed) / 1_000_000_000n : 0n;
}
