import type { MarketSymbol } from "../../programs-client";
import type { ExposureGreeks, VolScaledDelta } from "../strategy/policy";
import { DecisionLanes } from "../strategy/decision-lanes";
import { type GreekLanes, greekLanes } from "./book-kernel";
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

/** The terms valueExposure() takes from a mandate rather than from the observations (exposure/hedge-terms.ts). */
export type ExposureTerms = Pick<ExposureInputs, "hedgeRatio" | "jlpDeltaVarianceRate" | "marketVol">;

/**
 * What the strategy sees of each lane's exposure, from the book's greeks and the tokens held besides (wallets, JLP,
 * offsets): everything times the hedge ratio; the options' own vol, or the market's for a book without options (a
 * flow band needs one); the JLP flows' variance times the ratio squared. The simulator runs it over a block of paths,
 * valueExposure() over the one lane of a live decision.
 */
export function strategyExposure(options: GreekLanes, heldTokens: Float64Array, terms: ExposureTerms, n: number, out: DecisionLanes): void {
  const ratio = terms.hedgeRatio;
  const marketVol = terms.marketVol ?? 0;
  const varianceRate = ratio * ratio * terms.jlpDeltaVarianceRate;
  for (let b = 0; b < n; b++) {
    const optionsDelta = options.delta[b]!;
    out.optionsDelta[b] = ratio * optionsDelta;
    out.delta[b] = ratio * (optionsDelta + heldTokens[b]!);
    out.gamma[b] = ratio * options.gamma[b]!;
    out.years[b] = options.years[b]!;
    out.vol[b] = options.vol[b]! > 0 ? options.vol[b]! : marketVol;
    out.varianceRate[b] = varianceRate;
  }
}

const one = { greeks: greekLanes(1), held: new Float64Array(1), lanes: new DecisionLanes(1) };

/** `greeksOf`: how the options are valued (the keeper shares one valuation of a book among its mandates). */
export function valueExposure(i: ExposureInputs, greeksOf: typeof bookGreeks = bookGreeks): MarketExposure {
  const options = greeksOf(i.legs, i.market, i.spotUsd, i.nowSec);
  const g = one.greeks;
  g.delta[0] = options.delta;
  g.gamma[0] = options.gamma;
  g.years[0] = options.years;
  g.vol[0] = options.vol;
  one.held[0] = i.walletTokens + i.jlpTokens + i.offsetTokens;
  strategyExposure(g, one.held, i, 1, one.lanes);
  const x = one.lanes;
  return {
    options,
    walletTokens: i.walletTokens,
    jlpTokens: i.jlpTokens,
    offsetTokens: i.offsetTokens,
    greeks: {
      delta: x.delta[0]!,
      gamma: x.gamma[0]!,
      years: x.years[0]!,
      vol: x.vol[0]!,
      volScaled: new ScaledOptionsDelta(i, i.hedgeRatio, options.delta),
      targetVarianceRate: x.varianceRate[0]!,
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
