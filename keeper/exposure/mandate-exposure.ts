import type { MarketSymbol } from "../../programs-client";
import type { ExposureGreeks, VolScaledDelta } from "../strategy/policy";
import { bookDelta, bookGreeks, type BookGreeks, type OptionLeg } from "./options-book";

/** Everything a mandate hedges on one underlying, valued at one instant. Pure. */
export interface ExposureInputs {
  market: MarketSymbol;
  spotUsd: number;
  nowSec: number;
  legs: readonly OptionLeg[];
  /** Σ watched wallet balances in tokens of the underlying. */
  walletTokens: number;
  /** Delta of the JLP holding in tokens of the underlying. */
  jlpTokens: number;
  offsetTokens: number;
  hedgeRatio: number;
  /** Variance rate of the JLP part's delta (tokens²/yr), for the flow band; 0 when unknown. */
  jlpDeltaVarianceRate: number;
  /** The underlying's vol, for the flow band of a book without options (whose implied vol would say nothing). */
  marketVol?: number;
}

export interface MarketExposure {
  options: BookGreeks;
  walletTokens: number;
  jlpTokens: number;
  offsetTokens: number;
  /** What the strategy sees: everything times the hedge ratio. */
  greeks: ExposureGreeks;
}

/** `greeksOf`: how the options are valued (the keeper shares one valuation of a book among its mandates). */
export function valueExposure(i: ExposureInputs, greeksOf: typeof bookGreeks = bookGreeks): MarketExposure {
  const options = greeksOf(i.legs, i.market, i.spotUsd, i.nowSec);
  const rest = i.walletTokens + i.jlpTokens + i.offsetTokens;
  const ratio = i.hedgeRatio;
  return {
    options,
    walletTokens: i.walletTokens,
    jlpTokens: i.jlpTokens,
    offsetTokens: i.offsetTokens,
    greeks: {
      delta: ratio * (options.delta + rest),
      gamma: ratio * options.gamma,
      years: options.years,
      vol: options.vol > 0 ? options.vol : (i.marketVol ?? 0),
      volScaled: new ScaledOptionsDelta(i, ratio, options.delta),
      targetVarianceRate: ratio * ratio * i.jlpDeltaVarianceRate,
    },
  };
}

/** The options' delta with every leg's vol scaled, for Zakamouline's band centre. A class, not a closure: it is made on every step of a backtest. */
class ScaledOptionsDelta implements VolScaledDelta {
  constructor(
    private readonly i: ExposureInputs,
    private readonly ratio: number,
    private readonly unscaled: number,
  ) {}

  deltaAt(volScale: number): number {
    const i = this.i;
    return this.ratio * (volScale === 1 ? this.unscaled : bookDelta(i.legs, i.market, i.spotUsd, i.nowSec, volScale));
  }
}
