import { MAINNET, type MarketSymbol, NATIVE_MINT } from "../../programs-client";
import { valueExposure } from "../exposure/mandate-exposure";
import { sharedBookGreeks } from "../exposure/shared-greeks";
import { type MarkState, attributeStep } from "../exposure/pnl-attribution";
import type { MarketSnapshot, MarketView, PositionView } from "../market/reader";
import { mandateVetoes, orderVetoes, type RiskState } from "../risk/limits";
import { oracleVetoes } from "../risk/oracle-guard";
import { custodyPositionFee } from "../strategy/costs";
import { type CollateralDecision, decideCollateral } from "../strategy/collateral-policy";
import { collateralOrderFor, orderFor, type OpenPosition, type Order, type OrderContext, type Side } from "../strategy/orders";
import { decide } from "../strategy/policy";
import { fundingMint } from "../execution/request-builder";
import { type MandateContext, USD6, usd6 } from "./context";
import { mandateDecisionTerms } from "./hedge-terms";
import type { ExternalExposure } from "./external-exposure";
import { addressKey } from "../lib/address-key";
import { submit } from "./submit";

/** Decides the market's hedge on the snapshot: hold, veto, or (with `send`) submit the order back to the band. */
export function decideMarket(ctx: MandateContext, market: MarketSymbol, view: MarketView, snap: MarketSnapshot, external: ExternalExposure, nowSec: number, send: boolean) {
  const m = ctx.d.mandate;
  const flight = ctx.flights.onMarket(market);
  const strayRequest = snap.requests.some((r) => r.market === market);
  const pyth = view.pyth.ok ? view.pyth.value : null;
  const doves = view.doves.ok ? view.doves.value : null;
  const oracleProblems = oracleInputProblems(ctx, view);
  if (oracleProblems.length || view.markPriceUsd6 === null || !view.custody.ok) {
    ctx.d.emit({ kind: "veto", mandate: ctx.name, market, reasons: oracleProblems.length ? oracleProblems : ["market unreadable"] });
    return;
  }
  const custody = view.custody.value;
  const markUsd6 = view.markPriceUsd6;
  const spotUsd = Number(markUsd6) / USD6;
  const { long, short } = positionsOf(market, snap);
  const scale = 10 ** custody.decimals;
  const hedgeTokens = (Number(long?.deltaBase ?? 0n) + Number(short?.deltaBase ?? 0n)) / scale + ctx.dryRun.deltaTokens(market);
  const terms = mandateDecisionTerms(m, market, custody);
  const exposure = valueExposure({
    market,
    spotUsd,
    nowSec,
    legs: ctx.d.legs(),
    walletTokens: external.walletTokens[market] ?? 0,
    jlpTokens: external.jlpTokens[market] ?? 0,
    offsetTokens: m.exposures.offsets[market] ?? 0,
    ...terms.exposure,
  }, sharedBookGreeks);
  const decision = decide({
    policy: terms.policy,
    limits: terms.limitsAt(spotUsd),
    costs: terms.costs,
    spotUsd,
    exposure: exposure.greeks,
    hedgeTokens,
    targetNetDelta: terms.targetNetDelta,
    nowSec,
    lastTradeSec: ctx.state.lastTradeSec.get(market) ?? null,
  });
  const netDelta = exposure.greeks.delta + hedgeTokens;
  const pendingTokens = flight?.open.intent.order.deltaTokens ?? 0;
  const busy = flight !== undefined || strayRequest;
  const borrowUsd6 = [long, short].reduce((sum, p) => sum + (p?.accruedBorrowUsd6 ?? 0n), 0n);
  const mark: MarkState = {
    atMs: ctx.d.nowMs(),
    spotUsd,
    netDelta,
    gamma: m.hedgeRatio * exposure.options.gamma,
    thetaPerYear: m.hedgeRatio * exposure.options.theta,
    accruedBorrowUsd: Number(borrowUsd6) / USD6,
  };
  const prevMark = ctx.marks.get(market);
  ctx.marks.set(market, mark);
  ctx.d.emit({
    kind: "decision",
    mandate: ctx.name,
    market,
    action: decision.action === "trade" && !busy ? "trade" : "hold",
    reason: busy ? `request in flight${flight ? ` (${flight.open.intent.id}, ${flight.phase})` : " (not ours)"}` : decision.reason,
    atMs: mark.atMs,
    priceUsd: spotUsd,
    priceAgeSec: Math.min(pyth ? Number(pyth.ageSec) : Infinity, doves ? Number(doves.ageSec) : Infinity),
    pnl: prevMark ? attributeStep(prevMark, mark) : null,
    stepMs: prevMark ? mark.atMs - prevMark.atMs : 0,
    netDelta,
    hedgeTokens,
    bandCenter: decision.band.center,
    bandHalfWidth: decision.band.halfWidth,
    pendingTokens,
  });
  if (decision.action !== "trade" || busy) return;

  const risk = riskState(ctx, nowSec);
  const blocked = mandateVetoes(risk, ctx.limits, nowSec);
  if (blocked.length) {
    ctx.d.emit({ kind: "veto", mandate: ctx.name, market, reasons: blocked });
    return;
  }
  const order = orderFor(decision.changeTokens, orderContext(ctx, market, custody, markUsd6, snap));
  if (!order) return;
  const traded = order.side === "long" ? long : short;
  const sizeBefore = traded?.position.sizeUsd ?? 0n;
  const collateralBefore = traded?.position.collateralUsd ?? 0n;
  const sizeAfter = order.kind === "increase" ? sizeBefore + order.sizeUsdDelta6 : sizeBefore - order.sizeUsdDelta6;
  const collateralAfter = order.kind === "increase" ? collateralBefore + order.collateralUsd6 : order.entirePosition ? 0n : collateralBefore - order.collateralUsdDelta6;
  // On the program's clock: the imbalance surcharge reads the custody's per-second flow buffer.
  const estimatedFeeUsd6 = custodyPositionFee(custody, order.kind, order.sizeUsdDelta6, snap.chainNowSec ?? BigInt(nowSec)).positionFeeUsd6;
  const orderProblems = orderVetoes(
    {
      market,
      nowSec,
      netDeltaBeforeTokens: netDelta,
      netDeltaAfterTokens: netDelta + order.deltaTokens,
      sizeAfterUsd6: sizeAfter,
      collateralAfterUsd6: collateralAfter,
      estimatedFeeUsd6,
      funding: order.kind === "increase" ? funding(ctx, market, order, external) : null,
    },
    risk,
    ctx.limits,
  );
  if (orderProblems.length) {
    ctx.d.emit({ kind: "veto", mandate: ctx.name, market, reasons: orderProblems });
    return;
  }
  if (!send) return;
  submit(ctx, market, order, { sizeBeforeUsd6: sizeBefore, collateralBeforeUsd6: collateralBefore, estimatedFeeUsd6, expectedPriceUsd6: markUsd6, purpose: "hedge" }, external);
}

