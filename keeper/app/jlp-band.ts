import type { OptionLeg } from "../exposure/options-book";
import type { MandateConfig } from "./config";

/**
 * A JLP delta on a market with no option beside it (none, or all expired by the check: the keeper values an expired
 * leg as nothing, exposure/options-book.ts) gives a band policy no gamma to size a band from. Whalley-Wilmott then has
 * the JLP delta's flow vol (strategy/decision-lanes.ts, the flow band), if the mandate states it; Zakamouline has nothing (its
 * fit is in the options' gamma alone, and strategy/decision-lanes.ts gives it half-width 0 without gamma, whatever
 * deltaVolTokens says). A zero-width band trades every change of the JLP delta above minTradeUsd, where the backtest
 * of the same book holds inside a band.
 */
export function jlpBandProblems(m: MandateConfig, legs: readonly OptionLeg[], where: string, nowSec: number): string[] {
  const jlp = m.exposures.jlp;
  if (!jlp || (m.policy.kind !== "whalley-wilmott" && m.policy.kind !== "zakamouline")) return [];
  const bare = m.markets.filter((market) => !legs.some((l) => l.underlying === market && l.expirySec > nowSec));
  const noOptions = (market: string) => {
    const expired = legs.filter((l) => l.underlying === market).length;
    return expired ? `no ${market} options left (its ${expired} ${market} leg${expired === 1 ? " has" : "s have"} expired by ${new Date(nowSec * 1000).toISOString()})` : `no ${market} options`;
  };
  if (m.policy.kind === "zakamouline") {
    return bare.map(
      (market) =>
        `${where}policy: mandate ${m.name} hedges a JLP holding's ${market} delta under zakamouline with ${noOptions(market)}; Zakamouline sizes its band from the options' gamma alone (exposures.jlp.deltaVolTokens does not widen it), so the band has zero width and every change of the JLP delta above trade.minTradeUsd is traded; fix: choose policy whalley-wilmott with exposures.jlp.deltaVolTokens.${market} (its band is then sized from the pool flows), or policy fixed with thresholdTokens.${market}`,
    );
  }
  return bare
    .filter((market) => jlp.deltaVolTokens?.[market] === undefined)
    .map(
      (market) =>
        `${where}exposures.jlp.deltaVolTokens.${market}: mandate ${m.name} hedges a JLP holding's ${market} delta under whalley-wilmott with ${noOptions(market)}, so without this flow vol its band has zero width and every change of the JLP delta above trade.minTradeUsd is traded; fix: set it to how far pool flows move the holding's ${market} delta, in ${market} per √year (the standard deviation of its daily change × √365, as a backtest's book.jlp.flowVolTokens), or choose policy fixed with thresholdTokens.${market}`,
    );
}
