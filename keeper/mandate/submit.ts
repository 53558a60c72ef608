import { type MarketSymbol, NATIVE_MINT } from "../../programs-client";
import type { Order } from "../strategy/orders";
import { addressKey } from "../lib/address-key";
import { fundingMint } from "../execution/request-builder";
import type { RequestExtras, ReservedRequest, SignedRequestTx } from "../execution/request-signer";
import type { SendOutcome } from "../execution/sender";
import { type MandateContext, USD6, sentTx } from "./context";
import type { ExternalExposure } from "./external-exposure";
import { followSend } from "./follow";
import type { Purpose } from "./in-flight";
import type { OpenIntent } from "./records";

/** The position a request starts from, and why it is sent. */
export interface IntentContext {
  sizeBeforeUsd6: bigint;
  collateralBeforeUsd6: bigint;
  estimatedFeeUsd6: bigint;
  expectedPriceUsd6: bigint;
  purpose: Purpose;
}

/**
 * Sign, journal the intent with its signed bytes (one fsync shared by the cycle's requests), broadcast: no RPC call on the way (the request's
 * PDAs, template, compute limit, blockhash and fee are ready). The market is busy from the first line on; a crash
 * before the record is whole sent nothing, one after it is adopted by the restart (the same bytes rebroadcast).
 */
export function submit(ctx: MandateContext, market: MarketSymbol, order: Order, before: IntentContext, external: ExternalExposure) {
  const nowMs = ctx.d.nowMs();
  const wrapLamports = solToWrap(market, order, external);
  const reserved = ctx.requests.reserve(market, order, wrapLamports !== null);
  const intent: OpenIntent["intent"] = {
    t: "intent",
    id: `${ctx.name}-${market}-${reserved.counter}`,
    mandate: ctx.name,
    market,
    counter: reserved.counter.toString(),
    order,
    request: reserved.positionRequest.toBase58(),
    position: addressKey(reserved.position),
    sizeBeforeUsd6: before.sizeBeforeUsd6.toString(),
    collateralBeforeUsd6: before.collateralBeforeUsd6.toString(),
    purpose: before.purpose,
    createdSec: Math.floor(nowMs / 1000),
    createdMs: nowMs,
    estimatedFeeUsd6: before.estimatedFeeUsd6.toString(),
    expectedPriceUsd6: before.expectedPriceUsd6.toString(),
  };
  const open: OpenIntent = { intent, sent: null, landedSlot: null };
  ctx.flights.add(open, "sending");
  ctx.d.trace?.("decided", { mandate: ctx.name, market });
  ctx.emitRequest(open, "intent", `${before.purpose === "collateral" ? `${order.kind === "increase" ? "deposit" : "withdraw"} collateral $${(Number(order.kind === "increase" ? order.collateralUsd6 : order.collateralUsdDelta6) / USD6).toFixed(2)} on ` : ""}${order.kind} ${order.side} $${(Number(order.sizeUsdDelta6) / USD6).toFixed(2)} (${order.deltaTokens.toFixed(4)} ${market}) slippage limit $${(Number(order.priceSlippageUsd6) / USD6).toFixed(4)}`);
  ctx.track(signAndSend(ctx, open, reserved, { purpose: before.purpose, jupiterMinimumOut: null, wrapLamports }));
}

/** Lamports an increase funded in wSOL must wrap first: what the wallet's wSOL account lacks. */
function solToWrap(market: MarketSymbol, order: Order, external: ExternalExposure): bigint | null {
  if (order.kind !== "increase" || !fundingMint(market, order).equals(NATIVE_MINT)) return null;
  const have = external.collateralBalances.get(addressKey(NATIVE_MINT)) ?? 0n;
  return have < order.collateralTokenAmount ? order.collateralTokenAmount - have : null;
}

