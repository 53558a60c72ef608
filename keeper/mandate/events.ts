import type { MarketSymbol } from "../../programs-client";
import type { PnlStep } from "../exposure/pnl-attribution";
import type { Order, Side } from "../strategy/orders";

/** What a sent transaction bid and used. */
export interface SentTx {
  signature: string;
  computeUnitLimit: number;
  /** Units simulated for a cancel; for a market request, the largest its kind recently consumed (0 before any). */
  simulatedUnits: number;
  microLamports: number;
  /** Priority fee at the bid: CU price x CU limit. */
  priorityFeeLamports: number;
}

/** Where a request is: journalled, priced (swap quote), on the wire, on chain, taken over after a restart, or
 * cancelled by its owner once Jupiter's execution window passed with nobody closing it. */
export type RequestStage = "intent" | "quote" | "sent" | "landed" | "resumed" | "cancel";

/** Everything the keeper reports: one event per decision, veto, request and fill. Logs, metrics, the history
 * file and the terminal are all fed from this one stream. */
export type KeeperEvent =
  | {
      kind: "decision";
      mandate: string;
      market: MarketSymbol;
      action: "hold" | "trade";
      reason: string;
      atMs: number;
      priceUsd: number;
      /** Age of the freshest oracle price the decision used. */
      priceAgeSec: number;
      netDelta: number;
      hedgeTokens: number;
      bandCenter: number;
      bandHalfWidth: number;
      pendingTokens: number;
      /** P&L since this market's previous decision, by cause; null on the first. */
      pnl: PnlStep | null;
      stepMs: number;
    }
  | {
      kind: "veto";
      mandate: string;
      market: MarketSymbol;
      reasons: string[];
      /** Set when the signing policy refused a transaction: the SigningPolicyError's code. */
      signingRefusal?: string;
    }
  | {
      kind: "request";
      mandate: string;
      market: MarketSymbol;
      id: string;
      stage: RequestStage;
      request: string;
      detail: string;
      tx?: SentTx;
      /** On the intent: the order, in USD and tokens. */
      order?: OrderSummary;
    }
  | {
      kind: "outcome";
      mandate: string;
      market: MarketSymbol;
      id: string;
      request: string;
      result: string;
      detail: string;
      feeUsd: number;
      latencyMs: number;
      /** A fill as the program reported it, with slippage against the decision's price (null where unknown). */
      fill?: FillSummary;
      /** On a fill: the position the request traded, before and after. */
      position?: { side: Side; sizeBeforeUsd: number; sizeAfterUsd: number };
    }
  | {
      kind: "liquidation";
      mandate: string;
      market: MarketSymbol;
      position: string;
      side: string;
      sizeUsd: number;
      /** The collateral the position held, all of it lost to the pool. */
      collateralUsd: number;
      priceUsd: number | null;
      signature: string | null;
      detail: string;
    }
  | {
      /** A hedge position's distance to liquidation, every cycle, and what the collateral policy does about it. */
      kind: "collateral";
      mandate: string;
      market: MarketSymbol;
      side: string;
      action: "hold" | "deposit" | "withdraw";
      reason: string;
      effectiveLeverage: number;
      liquidationPriceUsd: number;
      distancePct: number;
      distanceSigmas: number;
      amountUsd: number;
    }
  /** A deposit the wallet cannot fund: what to fund, and how much. */
  | { kind: "shortfall"; mandate: string; market: MarketSymbol; token: string; neededBase: string; availableBase: string; message: string }
  | { kind: "warning"; mandate?: string; market?: MarketSymbol; message: string };

/** An order as the terminal and log shippers read it: USD and tokens, not the request's integers. */
export interface OrderSummary {
  purpose: "hedge" | "collateral";
  kind: Order["kind"];
  side: Side;
  /** The size change, ≥ 0. */
  sizeUsd: number;
  /** The signed change to the hedge, in tokens. */
  deltaTokens: number;
  /** Posted by an increase, taken out by a decrease. */
  collateralUsd: number;
  /** The worst fill price the request accepts. */
  priceLimitUsd: number;
}

export function orderSummary(order: Order, purpose: OrderSummary["purpose"]): OrderSummary {
  return {
    purpose,
    kind: order.kind,
    side: order.side,
    sizeUsd: Number(order.sizeUsdDelta6) / 1e6,
    deltaTokens: order.deltaTokens,
    collateralUsd: Number(order.kind === "increase" ? order.collateralUsd6 : order.collateralUsdDelta6) / 1e6,
    priceLimitUsd: Number(order.priceSlippageUsd6) / 1e6,
  };
}

export interface FillSummary {
  source: "event" | "account";
  signature: string | null;
  priceUsd: number | null;
  expectedPriceUsd: number | null;
  slippageBps: number | null;
  impactFeeUsd: number;
  borrowUsd: number;
}
