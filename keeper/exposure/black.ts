import { normCdf, normPdf } from "./normal";

export type OptionKind = "call" | "put";

/**
 * Generalised Black-Scholes-Merton inputs. `carry` is b = r - q for a spot model; a Black-76 option on a
 * forward is the same formula with `spot` = F and `carry` = 0 (see black76Inputs).
 */
export interface EuropeanInputs {
  kind: OptionKind;
  spot: number;
  strike: number;
  /** Years to expiry. */
  years: number;
  rate: number;
  carry: number;
  vol: number;
}

export interface Greeks {
  price: number;
  /** dV/dS, in underlying units per option. */
  delta: number;
  gamma: number;
  /** dV/dσ per unit of vol (1.00 = 100 vol points). */
  vega: number;
  /** dV/dt per calendar year (negative for a long option that decays). */
  theta: number;
}

export function black76Inputs(kind: OptionKind, forward: number, strike: number, years: number, rate: number, vol: number): EuropeanInputs {
  return { kind, spot: forward, strike, years, rate, carry: 0, vol };
}

function intrinsic(i: EuropeanInputs): Greeks {
  const itm = i.kind === "call" ? i.spot > i.strike : i.spot < i.strike;
  const sign = i.kind === "call" ? 1 : -1;
  return {
    price: Math.max(0, sign * (i.spot - i.strike)),
    delta: itm ? sign : 0,
    gamma: 0,
    vega: 0,
    theta: 0,
  };
}

/** Price and greeks of one European option. Expired or zero-vol options are worth their intrinsic value. */
export function europeanGreeks(i: EuropeanInputs): Greeks {
  if (!(i.years > 0) || !(i.vol > 0)) return intrinsic(i);
  const { spot: s, strike: k, years: t, rate: r, carry: b, vol: v } = i;
  const sqrtT = Math.sqrt(t);
  const volSqrtT = v * sqrtT;
  const d1 = (Math.log(s / k) + (b + 0.5 * v * v) * t) / volSqrtT;
  const d2 = d1 - volSqrtT;
  // Skipped when they are exactly 1 (r = b = 0, the perp-hedge case), which a backtest values millions of times.
  const carryDf = b === r ? 1 : Math.exp((b - r) * t);
  const df = r === 0 ? 1 : Math.exp(-r * t);
  const n = normPdf(d1);
  const gamma = (carryDf * n) / (s * volSqrtT);
  const vega = s * carryDf * n * sqrtT;
  const decay = (-s * carryDf * n * v) / (2 * sqrtT);
  if (i.kind === "call") {
    const nd1 = normCdf(d1);
    const nd2 = normCdf(d2);
    return {
      price: s * carryDf * nd1 - k * df * nd2,
      delta: carryDf * nd1,
      gamma,
      vega,
      theta: decay - r * k * df * nd2 + (r - b) * s * carryDf * nd1,
    };
  }
  const nmd1 = normCdf(-d1);
  const nmd2 = normCdf(-d2);
  return {
    price: k * df * nmd2 - s * carryDf * nmd1,
    delta: -carryDf * nmd1,
    gamma,
    vega,
    theta: decay + r * k * df * nmd2 - (r - b) * s * carryDf * nmd1,
  };
}
