import { MAINNET, type MarketSymbol, NATIVE_MINT } from "../../programs-client";
import { kindOf } from "../execution/compute-units";
import type { RequestExtras } from "../execution/request-signer";
import type { Order, Side } from "../strategy/orders";
import type { MandateContext } from "./context";

/** One request of each kind the mandate can send on a market, in its real shape (accounts, funding, wrapping, swap). */
export interface SampleRequest {
  market: MarketSymbol;
  order: Order;
  extras: RequestExtras;
}

/** Small but real amounts: the request's accounts and instructions are what cost compute, not the numbers. */
const SIZE_USD6 = 10_000_000n;
const COLLATERAL_BASE = 1_000n;

export function sampleRequests(markets: readonly MarketSymbol[], longCollateral: "underlying" | "usdc", collateralMoves: boolean): SampleRequest[] {
  return markets.flatMap((market) => {
    const out: SampleRequest[] = [];
    const add = (order: Order, purpose: RequestExtras["purpose"]) => {
      const swaps = order.kind === "increase" && order.side === "long" && order.collateralToken === "usdc";
      const extras = { purpose, jupiterMinimumOut: swaps ? 1n : null, wrapLamports: null };
      out.push({ market, order, extras });
      const wraps = order.kind === "increase" && !swaps && (order.side === "long" ? MAINNET.custodies[market].mint : MAINNET.custodies.USDC.mint).equals(NATIVE_MINT);
      if (wraps) out.push({ market, order, extras: { ...extras, wrapLamports: COLLATERAL_BASE } });
    };
    for (const side of ["long", "short"] as Side[]) {
      const collateralToken = side === "long" ? longCollateral : "usdc";
      const increase = (sizeUsdDelta6: bigint): Order => ({ kind: "increase", side, sizeUsdDelta6, collateralUsd6: 1_000_000n, collateralTokenAmount: COLLATERAL_BASE, collateralToken, priceSlippageUsd6: side === "long" ? 10n ** 12n : 1n, deltaTokens: 0 });
      const decrease = (sizeUsdDelta6: bigint, collateralUsdDelta6: bigint): Order => ({ kind: "decrease", side, sizeUsdDelta6, collateralUsdDelta6, entirePosition: false, priceSlippageUsd6: side === "long" ? 1n : 10n ** 12n, deltaTokens: 0 });
      add(increase(SIZE_USD6), "hedge");
      add(decrease(SIZE_USD6, 0n), "hedge");
      if (collateralMoves) {
        add(increase(0n), "collateral");
        add(decrease(0n, 1_000_000n), "collateral");
      }
    }
    return out;
  });
}

/**
 * At start: every shape's template compiled (and checked against the signing policy) and its first request PDAs
 * derived, then each kind's compute units measured by simulating its real request. A kind whose simulation fails
 * everywhere (no funds yet, no position to decrease) keeps execution.defaultComputeUnits until a landed request
 * measures it; one warning says which.
 */
export async function calibrateAtStart(ctx: MandateContext): Promise<void> {
  const m = ctx.d.mandate;
  const samples = sampleRequests(m.markets, m.longCollateral, m.collateral.enabled);
  const calibrated = new Set<string>();
  const failures = new Map<string, string>();
  for (const s of samples) ctx.requests.prepare(s.market, s.order, s.extras.wrapLamports !== null);
  for (const s of samples) {
    if (calibrated.has(kindOf({ change: s.order.kind, purpose: s.extras.purpose, wrapSol: s.extras.wrapLamports !== null, swap: s.extras.jupiterMinimumOut !== null }))) continue;
    const r = await ctx.requests.calibrate(s.market, s.order, s.extras);
    if (r.ok) {
      calibrated.add(r.kind);
      failures.delete(r.kind);
    } else failures.set(r.kind, r.reason);
  }
  if (failures.size === 0) return;
  const list = [...failures].map(([kind, reason]) => `${kind} (${reason.slice(0, 120)})`).join("; ");
  ctx.d.emit({ kind: "warning", mandate: ctx.name, message: `compute units not measured at start for ${list}: these use execution.defaultComputeUnits (${ctx.d.cfg.execution.defaultComputeUnits}) until a landed request measures them` });
}
