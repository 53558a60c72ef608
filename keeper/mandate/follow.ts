import { PublicKey } from "@solana/web3.js";
import type { MarketSymbol } from "../../programs-client";
import { type MarketSnapshot, decodeOnce } from "../market/reader";
import type { SendOutcome } from "../execution/sender";
import { usd } from "../lib/number-format";
import { cancelIfStuck } from "./cancel";
import { readFill } from "./chain-outcomes";
import { type MandateContext, USD6 } from "./context";
import type { OpenIntent } from "./records";

/** Picks up requests a previous run left open: resend their exact bytes until expiry, or follow them on chain. */
export function resumeOpen(ctx: MandateContext): void {
  for (const open of ctx.state.open) {
    if (open.landedSlot !== null) {
      ctx.flights.add(open, "landed");
      ctx.emitRequest(open, "resumed", "landed before the restart; following it on chain");
    } else if (open.sent) {
      ctx.flights.add(open, "sending");
      ctx.emitRequest(open, "resumed", "sent before the restart; rebroadcasting the same bytes until it lands or expires");
      ctx.track(followSend(ctx, open, Buffer.from(open.sent.txBase64, "base64"), open.sent.signature, open.sent.lastValidBlockHeight).then(() => {}));
    } else {
      // Journaled unsigned (an older journal's intent, written before signing): never broadcast, nothing can land.
      ctx.finish(open, "dropped", "intent was never sent (the keeper stopped before broadcasting)", 0n);
    }
  }
}

/** Broadcasts the signed bytes until they land or their blockhash expires, and records which; null when the send threw. */
export async function followSend(ctx: MandateContext, open: OpenIntent, bytes: Uint8Array, signature: string, lastValidBlockHeight: number): Promise<SendOutcome | null> {
  let outcome: SendOutcome;
  try {
    outcome = await ctx.sendUntilSettled({ signature, bytes, lastValidBlockHeight }, open.intent.market);
  } catch (e) {
    ctx.warn(open.intent.market, `send of ${open.intent.id} failed: ${(e as Error).message}`);
    return null;
  }
  if (outcome.status === "aborted") return outcome; // left in the journal as sent: the next run resumes it
  if (outcome.status === "expired") {
    ctx.finish(open, "dropped", `blockhash expired at block height ${outcome.blockHeight} without the transaction landing`, 0n);
    return outcome;
  }
  if (outcome.err) {
    ctx.finish(open, "failed", `transaction landed with error ${JSON.stringify(outcome.err)}`, 0n);
    return outcome;
  }
  ctx.d.journal.append({ t: "landed", id: open.intent.id, slot: outcome.slot });
  open.landedSlot = outcome.slot;
  const flight = ctx.flights.of(open);
  if (flight) {
    flight.phase = "landed";
    flight.landedAtMs = ctx.d.nowMs();
  }
  ctx.emitRequest(open, "landed", `slot ${outcome.slot}; waiting for Jupiter's keeper`);
  return outcome;
}

/**
 * Settles an in-flight request from chain state alone: the request account gone and the position changed.
 * A request still open past Jupiter's execution window (plus a grace) is cancelled by its owner.
 */
