import type { Custody, Pool } from "../../programs-client";

/**
 * JLP's price exposure, from the documented AUM formula (hedging-math.md §4):
 *   AUM_i = (owned_i - locked_i)·P_i + guaranteedUsd_i + G_i·(P_i - A_i)/A_i      (non-stable custodies)
 *   AUM_i = owned_i·P_i                                                           (stables)
 * which is linear in P_i, so the pool's delta in tokens is δ_i = (owned_i - locked_i) + G_i/A_i.
 */

export interface JlpCustodyInput {
  custody: Custody;
  priceUsd6: bigint;
}

export interface JlpCustodyExposure {
  /** Pool delta in tokens (float, for the maths). */
  poolDeltaTokens: number;
  aumUsd6: bigint;
}

/** AUM of one custody, USD×1e6, in integers. */
export function custodyAumUsd6({ custody: c, priceUsd6 }: JlpCustodyInput): bigint {
  const unit = 10n ** BigInt(c.decimals);
  if (c.isStable) return (c.assets.owned * priceUsd6) / unit;
  const free = c.assets.owned - c.assets.locked;
  let aum = (free * priceUsd6) / unit + c.assets.guaranteedUsd;
  const g = c.assets.globalShortSizes;
  const avg = c.assets.globalShortAveragePrices;
  // The pool is every short's counterparty: it gains what the shorts lose.
  if (g > 0n && avg > 0n) aum += (g * (priceUsd6 - avg)) / avg;
  return aum;
}

export function custodyExposure(input: JlpCustodyInput): JlpCustodyExposure {
  const c = input.custody;
  const aumUsd6 = custodyAumUsd6(input);
  if (c.isStable) return { poolDeltaTokens: 0, aumUsd6 };
  const scale = 10 ** c.decimals;
  const free = Number(c.assets.owned - c.assets.locked) / scale;
  const avg = Number(c.assets.globalShortAveragePrices);
  const shortsAsLong = avg > 0 ? Number(c.assets.globalShortSizes) / avg : 0;
  return { poolDeltaTokens: free + shortsAsLong, aumUsd6 };
}

export interface JlpHolding {
  /** JLP held, base units (6 decimals). */
  jlpAmount: bigint;
  /** JLP mint supply, base units. */
  jlpSupply: bigint;
}

export interface JlpExposure {
  /** Delta of the holding per custody mint (tokens), keyed by custody address. */
  deltaTokens: Map<string, number>;
  computedAumUsd6: bigint;
  /** (computed - pool.aumUsd) / pool.aumUsd in bps; a large gap means the model or the inputs are off. */
  aumGapBps: number;
}

export function jlpExposure(holding: JlpHolding, pool: Pool, custodies: ReadonlyMap<string, JlpCustodyInput>): JlpExposure {
  const share = holding.jlpSupply > 0n ? Number(holding.jlpAmount) / Number(holding.jlpSupply) : 0;
  const deltaTokens = new Map<string, number>();
  let computedAumUsd6 = 0n;
  for (const [address, input] of custodies) {
    const e = custodyExposure(input);
    computedAumUsd6 += e.aumUsd6;
    deltaTokens.set(address, share * e.poolDeltaTokens);
  }
  const onChain = pool.aumUsd;
  const aumGapBps = onChain > 0n ? Number(((computedAumUsd6 - onChain) * 10_000n) / onChain) : Infinity;
  return { deltaTokens, computedAumUsd6, aumGapBps };
}
