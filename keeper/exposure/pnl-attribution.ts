const MS_PER_YEAR = 365.25 * 86_400_000;

/** What the hedge looked like at one decision: enough to explain the P&L until the next. */
export interface MarkState {
  atMs: number;
  spotUsd: number;
  /** Net delta in tokens (exposure plus perps) and the book's gamma (per token) and theta (USD per year). */
  netDelta: number;
  gamma: number;
  thetaPerYear: number;
  /** Borrow accrued on the open perps, not yet charged, in USD. */
  accruedBorrowUsd: number;
}

/** P&L over one step, in USD, split by cause. Fees are added from fills, outside this function. */
export interface PnlStep {
  /** ½ Γ ΔS²: what the book's convexity earned on the move. */
  gammaUsd: number;
  /** Θ Δt: what time cost the book. */
  thetaUsd: number;
  /** net Δ ΔS: the move times the delta left unhedged (inside the band, or in flight). */
  deltaUsd: number;
  /** Borrow accrued on the perps over the step (a cost, so ≤ 0). */
  borrowUsd: number;
}

export const ZERO_STEP: PnlStep = { gammaUsd: 0, thetaUsd: 0, deltaUsd: 0, borrowUsd: 0 };

/**
 * Attributes the P&L between two marks with the greeks held at the first (a second-order Taylor step). A fall in
 * accrued borrow means it was charged to the position at a fill, not a gain, so it contributes nothing here.
 */
export function attributeStep(prev: MarkState, next: MarkState): PnlStep {
  const move = next.spotUsd - prev.spotUsd;
  const years = Math.max(0, next.atMs - prev.atMs) / MS_PER_YEAR;
  return {
    gammaUsd: 0.5 * prev.gamma * move * move,
    thetaUsd: prev.thetaPerYear * years,
    deltaUsd: prev.netDelta * move,
    borrowUsd: Math.min(0, prev.accruedBorrowUsd - next.accruedBorrowUsd),
  };
}

export function addSteps(a: PnlStep, b: PnlStep): PnlStep {
  return { gammaUsd: a.gammaUsd + b.gammaUsd, thetaUsd: a.thetaUsd + b.thetaUsd, deltaUsd: a.deltaUsd + b.deltaUsd, borrowUsd: a.borrowUsd + b.borrowUsd };
}
