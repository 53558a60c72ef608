import { erf, normCdf, normPdf } from "./normal";
import type { EuropeanInputs } from "./black";

/**
 * Implied volatility by safeguarded Newton iteration on the logarithm of the normalised, out-of-the-money
 * Black price. Working in log price keeps the step meaningful in the far wings, where the price can be
 * 1e-50 and Newton on the price itself stalls; the bracket [lo, hi] falls back to bisection whenever a step
 * leaves it, so the iteration cannot diverge. Reaches the double-precision limit in a handful of steps on
 * the reference cases (tests/unit/greeks.test.ts).
 */

export class ImpliedVolError extends Error {}

/** b(x, s) = e^{x/2}Φ(x/s + s/2) - e^{-x/2}Φ(x/s - s/2): an OTM call's price over √(FK), for x = ln(F/K) <= 0. */
function normalisedOtmCall(x: number, s: number): number {
  if (x === 0) return erf(s / (2 * Math.SQRT2));
  const h = x / s;
  return Math.exp(0.5 * x) * normCdf(h + 0.5 * s) - Math.exp(-0.5 * x) * normCdf(h - 0.5 * s);
}

/** db/ds = e^{x/2}φ(x/s + s/2). */
function normalisedVega(x: number, s: number): number {
  return Math.exp(0.5 * x) * normPdf(x / s + 0.5 * s);
}

const MAX_ITERATIONS = 100;
const MAX_TOTAL_VOL = 50;

/** Solves b(x, s) = beta for the total vol s = σ√T; x <= 0 and 0 < beta < e^{x/2}. */
function totalVolFromNormalised(x: number, beta: number): number {
  let lo = 0;
  let hi = MAX_TOTAL_VOL;
  // A start near the inflection point s = √(2|x|) converges from either side in log space.
  let s = Math.max(Math.sqrt(2 * Math.abs(x)), 0.1);
  const target = Math.log(beta);
  for (let k = 0; k < MAX_ITERATIONS; k++) {
    const b = normalisedOtmCall(x, s);
    if (b > beta) hi = s;
    else lo = s;
    const step = b > 0 ? (Math.log(b) - target) / (normalisedVega(x, s) / b) : -Infinity;
    let next = s - step;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - s) <= 1e-15 * s) return next;
    s = next;
  }
  return s;
}

export interface PricedOption extends Omit<EuropeanInputs, "vol"> {
  price: number;
}

/**
 * The σ at which the generalised BSM (or Black-76, carry 0) price equals `price`. Throws ImpliedVolError
 * with the offending input when the price is outside the no-arbitrage bounds.
 */
export function impliedVol(o: PricedOption): number {
  const forward = o.spot * Math.exp(o.carry * o.years);
  const undiscounted = o.price * Math.exp(o.rate * o.years);
  const k = o.strike;
  if (!(o.years > 0) || !(forward > 0) || !(k > 0)) {
    throw new ImpliedVolError(`implied vol needs spot, strike and years > 0 (spot ${o.spot}, strike ${o.strike}, years ${o.years})`);
  }
  const intrinsicValue = Math.max(0, o.kind === "call" ? forward - k : k - forward);
  const cap = o.kind === "call" ? forward : k;
  if (!(undiscounted > intrinsicValue) || !(undiscounted < cap)) {
    throw new ImpliedVolError(
      `${o.kind} price ${o.price} is outside the no-arbitrage range (${intrinsicValue * Math.exp(-o.rate * o.years)}, ${cap * Math.exp(-o.rate * o.years)}) for spot ${o.spot}, strike ${k}, years ${o.years}`,
    );
  }
  // Put-call parity maps either option to the out-of-the-money one, and x -> -x maps an OTM put to a call.
  const otm = undiscounted - intrinsicValue;
  const x = -Math.abs(Math.log(forward / k));
  const beta = otm / Math.sqrt(forward * k);
  return totalVolFromNormalised(x, beta) / Math.sqrt(o.years);
}