/**
 * Each open hedge position's distance to liquidation, reported every cycle; when the mandate's collateral policy
 * says so and the market is free, a deposit or withdrawal (a request with no size change). A deposit the wallet
 * cannot fully fund sends what it can and raises a shortfall naming the token and the amount.
 */
export function manageCollateral(ctx: MandateContext, market: MarketSymbol, view: MarketView, snap: MarketSnapshot, external: ExternalExposure, nowSec: number, send: boolean) {
  const c = ctx.d.mandate.collateral;
  if (!view.custody.ok || view.markPriceUsd6 === null) return;
  const custody = view.custody.value;
  const markUsd6 = view.markPriceUsd6;
  const cfg = { floorSigmas: c.floorSigmas, ceilingSigmas: c.ceilingSigmas, targetLeverage: ctx.d.mandate.targetLeverage, minChangeUsd6: usd6(c.minChangeUsd) };
  for (const p of Object.values(positionsOf(market, snap))) {
    if (!p) continue;
    const x = { position: p.position, custody, borrowFeeUsd6: p.accruedBorrowUsd6 ?? 0n, markUsd6, annualVol: c.annualVol[market] };
    let decision: CollateralDecision;
    try {
      decision = decideCollateral(x, cfg);
    } catch (e) {
      // A custody that does not decode as a perp market (maxLeverage 0): report it, never stop the cycle.
      ctx.warn(market, `collateral policy skipped for the ${p.position.side} position: ${(e as Error).message}`);
      continue;
    }
    const side = p.position.side as Side;
    const busy = ctx.flights.busy(market) || snap.requests.some((r) => r.market === market);
    const act = c.enabled && !busy && decision.action !== "hold";
    const v = decision.view;
    ctx.d.emit({
      kind: "collateral",
      mandate: ctx.name,
      market,
      side,
      action: act ? decision.action : "hold",
      reason: c.enabled ? decision.reason : `policy off (collateral.enabled: false); ${decision.reason}`,
      effectiveLeverage: v.effectiveLeverage,
      liquidationPriceUsd: Number(v.liquidationPriceUsd6) / USD6,
      distancePct: v.distancePct,
      distanceSigmas: v.distanceSigmas,
      amountUsd: decision.action === "hold" ? 0 : Number(decision.amountUsd6) / USD6,
    });
    if (!act || decision.action === "hold") continue;
    const risk = riskState(ctx, nowSec);
    // A deposit defends the hedge whatever the oracles say; a withdrawal needs prices the keeper would trade on.
    const blocked = [...mandateVetoes(risk, ctx.limits, nowSec, { collateral: true }), ...(decision.action === "withdraw" ? oracleInputProblems(ctx, view) : [])];
    if (blocked.length) {
      ctx.d.emit({ kind: "veto", mandate: ctx.name, market, reasons: blocked });
      continue;
    }
    let amountUsd6 = decision.amountUsd6;
    const orderCtx = orderContext(ctx, market, custody, markUsd6, snap);
    let order = collateralOrderFor(decision.action, side, amountUsd6, orderCtx);
    if (order.kind === "increase") {
      const f = funding(ctx, market, order, external);
      if (f.availableBase < f.neededBase) {
        const shortBase = f.neededBase - f.availableBase;
        ctx.d.emit({ kind: "shortfall", mandate: ctx.name, market, token: f.token, neededBase: f.neededBase.toString(), availableBase: f.availableBase.toString(), message: `collateral shortfall: ${market} ${side} is ${v.distanceSigmas.toFixed(2)} daily σ from liquidation and needs $${(Number(amountUsd6) / USD6).toFixed(2)} more collateral; the wallet is ${shortBase} base units of ${f.token} short: ${f.fix}` });
        amountUsd6 = (amountUsd6 * f.availableBase) / f.neededBase;
        if (amountUsd6 < cfg.minChangeUsd6) continue;
        order = collateralOrderFor("deposit", side, amountUsd6, orderCtx);
      }
    } else {
      const collateralAfter = p.position.collateralUsd - amountUsd6;
      const problems = orderVetoes(
        { market, nowSec, netDeltaBeforeTokens: 0, netDeltaAfterTokens: 0, sizeAfterUsd6: p.position.sizeUsd, collateralAfterUsd6: collateralAfter, estimatedFeeUsd6: 0n, funding: null },
        risk,
        ctx.limits,
      );
      if (problems.length) {
        ctx.d.emit({ kind: "veto", mandate: ctx.name, market, reasons: problems });
        continue;
      }
    }
    if (!send || ctx.dryRun.collateralMoved(market, side)) continue;
    submit(ctx, market, order, { sizeBeforeUsd6: p.position.sizeUsd, collateralBeforeUsd6: p.position.collateralUsd, estimatedFeeUsd6: 0n, expectedPriceUsd6: markUsd6, purpose: "collateral" }, external);
    return;
  }
}

