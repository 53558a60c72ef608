import { PublicKey } from "@solana/web3.js";
import { type MarketSymbol, NATIVE_MINT, wrapSolInstructions } from "../../programs-client";
import type { Order } from "../strategy/orders";
import { buildRequest, needsSwap, requestAddresses } from "../execution/request-builder";
import { SimulationRejected } from "../execution/transaction";
import { type MandateContext, USD6, sentTx } from "./context";
import type { ExternalExposure } from "./external-exposure";
import { followSend } from "./follow";
import type { Purpose } from "./in-flight";
import type { OpenIntent, RequestResult } from "./records";

/** The position a request starts from, and why it is sent. */
export interface IntentContext {
  sizeBeforeUsd6: bigint;
  collateralBeforeUsd6: bigint;
  estimatedFeeUsd6: bigint;
  expectedPriceUsd6: bigint;
  purpose: Purpose;
}

/** Journal the intent, then simulate, sign and send in the background. The market is busy from this line on. */
export function submit(ctx: MandateContext, market: MarketSymbol, order: Order, before: IntentContext, external: ExternalExposure) {
  const nowMs = ctx.d.nowMs();
  const counter = ctx.nextCounter(nowMs);
  const id = `${ctx.name}-${market}-${counter}`;
  const addresses = requestAddresses(ctx.wallet, market, order, counter);
  const intent: OpenIntent["intent"] = {
    t: "intent",
    id,
    mandate: ctx.name,
    market,
    counter: counter.toString(),
    order,
    request: addresses.positionRequest.toBase58(),
    position: addresses.position.toBase58(),
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
  ctx.d.journal.append(intent);
  ctx.emitRequest(open, "intent", `${before.purpose === "collateral" ? `${order.kind === "increase" ? "deposit" : "withdraw"} collateral $${(Number(order.kind === "increase" ? order.collateralUsd6 : order.collateralUsdDelta6) / USD6).toFixed(2)} on ` : ""}${order.kind} ${order.side} $${(Number(order.sizeUsdDelta6) / USD6).toFixed(2)} (${order.deltaTokens.toFixed(4)} ${market}) slippage limit $${(Number(order.priceSlippageUsd6) / USD6).toFixed(4)}`);
  ctx.track(signAndSend(ctx, open, addresses, external));
}

async function signAndSend(ctx: MandateContext, open: OpenIntent, addresses: ReturnType<typeof requestAddresses>, external: ExternalExposure) {
  const { market, order, id } = open.intent;
  const counter = BigInt(open.intent.counter);
  let signed;
  try {
    const referral = ctx.d.cfg.execution.referral;
    const built = buildRequest(ctx.wallet, market, order, counter, await swapMinimumOut(ctx, open, order, addresses), referral ? new PublicKey(referral) : undefined);
    const instructions = [built.instruction];
    if (order.kind === "increase" && built.mint.equals(NATIVE_MINT)) {
      const have = external.collateralBalances.get(NATIVE_MINT.toBase58()) ?? 0n;
      if (have < order.collateralTokenAmount) instructions.unshift(...wrapSolInstructions(ctx.wallet, order.collateralTokenAmount - have));
    }
    ctx.d.fees.watch(built.instruction.keys.filter((k) => k.isWritable && !k.pubkey.equals(built.positionRequest)).map((k) => k.pubkey));
    signed = await ctx.simulateAndSign(instructions);
    ctx.d.trace?.("signed", { mandate: ctx.name, market });
  } catch (e) {
    ctx.refusedToSign(e, market);
    const result: RequestResult = e instanceof SimulationRejected ? "sim-rejected" : "failed";
    ctx.finish(open, result, (e as Error).message, 0n);
    return;
  }
  if (ctx.d.cfg.dryRun) {
    ctx.dryRun.simulateFill(open, ctx.state, ctx.nowSec());
    ctx.finish(open, "dry-run", `simulated ${signed.simulatedUnits} CU; dry run, nothing sent`, 0n);
    return;
  }
  const sent = { t: "sent" as const, id, signature: signed.signature, txBase64: Buffer.from(signed.bytes).toString("base64"), lastValidBlockHeight: signed.lastValidBlockHeight };
  ctx.d.journal.append(sent);
  ctx.d.trace?.("journaled", { mandate: ctx.name, market });
  open.sent = sent;
  ctx.emitRequest(open, "sent", `cu ${signed.computeUnitLimit} price ${signed.microLamports} µlamports/CU`, sentTx(signed));
  await followSend(ctx, open, signed.bytes, signed.signature, signed.lastValidBlockHeight);
}

/** A USDC-funded long's jupiterMinimumOut: the swap quote for its USDC, less the mandate's swap slippage. */
async function swapMinimumOut(ctx: MandateContext, open: OpenIntent, order: Order, addresses: ReturnType<typeof requestAddresses>): Promise<bigint | null> {
  if (order.kind !== "increase" || !needsSwap(addresses)) return null;
  const q = await ctx.d.quoter.quote(addresses.mint, addresses.collateralMint, order.collateralTokenAmount, ctx.d.mandate.swapSlippageBps);
  ctx.emitRequest(open, "quote", `swap ${q.inAmount} USDC base units -> ${q.outAmount} (minimum ${q.minimumOut})`);
  return q.minimumOut;
}
