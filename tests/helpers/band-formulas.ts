/**
 * The band formulas as hedging-math.md §2 writes them, one value at a time: the reference the keeper's kernels
 * (keeper/strategy/decision-lanes.ts, which factor them for many lanes and parameters at once) are held to in the tests.
 * No-trade band widths under proportional costs. All widths are half-widths in
 * underlying tokens; costs are one-way fractions of notional; risk aversion γ is absolute, in 1/$.
 */

export interface BandInputs {
  /** λ: one-way cost as a fraction of notional (6 bps = 6e-4, plus impact). */
  costFraction: number;
  spotUsd: number;
  /** Net book gamma per underlying, tokens per $ of spot move. */
  gamma: number;
  riskAversion: number;
  /** Time to expiry τ in years (gamma-weighted for a book). */
  years: number;
  /** Annual vol σ the book is hedged at. */
  vol: number;
  rate?: number;
}

/** Whalley-Wilmott: H = (3/2 · e^{-rτ} · λ · S · Γ² / γ)^{1/3}. */
export function whalleyWilmottHalfWidth(i: Pick<BandInputs, "costFraction" | "spotUsd" | "gamma" | "riskAversion" | "years" | "rate">): number {
  const discount = Math.exp(-(i.rate ?? 0) * i.years);
  return Math.cbrt((1.5 * discount * i.costFraction * i.spotUsd * i.gamma * i.gamma) / i.riskAversion);
}

/**
 * The general form for any hedge target whose value diffuses with variance rate σ_D² (tokens² per year):
 * H = (3λSσ_D² / (2γS²σ²))^{1/3}. With σ_D = ΓSσ it is Whalley-Wilmott; for JLP σ_D comes from pool flows.
 */
export function driftBandHalfWidth(i: Pick<BandInputs, "costFraction" | "spotUsd" | "riskAversion" | "vol">, targetVarianceRate: number): number {
  return Math.cbrt((3 * i.costFraction * i.spotUsd * targetVarianceRate) / (2 * i.riskAversion * i.spotUsd * i.spotUsd * i.vol * i.vol));
}

export interface ZakamoulineBand {
  h0: number;
  h1: number;
  halfWidth: number;
  /** K in σ_m² = σ²(1 ∓ K); negative for the calibrated constants. */
  k: number;
  /** σ_m / σ: the vol the band's centre delta is computed at. */
  volScale: number;
}

/**
 * Zakamouline (2006): a band Δ(σ_m) ± (H₀ + H₁) fitted to the exact Hodges-Neuberger solution.
 * `longGamma` selects σ_m² = σ²(1 + K) for a long-gamma book and σ²(1 - K) for a short one.
 */
export function zakamoulineBand(i: BandInputs, longGamma: boolean): ZakamoulineBand {
  const discount = Math.exp(-(i.rate ?? 0) * i.years);
  const absGamma = Math.abs(i.gamma);
  // The fitted power laws in log space: five logarithms and two exponentials instead of seven pow() calls.
  const lnCost = Math.log(i.costFraction);
  const lnYears = Math.log(i.years);
  const lnCommon = 0.25 * Math.log(discount / i.vol);
  const k = -4.76 * Math.exp(0.78 * lnCost - 0.02 * lnYears + lnCommon + 0.15 * Math.log(i.riskAversion * i.spotUsd * i.spotUsd * absGamma));
  const h0 = i.costFraction / (i.riskAversion * i.spotUsd * i.vol * i.vol * i.years);
  const h1 = 1.12 * Math.exp(0.31 * lnCost + 0.05 * lnYears + lnCommon + 0.5 * Math.log(absGamma / i.riskAversion));
  const volScale = Math.sqrt(Math.max(0, longGamma ? 1 + k : 1 - k));
  return { h0, h1, halfWidth: h0 + h1, k, volScale };
}