/** The oracle guard's vetoes on the market's two feeds, under the keeper's oracle limits. */
function oracleInputProblems(ctx: MandateContext, view: MarketView): string[] {
  const o = ctx.d.cfg.oracle;
  const pyth = view.pyth.ok ? view.pyth.value : null;
  const doves = view.doves.ok ? view.doves.value : null;
  return oracleVetoes(
    {
      pythPriceUsd6: pyth?.priceUsd6 ?? null,
      pythAgeSec: pyth ? Number(pyth.ageSec) : null,
      pythConfBps: pyth?.confBps === null || pyth === null ? null : Number(pyth.confBps),
      dovesPriceUsd6: doves?.priceUsd6 ?? null,
      dovesAgeSec: doves ? Number(doves.ageSec) : null,
    },
    { maxAgeSec: o.maxAgeSec, maxConfBps: o.maxConfBps, maxDivergenceBps: o.maxDivergenceBps },
  );
}

function riskState(ctx: MandateContext, nowSec: number): RiskState {
  const s = ctx.state;
  return { killSwitch: ctx.d.killSwitch(), recentTradeTimesSec: s.tradeTimesSec, feesTodayUsd6: ctx.feesTodayUsd6(nowSec), consecutiveFailures: s.consecutiveFailures, lastFailureSec: s.lastFailureSec };
}

