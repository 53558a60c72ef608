import type { MarketSymbol } from "../../programs-client";
import type { Side } from "../strategy/orders";
import type { OpenIntent, RestoredState } from "./records";

/**
 * What a dry run would have sent on one market, each order filled in simulation at its expected price. Kept in
 * memory only: the journal records dry-run outcomes, which restoreState ignores, so a later live run never sees them.
 */
export interface DryRunFills {
  orders: number;
  /** The simulated hedge: net tokens of the hedge orders, added to the position the decisions see. */
  deltaTokens: number;
  /** Net USD size of the hedge orders (positive long), at the expected prices. */
  sizeUsd6: bigint;
  estimatedFeeUsd6: bigint;
  /** Sides whose collateral move was simulated: the real position never changes, so it is not decided again. */
  collateralMoved: Set<Side>;
}

/** Per market, what this dry run would have sent so far (empty in a live run). */
export class DryRunBook {
  readonly fills = new Map<MarketSymbol, DryRunFills>();

  private of(market: MarketSymbol): DryRunFills {
    let f = this.fills.get(market);
    if (!f) this.fills.set(market, (f = { orders: 0, deltaTokens: 0, sizeUsd6: 0n, estimatedFeeUsd6: 0n, collateralMoved: new Set() }));
    return f;
  }

  /** The simulated hedge on the market, in tokens. */
  deltaTokens(market: MarketSymbol): number {
    return this.fills.get(market)?.deltaTokens ?? 0;
  }

  collateralMoved(market: MarketSymbol, side: Side): boolean {
    return this.fills.get(market)?.collateralMoved.has(side) ?? false;
  }

  /**
   * A dry-run order filled in simulation: the hedge moves by its tokens and, as a fill would, it restarts the cooldown,
   * counts toward trades per hour and spends its estimated fee from the daily budget, so the dry run decides what the
   * live keeper would. Only this process's memory changes (see DryRunFills).
   */
  simulateFill({ intent }: OpenIntent, state: RestoredState, atSec: number): void {
    const f = this.of(intent.market);
    const { order } = intent;
    const feeUsd6 = BigInt(intent.estimatedFeeUsd6);
    f.orders++;
    f.estimatedFeeUsd6 += feeUsd6;
    const day = Math.floor(atSec / 86_400);
    state.feesByDayUsd6.set(day, (state.feesByDayUsd6.get(day) ?? 0n) + feeUsd6);
    if (intent.purpose === "collateral") {
      f.collateralMoved.add(order.side);
      return;
    }
    f.deltaTokens += order.deltaTokens;
    f.sizeUsd6 += order.deltaTokens < 0 ? -order.sizeUsdDelta6 : order.sizeUsdDelta6;
    state.lastTradeSec.set(intent.market, atSec);
    state.tradeTimesSec.push(atSec);
  }
}
