import type { MarketSymbol } from "../../programs-client";
import type { PnlStep } from "../exposure/pnl-attribution";

/** What a sent transaction bid and used. */
export interface SentTx {
  signature: string;
  computeUnitLimit: number;
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
  | { kind: "request"; mandate: string; market: MarketSymbol; id: string; stage: RequestStage; request: string; detail: string; tx?: SentTx }
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

export interface FillSummary {
  source: "event" | "account";
  signature: string | null;
  priceUsd: number | null;
  expectedPriceUsd: number | null;
  slippageBps: number | null;
  impactFeeUsd: number;
  borrowUsd: number;
}

const f = (n: number, d = 4) => (Number.isFinite(n) ? n.toFixed(d) : String(n));

/** One human-readable line per event, for the terminal. */
export function formatEvent(e: KeeperEvent): string {
  switch (e.kind) {
    case "decision":
      return `${e.mandate} ${e.market} ${e.action.toUpperCase()} $${f(e.priceUsd, 2)} net ${f(e.netDelta)} hedge ${f(e.hedgeTokens)} band ${f(e.bandCenter)}±${f(e.bandHalfWidth)}${e.pendingTokens ? ` pending ${f(e.pendingTokens)}` : ""}: ${e.reason}`;
    case "veto":
      return `${e.mandate} ${e.market} VETO ${e.reasons.join("; ")}`;
    case "request":
      return `${e.mandate} ${e.market} REQUEST ${e.stage} ${e.id} ${e.request} ${e.detail}`;
    case "outcome":
      return `${e.mandate} ${e.market} ${e.result.toUpperCase()} ${e.id} ${e.request} ${e.detail}`;
    case "liquidation":
      return `${e.mandate} ${e.market} LIQUIDATED ${e.side} $${f(e.sizeUsd, 2)} position ${e.position}: ${e.detail}`;
    case "collateral":
      return `${e.mandate} ${e.market} COLLATERAL ${e.side} ${e.action}${e.amountUsd ? ` $${f(e.amountUsd, 2)}` : ""}: leverage ${f(e.effectiveLeverage, 2)}x, liquidation $${f(e.liquidationPriceUsd, 4)} (${f(e.distancePct, 2)}%, ${f(e.distanceSigmas, 2)} daily σ); ${e.reason}`;
    case "shortfall":
      return `${e.mandate} ${e.market} SHORTFALL ${e.message}`;
    case "warning":
      return `${e.mandate ?? "keeper"}${e.market ? ` ${e.market}` : ""} WARN ${e.message}`;
  }
}
