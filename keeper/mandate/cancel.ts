import { closePositionRequest3 } from "../../programs-client";
import type { MarketSnapshot, RequestView } from "../market/reader";
import { type MandateContext, sentTx } from "./context";
import type { InFlight } from "./in-flight";
import type { OpenIntent } from "./records";

/** A cancel whose transaction did not land is retried after about one blockhash lifetime. */
const CANCEL_RETRY_MS = 90_000;

/**
 * Jupiter's keepers close expired requests and refund them; if none has after the grace period, the owner
 * does, so the collateral is not left parked in the request. The close that follows is reconciled as usual.
 */
export function cancelIfStuck(ctx: MandateContext, flight: InFlight, view: RequestView, snap: MarketSnapshot, maxExecSec: number) {
  if (snap.chainNowSec === null) return;
  const overdueSec = snap.chainNowSec - (view.request.updateTime + BigInt(maxExecSec));
  if (overdueSec <= BigInt(ctx.d.cfg.execution.cancelExpiredAfterSec)) return;
  const nowMs = ctx.d.nowMs();
  if (flight.cancelSentMs !== null && nowMs - flight.cancelSentMs < CANCEL_RETRY_MS) return;
  flight.cancelSentMs = nowMs;
  ctx.track(cancel(ctx, flight.open, view, overdueSec));
}

async function cancel(ctx: MandateContext, open: OpenIntent, view: RequestView, overdueSec: bigint) {
  const r = view.request;
  const market = open.intent.market;
  try {
    const ix = closePositionRequest3({ owner: ctx.wallet, pool: r.pool, position: r.position, positionRequest: view.address, mint: r.mint, custody: r.custody });
    const signed = await ctx.simulateAndSign([ix]);
    ctx.d.journal.append({ t: "cancel", id: open.intent.id, signature: signed.signature, atSec: ctx.nowSec() });
    ctx.emitRequest(open, "cancel", `still open ${overdueSec}s past Jupiter's execution window; owner cancel sent`, sentTx(signed));
    const outcome = await ctx.sendUntilSettled(signed);
    if (outcome.status === "expired") ctx.warn(market, `cancel of ${open.intent.id} did not land before its blockhash expired; retrying later`);
    else if (outcome.status === "landed" && outcome.err) ctx.warn(market, `cancel of ${open.intent.id} failed on chain: ${JSON.stringify(outcome.err)}`);
  } catch (e) {
    if (ctx.refusedToSign(e, market)) return;
    // Usually a race: Jupiter's keeper closed the request between the snapshot and the simulation.
    ctx.warn(market, `cancel of ${open.intent.id} not sent: ${(e as Error).message}`);
  }
}
