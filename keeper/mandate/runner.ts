import { PublicKey, SYSVAR_CLOCK_PUBKEY } from "@solana/web3.js";
import type { MarketSymbol } from "../../programs-client";
import { type MarketSnapshot, readMarketSnapshot } from "../market/reader";
import type { Order } from "../strategy/orders";
import { calibrateAtStart } from "./calibrate";
import { MandateContext, type RunnerDeps } from "./context";
import { decideMarket, manageCollateral } from "./decide";
import type { DryRunFills } from "./dry-run";
import { type ExternalExposure, readExternalExposure } from "./external-exposure";
import { reconcile, resumeOpen } from "./follow";
import type { LastFill } from "./records";

export type { RunnerDeps } from "./context";
export type { DryRunFills } from "./dry-run";

/** One mandate's hedge: reconcile what is in flight, then decide, guard and act per market. */
/** How often a landed request is read over RPC when no notification has said it closed. */
const VERIFY_EVERY_MS = 2_000;

export class MandateRunner {
  private lastVerifiedMs = 0;
  private readonly ctx: MandateContext;
  lastSnapshot: MarketSnapshot | null = null;
  lastExternal: ExternalExposure | null = null;

  constructor(d: RunnerDeps) {
    this.ctx = new MandateContext(d);
  }

  get name() {
    return this.ctx.name;
  }

  inFlightRequests(): { market: MarketSymbol; id: string; request: string; phase: string; order: Order }[] {
    return this.ctx.flights.all().map((f) => ({ market: f.open.intent.market, id: f.open.intent.id, request: f.open.intent.request, phase: f.phase, order: f.open.intent.order }));
  }

  lastFill(market: MarketSymbol): LastFill | undefined {
    return this.ctx.lastFill(market);
  }

  /** Per market, what this dry run would have sent so far (empty in a live run). */
  dryRunFills(): ReadonlyMap<MarketSymbol, DryRunFills> {
    return this.ctx.dryRun.fills;
  }

  feesTodayUsd6(nowSec: number): bigint {
    return this.ctx.feesTodayUsd6(nowSec);
  }

  /**
   * Picks up requests a previous run left open (resend their exact bytes until expiry, or follow them on chain), and
   * readies the send path in the background: templates, first request PDAs, compute units per kind.
   */
  resume(): void {
    resumeOpen(this.ctx);
    this.ctx.track(calibrateAtStart(this.ctx));
  }

  /** Stop deciding and wait for sends in progress to settle (they stop rebroadcasting once aborted). */
  stop(abortSends: boolean): Promise<void> {
    return this.ctx.stop(abortSends);
  }

  /** One decision cycle over every market of the mandate. Sends are started, not awaited. */
  async tick(options: { send: boolean; markets?: ReadonlySet<MarketSymbol> } = { send: true }): Promise<void> {
    const { ctx } = this;
    const { d } = ctx;
    const startedMs = d.nowMs();
    const nowSec = Math.floor(startedMs / 1000);
    // An outcome is judged on the request and its position read by address at one slot, over RPC: two notifications
    // (the request closing, the position changing) do not arrive together, and a program listing's absence proves
    // nothing. Only landed requests need it, so a cycle with nothing waiting on the chain makes no round trip.
    const watched = ctx.flights
      .all()
      .filter((f) => f.phase === "landed")
      .flatMap((f) => [new PublicKey(f.open.intent.request), new PublicKey(f.open.intent.position)]);
    // While every landed request is still open in the cache (its closure is notified by address), the cache is enough.
    // One that the cache shows gone is confirmed by that RPC read, the Clock in it: expiry is judged on the chain's time
    // at the slot the request was seen closed, not on a Clock notification that may not have arrived yet.
    // A closure that happened before the address subscription took effect is never notified: a landed request is
    // also confirmed over RPC every VERIFY_EVERY_MS, off the price-move path, until it settles.
    const cached = watched.length ? await d.source.getMultipleAccounts(watched) : null;
    const closed = cached !== null && cached.accounts.some((a, i) => i % 2 === 0 && a === null);
    const due = watched.length > 0 && startedMs - this.lastVerifiedMs >= VERIFY_EVERY_MS;
    if (closed || due) this.lastVerifiedMs = startedMs;
    const verified = closed || due ? await (d.refresh ?? ((k) => d.source.getMultipleAccounts(k)))([...watched, SYSVAR_CLOCK_PUBKEY]) : cached;
    const extraKeys = [...ctx.external.keys, ...ctx.liquidations.watchedPositions()];
    const snap = await readMarketSnapshot(d.source, { owner: ctx.wallet, markets: d.mandate.markets, nowSec: BigInt(nowSec), extraKeys });
    if (verified) {
      watched.forEach((k, i) => snap.extra.set(k.toBase58(), verified.accounts[i] ?? null));
      snap.accountsSlot = verified.slot;
    }
    this.lastSnapshot = snap;
    const external = await readExternalExposure(d.source, d.mandate, ctx.external, snap, d.cfg.oracle.jlpAumToleranceBps);
    this.lastExternal = external;
    for (const w of external.warnings) d.emit({ kind: "warning", mandate: ctx.name, message: w });
    const busy = ctx.flights.markets();
    for (const market of d.mandate.markets) reconcile(ctx, market, snap, startedMs, options.send);
    // A market its request just released is decided now, whatever moved: its hedge changed.
    const freed = new Set([...busy].filter((m) => !ctx.flights.busy(m)));
    // Only a decrease of ours that takes the whole size can close a position: with anything else in flight it can
    // still be liquidated.
    const closing = new Set(
      ctx.flights
        .all()
        .filter(({ open: { intent } }) => intent.order.kind === "decrease" && (intent.order.entirePosition || intent.order.sizeUsdDelta6 >= BigInt(intent.sizeBeforeUsd6)))
        .map((f) => f.open.intent.position),
    );
    ctx.liquidations.observe(snap, closing);
    for (const market of d.mandate.markets) {
      const view = snap.markets.find((m) => m.symbol === market);
      // A market whose accounts did not move since its last decision is not decided again on the same state.
      if (!view || (options.markets && !options.markets.has(market) && !freed.has(market))) continue;
      decideMarket(ctx, market, view, snap, external, nowSec, options.send);
      manageCollateral(ctx, market, view, snap, external, nowSec, options.send);
    }
  }
}
