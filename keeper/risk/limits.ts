import type { MarketSymbol } from "../../programs-client";

/** Per-mandate limits on an order, checked before anything is signed. Pure. */

export interface MandateLimits {
  /**
   * Per market, in that market's tokens: |net delta| after a trade may exceed it only if the trade reduces it.
   * A market without an entry has no cap. Never one number for all markets: 2 BTC and 2 SOL are not alike.
   */
  maxNetDeltaTokens: Readonly<Partial<Record<MarketSymbol, number>>>;
  /** Largest |position size| per market, USD×1e6. */
  maxNotionalUsd6: bigint;
  /** Largest leverage of a position after the trade, bps (5x = 50_000). */
  maxLeverageBps: bigint;
  maxTradesPerHour: number;
  /** Trading fees per UTC day, USD×1e6. */
  dailyFeeBudgetUsd6: bigint;
  /** Consecutive failed requests that open the circuit breaker. */
  maxConsecutiveFailures: number;
  /** How long an open breaker stays open before one trial request, seconds. */
  breakerCooldownSec: number;
}

export interface RiskState {
  killSwitch: boolean;
  /** Unix seconds of trades sent in the last hour or more. */
  recentTradeTimesSec: readonly number[];
  feesTodayUsd6: bigint;
  consecutiveFailures: number;
  lastFailureSec: number | null;
}

export interface OrderRisk {
  /** The market traded: its own maxNetDeltaTokens applies. */
  market: MarketSymbol;
  nowSec: number;
  netDeltaBeforeTokens: number;
  netDeltaAfterTokens: number;
  /** The traded side's size and collateral after the fill, USD×1e6. */
  sizeAfterUsd6: bigint;
  collateralAfterUsd6: bigint;
  estimatedFeeUsd6: bigint;
  /** For an increase: the funding token the request posts and what the wallet can post of it (base units). */
  funding: { token: string; neededBase: bigint; availableBase: bigint; fix: string } | null;
}

/**
 * Reasons the mandate forbids any new request right now (before an order is even sized). A collateral move
 * (`collateral: true`) defends the hedge: the hourly trade count and the fee budget do not hold it back, the kill
 * switch and the circuit breaker do.
 */
export function mandateVetoes(state: RiskState, limits: MandateLimits, nowSec: number, opts: { collateral?: boolean } = {}): string[] {
  const reasons: string[] = [];
  if (state.killSwitch) reasons.push("kill switch engaged");
  if (state.consecutiveFailures >= limits.maxConsecutiveFailures) {
    const reopensAt = (state.lastFailureSec ?? 0) + limits.breakerCooldownSec;
    if (nowSec < reopensAt) reasons.push(`circuit breaker open after ${state.consecutiveFailures} consecutive failures, until ${reopensAt}`);
  }
  if (opts.collateral) return reasons;
  const hourAgo = nowSec - 3600;
  const lastHour = state.recentTradeTimesSec.filter((t) => t > hourAgo).length;
  if (lastHour >= limits.maxTradesPerHour) reasons.push(`${lastHour} trades in the last hour, limit ${limits.maxTradesPerHour}`);
  if (state.feesTodayUsd6 >= limits.dailyFeeBudgetUsd6) reasons.push(`daily fee budget spent (${state.feesTodayUsd6} of ${limits.dailyFeeBudgetUsd6} USD×1e6)`);
  return reasons;
}

/** Reasons this particular order breaks a limit. */
export function orderVetoes(o: OrderRisk, state: RiskState, limits: MandateLimits): string[] {
  const reasons: string[] = [];
  const after = Math.abs(o.netDeltaAfterTokens);
  const maxDelta = limits.maxNetDeltaTokens[o.market];
  if (maxDelta !== undefined && after > maxDelta && after > Math.abs(o.netDeltaBeforeTokens)) {
    reasons.push(`|net delta| after the trade ${after.toFixed(4)} ${o.market} > ${o.market}'s limit ${maxDelta} (limits.maxNetDeltaTokens.${o.market}) and larger than before`);
  }
  if (o.sizeAfterUsd6 > limits.maxNotionalUsd6) reasons.push(`position size after ${o.sizeAfterUsd6} > max notional ${limits.maxNotionalUsd6} (USD×1e6)`);
  if (o.sizeAfterUsd6 > 0n) {
    if (o.collateralAfterUsd6 <= 0n) reasons.push("position would have no collateral");
    else {
      const lev = (o.sizeAfterUsd6 * 10_000n) / o.collateralAfterUsd6;
      if (lev > limits.maxLeverageBps) reasons.push(`leverage after ${lev} bps > ${limits.maxLeverageBps} bps`);
    }
  }
  // A request the wallet cannot fund fails in simulation; said here, it is a veto with a fix, not a breaker trip.
  if (o.funding && o.funding.availableBase < o.funding.neededBase) {
    reasons.push(`the wallet can post ${o.funding.availableBase} base units of ${o.funding.token}, the order needs ${o.funding.neededBase}: ${o.funding.fix}`);
  }
  if (state.feesTodayUsd6 + o.estimatedFeeUsd6 > limits.dailyFeeBudgetUsd6) {
    reasons.push(`fee ${o.estimatedFeeUsd6} would exceed today's budget (${state.feesTodayUsd6} of ${limits.dailyFeeBudgetUsd6} spent, USD×1e6)`);
  }
  return reasons;
}