export function reconcile(ctx: MandateContext, market: MarketSymbol, snap: MarketSnapshot, snapshotStartedMs: number, send: boolean) {
  const onChain = snap.requests.filter((r) => r.market === market);
  const flight = ctx.flights.onMarket(market);
  if (!flight) {
    const stray = onChain[0];
    // A request this journal does not know (another process, a lost journal): wait for it, never add a second.
    if (stray) ctx.warn(market, `request ${stray.address.toBase58()} is open on chain but not in the journal; waiting for it to close`);
    return;
  }
  if (flight.phase !== "landed" || snapshotStartedMs <= flight.landedAtMs || (flight.open.landedSlot !== null && snap.accountsSlot < flight.open.landedSlot)) return;
  const intent = flight.open.intent;
  const maxExecSec = snap.pool.ok ? Number(snap.pool.value.maxRequestExecutionSec) : 45;
  const requestRaw = snap.extra.get(intent.request);
  const positionRaw = snap.extra.get(intent.position);
  // Not read this cycle (the flight began after the snapshot's keys were chosen): judge it on the next one.
  if (requestRaw === undefined || positionRaw === undefined) return;
  if (requestRaw !== null) {
    const open = decodeOnce("PositionRequest", requestRaw);
    if (open.ok) {
      flight.openedChainSec = open.value.updateTime;
      if (send && !ctx.d.cfg.dryRun) cancelIfStuck(ctx, flight, { address: new PublicKey(intent.request), request: open.value, market }, snap, maxExecSec);
    }
    return;
  }
  // Jupiter keeps Position accounts once created (the request created this one), so an absent or unreadable one is
  // a bad read, never "size 0": wait for the next cycle.
  const position = positionRaw && decodeOnce("Position", positionRaw);
  if (!position?.ok) {
    ctx.warn(market, `position ${intent.position} did not read (${position ? position.error.message : "absent"}); request ${intent.id} reconciled next cycle`);
    return;
  }
  const sizeNow = position.value.sizeUsd;
  const sizeBefore = BigInt(intent.sizeBeforeUsd6);
  // A collateral move fills without a size change: its collateral moved instead (older intents lack the field).
  const collateralMoved = intent.collateralBeforeUsd6 !== undefined && position.value.collateralUsd !== BigInt(intent.collateralBeforeUsd6);
  // Jupiter's program judges expiry by the chain's clock. A request never seen open (closed between two
  // snapshots) has no chain stamp; its intent's wall time stands in.
  const expired =
    flight.openedChainSec !== null && snap.chainNowSec !== null
      ? snap.chainNowSec > flight.openedChainSec + BigInt(maxExecSec)
      : Number(snap.nowSec) > intent.createdSec + maxExecSec;
  if (sizeNow !== sizeBefore || collateralMoved) {
    flight.phase = "settling";
    ctx.track(settleFill(ctx, flight.open, sizeBefore, sizeNow));
  } else if (expired) {
    const by = flight.cancelSentMs !== null ? "; cancelled by the keeper" : "";
    ctx.finish(flight.open, "expired", `request closed unfilled after its ${maxExecSec}s execution window${by}`, 0n);
  } else {
    ctx.finish(flight.open, "rejected", "request closed unfilled (keeper rejected it, e.g. slippage)", 0n);
  }
}

/** A fill seen in the accounts is booked from its transaction's event: the price, fees and borrow the program charged. */
async function settleFill(ctx: MandateContext, open: OpenIntent, sizeBefore: bigint, sizeNow: bigint) {
  const { fill, fallbackReason } = await readFill(ctx.d.history, open, sizeNow - sizeBefore);
  const { order } = open.intent;
  const closesAll = order.kind === "decrease" && (order.entirePosition || order.sizeUsdDelta6 >= sizeBefore);
  if (fill.source === "account" && sizeNow === 0n && !closesAll) {
    // No fill event, and the position is empty though this request could not empty it: another transaction
    // closed it (a liquidation, which the liquidation watch books). The request itself did not fill.
    ctx.finish(open, "rejected", `not filled: position ${open.intent.position} was closed by another transaction (liquidated) while the request was open`, 0n);
    return;
  }
  if (fallbackReason) ctx.warn(open.intent.market, `fill of ${open.intent.id} booked from the account diff (fee estimated, price unknown): ${fallbackReason}`);
  // The signature and the exact amounts are the event's fields (fill, position); the detail is for people.
  const price = fill.priceUsd6 === null ? "" : ` at ${usd(Number(fill.priceUsd6) / USD6, 4)}`;
  const detail = `${order.side} ${usd(Number(sizeBefore) / USD6)} -> ${usd(Number(sizeNow) / USD6)}${price}; fee ${usd(Number(fill.positionFeeUsd6) / USD6, 6)}, borrow settled ${usd(Number(fill.borrowFeeUsd6) / USD6, 6)}`;
  ctx.finish(open, "filled", detail, fill.positionFeeUsd6, { report: fill, sizeNowUsd6: sizeNow });
}