async function signAndSend(ctx: MandateContext, open: OpenIntent, reserved: ReservedRequest, extras: RequestExtras) {
  const { market, id } = open.intent;
  let signed: SignedRequestTx;
  try {
    if (reserved.swap) extras = { ...extras, jupiterMinimumOut: await swapMinimumOut(ctx, open, reserved) };
    ctx.d.fees.watch([...reserved.writable]);
    signed = ctx.requests.sign(reserved, extras, await ctx.d.blockhash.get(), ctx.d.fees.quote().microLamports);
    ctx.d.trace?.("signed", { mandate: ctx.name, market });
  } catch (e) {
    ctx.refusedToSign(e, market);
    // Journaled with its outcome, unsigned: the breaker counts it and reports show it; nothing was sent.
    ctx.d.journal.append(open.intent);
    ctx.finish(open, "failed", (e as Error).message, 0n);
    return;
  }
  if (ctx.d.cfg.dryRun) return dryRun(ctx, open, signed);
  const tx = { signature: signed.signature, txBase64: Buffer.from(signed.bytes).toString("base64"), lastValidBlockHeight: signed.lastValidBlockHeight };
  open.intent = { ...open.intent, tx };
  // Every request of the cycle is written, then one fsync covers them all before any of them is broadcast.
  await ctx.d.journal.appendDurable(open.intent);
  ctx.d.trace?.("journaled", { mandate: ctx.name, market });
  open.sent = { t: "sent", id, ...tx };
  const following = followSend(ctx, open, signed.bytes, signed.signature, signed.lastValidBlockHeight);
  // Reported once the cycle's other released sends are handed to the RPC client too: the event (metrics, history,
  // the log line) is not on their path. Still before anything the send leads to, which needs a reply first.
  queueMicrotask(() => ctx.emitRequest(open, "sent", `cu ${signed.computeUnitLimit} price ${signed.microLamports} µlamports/CU`, sentTx(signed)));
  const outcome = await following;
  if (outcome) learnUnits(ctx, reserved, extras, signed, outcome);
}

/** A dry run simulates the exact bytes the live keeper would have sent, and journals the intent without them. */
async function dryRun(ctx: MandateContext, open: OpenIntent, signed: SignedRequestTx) {
  const sim = await ctx.units.simulate(signed.kind, signed.bytes);
  ctx.d.journal.append(open.intent);
  if (!sim.ok) {
    ctx.finish(open, "sim-rejected", `simulation rejected the transaction: ${sim.reason}`, 0n);
    return;
  }
  ctx.dryRun.simulateFill(open, ctx.state, ctx.nowSec());
  ctx.finish(open, "dry-run", `simulated ${sim.units} CU; dry run, nothing sent`, 0n);
}

/** After the send path: what the landed transaction consumed, or a re-calibration when it ran out of units. */
function learnUnits(ctx: MandateContext, reserved: ReservedRequest, extras: RequestExtras, signed: SignedRequestTx, outcome: SendOutcome) {
  if (outcome.status !== "landed") return;
  if (!outcome.err) {
    ctx.track(ctx.units.measureLanded(signed.kind, signed.signature).then(() => {}));
    return;
  }
  const err = outcome.err;
  ctx.track(
    ctx.units.ranOutOfUnits(signed.signature, err).then((ranOut) => {
      if (!ranOut) return;
      ctx.units.ranOut(signed.kind, signed.computeUnitLimit);
      ctx.warn(reserved.market, `transaction ${signed.signature} ran out of compute units at ${signed.computeUnitLimit}; the next asks for more, and ${signed.kind} is simulated again`);
      return ctx.requests.calibrate(reserved.market, reserved.order, extras).then(() => {});
    }),
  );
}

/** A USDC-funded long's jupiterMinimumOut: the swap quote for its USDC, less the mandate's swap slippage. */
async function swapMinimumOut(ctx: MandateContext, open: OpenIntent, r: ReservedRequest): Promise<bigint> {
  const { order, market } = r;
  if (order.kind !== "increase") throw new Error(`${market}: only an increase swaps its funding`);
  const q = await ctx.d.quoter.quote(r.mint, r.collateralMint, order.collateralTokenAmount, ctx.d.mandate.swapSlippageBps);
  ctx.emitRequest(open, "quote", `swap ${q.inAmount} USDC base units -> ${q.outAmount} (minimum ${q.minimumOut})`);
  return q.minimumOut;
}
