/** Whether a market's prices are good enough to trade on. Pure: ages are computed by the caller from publish times. */

export interface OracleGuardLimits {
  /** Oldest acceptable publish time, seconds (tighter than the Pyth SDK's 60). */
  maxAgeSec: number;
  /** Widest acceptable Pyth confidence interval, bps of price. */
  maxConfBps: number;
  /** Widest acceptable gap between Pyth and Doves, bps of the Doves price. */
  maxDivergenceBps: number;
}

export interface OracleObservation {
  /** null when the feed could not be read. */
  pythPriceUsd6: bigint | null;
  pythAgeSec: number | null;
  pythConfBps: number | null;
  dovesPriceUsd6: bigint | null;
  dovesAgeSec: number | null;
}

/** Reasons not to trade, empty when the prices are usable. */
export function oracleVetoes(o: OracleObservation, limits: OracleGuardLimits): string[] {
  const reasons: string[] = [];
  if (o.dovesPriceUsd6 === null || o.dovesAgeSec === null) reasons.push("Doves price unreadable (Jupiter fills at it)");
  else if (o.dovesAgeSec > limits.maxAgeSec) reasons.push(`Doves price ${o.dovesAgeSec}s old > ${limits.maxAgeSec}s`);
  if (o.pythPriceUsd6 === null || o.pythAgeSec === null) reasons.push("Pyth price unreadable");
  else {
    if (o.pythAgeSec > limits.maxAgeSec) reasons.push(`Pyth price ${o.pythAgeSec}s old > ${limits.maxAgeSec}s`);
    if (o.pythConfBps !== null && o.pythConfBps > limits.maxConfBps) reasons.push(`Pyth confidence ${o.pythConfBps} bps > ${limits.maxConfBps} bps`);
  }
  if (o.pythPriceUsd6 !== null && o.dovesPriceUsd6 !== null && o.dovesPriceUsd6 > 0n) {
    const gap = o.pythPriceUsd6 > o.dovesPriceUsd6 ? o.pythPriceUsd6 - o.dovesPriceUsd6 : o.dovesPriceUsd6 - o.pythPriceUsd6;
    const gapBps = Number((gap * 10_000n) / o.dovesPriceUsd6);
    if (gapBps > limits.maxDivergenceBps) reasons.push(`Pyth and Doves ${gapBps} bps apart > ${limits.maxDivergenceBps} bps`);
  }
  return reasons;
}