function orderContext(ctx: MandateContext, market: MarketSymbol, custody: { decimals: number }, markUsd6: bigint, snap: MarketSnapshot): OrderContext {
  const m = ctx.d.mandate;
  const { long, short } = positionsOf(market, snap);
  const asOpen = (p: PositionView | undefined): OpenPosition | null =>
    p ? { side: p.position.side as Side, sizeUsd6: p.position.sizeUsd, collateralUsd6: p.position.collateralUsd, entryPriceUsd6: p.position.price } : null;
  return {
    markPriceUsd6: markUsd6,
    decimals: custody.decimals,
    long: asOpen(long),
    short: asOpen(short),
    targetLeverageBps: BigInt(Math.round(m.targetLeverage * 10_000)),
    slippageBps: BigInt(m.slippageBps),
    longCollateral: m.longCollateral,
    usdcDecimals: MAINNET.custodies.USDC.decimals,
  };
}

/** What an increase posts and what the wallet holds of it; native SOL counts for wSOL (it is wrapped), less a fee reserve. */
function funding(ctx: MandateContext, market: MarketSymbol, order: Extract<Order, { kind: "increase" }>, external: ExternalExposure) {
  const mint = fundingMint(market, order);
  let availableBase = external.collateralBalances.get(addressKey(mint)) ?? 0n;
  if (mint.equals(NATIVE_MINT)) {
    const reserve = BigInt(Math.round(ctx.d.cfg.metrics.minWalletSol * 1e9));
    availableBase += external.walletLamports > reserve ? external.walletLamports - reserve : 0n;
  }
  const usdc = mint.equals(MAINNET.custodies.USDC.mint);
  const fix = usdc ? "fund the hedging wallet with USDC" : `fund the hedging wallet with ${market}, or post USDC instead (longCollateral: usdc)`;
  return { token: usdc ? "USDC" : market, neededBase: order.collateralTokenAmount, availableBase, fix };
}

/** The wallet's open long and short on the market, as the snapshot read them. */
function positionsOf(market: MarketSymbol, snap: MarketSnapshot) {
  const custody = MAINNET.custodies[market].custody;
  const open = (side: "long" | "short"): PositionView | undefined =>
    snap.positions.find((p) => p.open && p.position.custody.equals(custody) && p.position.side === side);
  return { long: open("long"), short: open("short") };
}
