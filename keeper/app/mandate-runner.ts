import { type Connection, type Keypair, PublicKey, type TransactionInstruction } from "@solana/web3.js";
import { MAINNET, type MarketSymbol, closePositionRequest3 } from "../../programs-client";
import type { OptionLeg } from "../exposure/options-book";
import { valueExposure } from "../exposure/mandate-exposure";
import { type MarkState, attributeStep } from "../exposure/pnl-attribution";
import type { AccountSource, RawAccount } from "../market/account-source";
import { type MarketSnapshot, type MarketView, type PositionView, type RequestView, readMarketSnapshot } from "../market/reader";
import type { Journal } from "../ops/journal";
import { usd } from "../ops/terminal-format";
import { mandateVetoes, orderVetoes, type MandateLimits, type RiskState } from "../risk/limits";
import { oracleVetoes } from "../risk/oracle-guard";
import { type SigningPolicy, SigningPolicyError, signingPolicyFor } from "../risk/signing-policy";
import { custodyPositionFee } from "../strategy/costs";
import { collateralOrderFor, orderFor, type OpenPosition, type Order, type OrderContext, type Side } from "../strategy/orders";
import { type CollateralDecision, decideCollateral } from "../strategy/collateral-policy";
import { decide, type PolicyConfig } from "../strategy/policy";
import type { BlockhashCache } from "../execution/blockhash-cache";
import type { PriorityFeeTracker } from "../execution/priority-fee";
import { sendUntilSettled, type SendOutcome } from "../execution/sender";
import { type SignedTransaction, SimulationRejected, simulateAndSign } from "../execution/transaction";
import { NATIVE_MINT, wrapSolInstructions } from "../../programs-client";
import type { KeeperConfig, MandateConfig } from "./config";
import type { TraceHook } from "../lib/trace";
import { type KeeperEvent, type RequestStage, type SentTx, orderSummary } from "./events";
import { applyOutcome, type JournalRecord, type LastFill, type OpenIntent, type RequestResult, type RestoredState, restoreState, toFillRecord } from "./records";
import { buildRequest, fundingMint, needsSwap, requestAddresses } from "./request-builder";
import type { SwapQuoter } from "../execution/swap-quote";
import { decodeAccount } from "../../programs-client";
import { type ExternalAccounts, externalAccounts, readExternalExposure, type ExternalExposure } from "./external-exposure";
import type { FillReport } from "../market/fill-report";
import type { TransactionHistory } from "../market/transaction-history";
import { readFill, summariseFill } from "./chain-outcomes";
import { LiquidationWatch } from "./liquidation-watch";

export interface RunnerDeps {
  connection: Connection;
  /** Where decisions read accounts: the keeper's stream-fed cache (or any source, in tests). */
  source: AccountSource;
  /**
   * Read addresses over RPC at one slot, and make `source` at least that new for them: how an outcome is judged.
   * Without it, `source` is read.
   */
  refresh?: (keys: PublicKey[]) => Promise<{ slot: number; accounts: (RawAccount | null)[] }>;
  trace?: TraceHook;
  /** Where fills and liquidations are read from: the transactions' own events. */
  history: TransactionHistory;
  cfg: KeeperConfig;
  mandate: MandateConfig;
  payer: Keypair;
  journal: Journal<JournalRecord>;
  journalRecords: readonly JournalRecord[];
  fees: PriorityFeeTracker;
  blockhash: BlockhashCache;
  emit: (e: KeeperEvent) => void;
  nowMs: () => number;
  killSwitch: () => boolean;
  legs: () => readonly OptionLeg[];
  quoter: SwapQuoter;
}

/** A request between intent and reconciliation. `phase` says who moves it on: the sender, or the chain. */
interface InFlight {
  open: OpenIntent;
  /** settling: the chain shows it filled; its fill transaction's events are being read. */
  phase: "sending" | "landed" | "settling";
  /** Wall ms when it was seen landed; only a snapshot started later can show the request closed. */
  landedAtMs: number;
  /** The request's updateTime on the chain's clock, once a snapshot has shown it open: its expiry is judged from it. */
  openedChainSec: bigint | null;
  /** Wall ms of the last owner cancel sent for it: one per blockhash lifetime at most. */
  cancelSentMs: number | null;
}

/** The position a request starts from, and why it is sent. */
interface IntentContext {
  sizeBeforeUsd6: bigint;
  collateralBeforeUsd6: bigint;
  estimatedFeeUsd6: bigint;
  expectedPriceUsd6: bigint;
  purpose: "hedge" | "collateral";
}

/** A cancel whose transaction did not land is retried after about one blockhash lifetime. */
const CANCEL_RETRY_MS = 90_000;

const USD6 = 1_000_000;

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

/** What a signed transaction bids, for the events and metrics. */
function sentTx(signed: SignedTransaction): SentTx {
  const { signature, computeUnitLimit, simulatedUnits, microLamports } = signed;
  return { signature, computeUnitLimit, simulatedUnits, microLamports, priorityFeeLamports: Math.ceil((microLamports * computeUnitLimit) / 1e6) };
}

function usd6(n: number): bigint {
  return BigInt(Math.round(n * USD6));
}

/** One mandate's hedge: reconcile what is in flight, then decide, guard and act per market. */
export class MandateRunner {
  private readonly inFlight = new Map<MarketSymbol, InFlight>();
  /** The last decision's state per market, for P&L attribution to the next. */
  private readonly marks = new Map<MarketSymbol, MarkState>();
  private readonly dryRun = new Map<MarketSymbol, DryRunFills>();
  private readonly state: RestoredState;
  private readonly wallet: PublicKey;
  private readonly limits: MandateLimits;
  private readonly signing: SigningPolicy;
  /** Accounts besides the perps the cycle reads, fixed by the mandate: read in the snapshot's one call. */
  private readonly external: ExternalAccounts;
  private seq = 0;
  private readonly sends = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  /** The wallet's open positions in the previous snapshot: one that closes without a request of ours was liquidated. */
  private readonly liquidations: LiquidationWatch;
  lastSnapshot: MarketSnapshot | null = null;
  lastExternal: ExternalExposure | null = null;

  constructor(private readonly d: RunnerDeps) {
    this.wallet = new PublicKey(d.mandate.wallet);
    const l = d.mandate.limits;
    this.limits = {
      maxNetDeltaTokens: { ...l.maxNetDeltaTokens },
      maxNotionalUsd6: usd6(l.maxNotionalUsd),
      maxLeverageBps: BigInt(Math.round(l.maxLeverage * 10_000)),
      maxTradesPerHour: l.maxTradesPerHour,
      dailyFeeBudgetUsd6: usd6(l.dailyFeeBudgetUsd),
      maxConsecutiveFailures: l.maxConsecutiveFailures,
      breakerCooldownSec: l.breakerCooldownSec,
    };
    this.signing = signingPolicyFor(this.wallet, d.cfg.execution);
    this.state = restoreState(d.journalRecords, d.mandate.name);
    this.external = externalAccounts(d.mandate, this.wallet);
    this.liquidations = new LiquidationWatch({
      mandate: d.mandate.name,
      history: d.history,
      journal: d.journal,
      emit: d.emit,
      nowSec: () => this.nowSec(),
      track: (p) => this.track(p),
    });
  }

  get name() {
    return this.d.mandate.name;
  }

  inFlightRequests(): { market: MarketSymbol; id: string; request: string; phase: string; order: Order }[] {
    return [...this.inFlight.entries()].map(([market, f]) => ({ market, id: f.open.intent.id, request: f.open.intent.request, phase: f.phase, order: f.open.intent.order }));
  }

  lastFill(market: MarketSymbol): LastFill | undefined {
    return this.state.lastFill.get(market);
  }

  /** Per market, what this dry run would have sent so far (empty in a live run). */
  dryRunFills(): ReadonlyMap<MarketSymbol, DryRunFills> {
    return this.dryRun;
  }

  private dryRunOf(market: MarketSymbol): DryRunFills {
    let f = this.dryRun.get(market);
    if (!f) this.dryRun.set(market, (f = { orders: 0, deltaTokens: 0, sizeUsd6: 0n, estimatedFeeUsd6: 0n, collateralMoved: new Set() }));
    return f;
  }

  /**
   * A dry-run order filled in simulation: the hedge moves by its tokens and, as a fill would, it restarts the cooldown,
   * counts toward trades per hour and spends its estimated fee from the daily budget, so the dry run decides what the
   * live keeper would. Only this process's memory changes (see DryRunFills).
   */
  private simulateFill({ intent }: OpenIntent) {
    const f = this.dryRunOf(intent.market);
    const { order } = intent;
    const feeUsd6 = BigInt(intent.estimatedFeeUsd6);
    const atSec = this.nowSec();
    f.orders++;
    f.estimatedFeeUsd6 += feeUsd6;
    const day = Math.floor(atSec / 86_400);
    this.state.feesByDayUsd6.set(day, (this.state.feesByDayUsd6.get(day) ?? 0n) + feeUsd6);
    if (intent.purpose === "collateral") {
      f.collateralMoved.add(order.side);
      return;
    }
    f.deltaTokens += order.deltaTokens;
    f.sizeUsd6 += order.deltaTokens < 0 ? -order.sizeUsdDelta6 : order.sizeUsdDelta6;
    this.state.lastTradeSec.set(intent.market, atSec);
    this.state.tradeTimesSec.push(atSec);
  }

  feesTodayUsd6(nowSec: number): bigint {
    return this.state.feesByDayUsd6.get(Math.floor(nowSec / 86_400)) ?? 0n;
  }

  private nowSec() {
    return Math.floor(this.d.nowMs() / 1000);
  }

  /** Picks up requests a previous run left open: resend their exact bytes until expiry, or follow them on chain. */
  resume(): void {
    for (const open of this.state.open) {
      const market = open.intent.market;
      if (open.landedSlot !== null) {
        this.inFlight.set(market, { open, phase: "landed", landedAtMs: 0, openedChainSec: null, cancelSentMs: null });
        this.emitRequest(open, "resumed", "landed before the restart; following it on chain");
      } else if (open.sent) {
        this.inFlight.set(market, { open, phase: "sending", landedAtMs: 0, openedChainSec: null, cancelSentMs: null });
        this.emitRequest(open, "resumed", "sent before the restart; rebroadcasting the same bytes until it lands or expires");
        this.track(this.followSend(open, Buffer.from(open.sent.txBase64, "base64"), open.sent.signature, open.sent.lastValidBlockHeight));
      } else {
        // Journaled before signing and never broadcast: nothing can land.
        this.finish(open, "dropped", "intent was never sent (the keeper stopped before broadcasting)", 0n);
      }
    }
  }

  private track(p: Promise<void>) {
    this.sends.add(p);
    void p.finally(() => this.sends.delete(p));
  }

  /** Stop deciding and wait for sends in progress to settle (they stop rebroadcasting once aborted). */
  async stop(abortSends: boolean): Promise<void> {
    if (abortSends) this.abort.abort();
    await Promise.allSettled([...this.sends]);
  }

  private emitRequest(open: OpenIntent, stage: RequestStage, detail: string, tx?: SentTx) {
    const { intent } = open;
    const order = stage === "intent" ? { order: orderSummary(intent.order, intent.purpose ?? "hedge") } : {};
    this.d.emit({ kind: "request", mandate: this.name, market: intent.market, id: intent.id, stage, request: intent.request, detail, ...(tx ? { tx } : {}), ...order });
  }

  private finish(open: OpenIntent, result: RequestResult, detail: string, feeUsd6: bigint, fill?: { report: FillReport; sizeNowUsd6: bigint }) {
    const atSec = this.nowSec();
    const outcome = { t: "outcome" as const, id: open.intent.id, result, detail, atSec, feeUsd6: feeUsd6.toString(), ...(fill ? { fill: toFillRecord(fill.report) } : {}) };
    this.d.journal.append(outcome);
    applyOutcome(this.state, open.intent, outcome);
    if (this.inFlight.get(open.intent.market)?.open === open) this.inFlight.delete(open.intent.market);
    const latencyMs = Math.max(0, this.d.nowMs() - (open.intent.createdMs ?? open.intent.createdSec * 1000));
    this.d.emit({
      kind: "outcome",
      mandate: this.name,
      market: open.intent.market,
      id: open.intent.id,
      request: open.intent.request,
      result,
      detail,
      feeUsd: Number(feeUsd6) / USD6,
      latencyMs,
      ...(fill
        ? {
            fill: summariseFill(open, fill.report),
            position: { side: open.intent.order.side, sizeBeforeUsd: Number(open.intent.sizeBeforeUsd6) / USD6, sizeAfterUsd: Number(fill.sizeNowUsd6) / USD6 },
          }
        : {}),
    });
  }

  /** A fill seen in the accounts is booked from its transaction's event: the price, fees and borrow the program charged. */
  private async settleFill(open: OpenIntent, sizeBefore: bigint, sizeNow: bigint) {
    const { fill, fallbackReason } = await readFill(this.d.history, open, sizeNow - sizeBefore);
    const { order } = open.intent;
    const closesAll = order.kind === "decrease" && (order.entirePosition || order.sizeUsdDelta6 >= sizeBefore);
    if (fill.source === "account" && sizeNow === 0n && !closesAll) {
      // No fill event, and the position is empty though this request could not empty it: another transaction
      // closed it (a liquidation, which the liquidation watch books). The request itself did not fill.
      this.finish(open, "rejected", `not filled: position ${open.intent.position} was closed by another transaction (liquidated) while the request was open`, 0n);
      return;
    }
    if (fallbackReason) this.d.emit({ kind: "warning", mandate: this.name, market: open.intent.market, message: `fill of ${open.intent.id} booked from the account diff (fee estimated, price unknown): ${fallbackReason}` });
    // The signature and the exact amounts are the event's fields (fill, position); the detail is for people.
    const price = fill.priceUsd6 === null ? "" : ` at ${usd(Number(fill.priceUsd6) / USD6, 4)}`;
    const detail = `${order.side} ${usd(Number(sizeBefore) / USD6)} -> ${usd(Number(sizeNow) / USD6)}${price}; fee ${usd(Number(fill.positionFeeUsd6) / USD6, 6)}, borrow settled ${usd(Number(fill.borrowFeeUsd6) / USD6, 6)}`;
    this.finish(open, "filled", detail, fill.positionFeeUsd6, { report: fill, sizeNowUsd6: sizeNow });
  }

  /** One decision cycle over every market of the mandate. Sends are started, not awaited. */
  async tick(options: { send: boolean; markets?: ReadonlySet<MarketSymbol> } = { send: true }): Promise<void> {
    const startedMs = this.d.nowMs();
    const nowSec = Math.floor(startedMs / 1000);
    // An outcome is judged on the request and its position read by address at one slot, over RPC: two notifications
    // (the request closing, the position changing) do not arrive together, and a program listing's absence proves
    // nothing. Only landed requests need it, so a cycle with nothing waiting on the chain makes no round trip.
    const watched = [...this.inFlight.values()].filter((f) => f.phase === "landed").flatMap((f) => [new PublicKey(f.open.intent.request), new PublicKey(f.open.intent.position)]);
    const verified = watched.length ? await (this.d.refresh ?? ((k) => this.d.source.getMultipleAccounts(k)))(watched) : null;
    const extraKeys = [...this.external.keys, ...this.liquidations.watchedPositions()];
    const snap = await readMarketSnapshot(this.d.source, { owner: this.wallet, markets: this.d.mandate.markets, nowSec: BigInt(nowSec), extraKeys });
    if (verified) {
      watched.forEach((k, i) => snap.extra.set(k.toBase58(), verified.accounts[i] ?? null));
      snap.accountsSlot = verified.slot;
    }
    this.lastSnapshot = snap;
    const external = await readExternalExposure(this.d.source, this.d.mandate, this.external, snap, this.d.cfg.oracle.jlpAumToleranceBps);
    this.lastExternal = external;
    for (const w of external.warnings) this.d.emit({ kind: "warning", mandate: this.name, message: w });
    const busy = new Set(this.inFlight.keys());
    for (const market of this.d.mandate.markets) this.reconcile(market, snap, startedMs, options.send);
    // A market its request just released is decided now, whatever moved: its hedge changed.
    const freed = new Set([...busy].filter((m) => !this.inFlight.has(m)));
    // Only a decrease of ours that takes the whole size can close a position: with anything else in flight it can
    // still be liquidated.
    const closing = new Set(
      [...this.inFlight.values()]
        .filter(({ open: { intent } }) => intent.order.kind === "decrease" && (intent.order.entirePosition || intent.order.sizeUsdDelta6 >= BigInt(intent.sizeBeforeUsd6)))
        .map((f) => f.open.intent.position),
    );
    this.liquidations.observe(snap, closing);
    for (const market of this.d.mandate.markets) {
      const view = snap.markets.find((m) => m.symbol === market);
      // A market whose accounts did not move since its last decision is not decided again on the same state.
      if (!view || (options.markets && !options.markets.has(market) && !freed.has(market))) continue;
      this.decideMarket(market, view, snap, external, nowSec, options.send);
      this.manageCollateral(market, view, snap, external, nowSec, options.send);
    }
  }

  /**
   * Each open hedge position's distance to liquidation, reported every cycle; when the mandate's collateral policy
   * says so and the market is free, a deposit or withdrawal (a request with no size change). A deposit the wallet
   * cannot fully fund sends what it can and raises a shortfall naming the token and the amount.
   */
  private manageCollateral(market: MarketSymbol, view: MarketView, snap: MarketSnapshot, external: ExternalExposure, nowSec: number, send: boolean) {
    const c = this.d.mandate.collateral;
    if (!view.custody.ok || view.markPriceUsd6 === null) return;
    const custody = view.custody.value;
    const markUsd6 = view.markPriceUsd6;
    const cfg = { floorSigmas: c.floorSigmas, ceilingSigmas: c.ceilingSigmas, targetLeverage: this.d.mandate.targetLeverage, minChangeUsd6: usd6(c.minChangeUsd) };
    for (const p of Object.values(this.positionsOf(market, snap))) {
      if (!p) continue;
      const x = { position: p.position, custody, borrowFeeUsd6: p.accruedBorrowUsd6 ?? 0n, markUsd6, annualVol: c.annualVol[market] };
      let decision: CollateralDecision;
      try {
        decision = decideCollateral(x, cfg);
      } catch (e) {
        // A custody that does not decode as a perp market (maxLeverage 0): report it, never stop the cycle.
        this.d.emit({ kind: "warning", mandate: this.name, market, message: `collateral policy skipped for the ${p.position.side} position: ${(e as Error).message}` });
        continue;
      }
      const side = p.position.side as Side;
      const busy = this.inFlight.has(market) || snap.requests.some((r) => r.market === market);
      const act = c.enabled && !busy && decision.action !== "hold";
      const v = decision.view;
      this.d.emit({
        kind: "collateral",
        mandate: this.name,
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
      const riskState = this.riskState(nowSec);
      // A deposit defends the hedge whatever the oracles say; a withdrawal needs prices the keeper would trade on.
      const blocked = [...mandateVetoes(riskState, this.limits, nowSec, { collateral: true }), ...(decision.action === "withdraw" ? this.oracleProblems(view) : [])];
      if (blocked.length) {
        this.d.emit({ kind: "veto", mandate: this.name, market, reasons: blocked });
        continue;
      }
      let amountUsd6 = decision.amountUsd6;
      const ctx = this.orderContext(market, custody, markUsd6, snap);
      let order = collateralOrderFor(decision.action, side, amountUsd6, ctx);
      if (order.kind === "increase") {
        const funding = this.funding(market, order, external);
        if (funding.availableBase < funding.neededBase) {
          const shortBase = funding.neededBase - funding.availableBase;
          this.d.emit({ kind: "shortfall", mandate: this.name, market, token: funding.token, neededBase: funding.neededBase.toString(), availableBase: funding.availableBase.toString(), message: `collateral shortfall: ${market} ${side} is ${v.distanceSigmas.toFixed(2)} daily σ from liquidation and needs $${(Number(amountUsd6) / USD6).toFixed(2)} more collateral; the wallet is ${shortBase} base units of ${funding.token} short: ${funding.fix}` });
          amountUsd6 = (amountUsd6 * funding.availableBase) / funding.neededBase;
          if (amountUsd6 < cfg.minChangeUsd6) continue;
          order = collateralOrderFor("deposit", side, amountUsd6, ctx);
        }
      } else {
        const collateralAfter = p.position.collateralUsd - amountUsd6;
        const problems = orderVetoes(
          { market, nowSec, netDeltaBeforeTokens: 0, netDeltaAfterTokens: 0, sizeAfterUsd6: p.position.sizeUsd, collateralAfterUsd6: collateralAfter, estimatedFeeUsd6: 0n, funding: null },
          riskState,
          this.limits,
        );
        if (problems.length) {
          this.d.emit({ kind: "veto", mandate: this.name, market, reasons: problems });
          continue;
        }
      }
      if (!send || this.dryRun.get(market)?.collateralMoved.has(side)) continue;
      this.submit(market, order, { sizeBeforeUsd6: p.position.sizeUsd, collateralBeforeUsd6: p.position.collateralUsd, estimatedFeeUsd6: 0n, expectedPriceUsd6: markUsd6, purpose: "collateral" }, external);
      return;
    }
  }

  /**
   * Settles an in-flight request from chain state alone: the request account gone and the position changed.
   * A request still open past Jupiter's execution window (plus a grace) is cancelled by its owner.
   */
  private reconcile(market: MarketSymbol, snap: MarketSnapshot, snapshotStartedMs: number, send: boolean) {
    const onChain = snap.requests.filter((r) => r.market === market);
    const flight = this.inFlight.get(market);
    if (!flight) {
      const stray = onChain[0];
      if (stray) {
        // A request this journal does not know (another process, a lost journal): wait for it, never add a second.
        this.d.emit({ kind: "warning", mandate: this.name, market, message: `request ${stray.address.toBase58()} is open on chain but not in the journal; waiting for it to close` });
      }
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
      const open = decodeAccount("PositionRequest", requestRaw.data, requestRaw.owner);
      if (open.ok) {
        flight.openedChainSec = open.value.updateTime;
        if (send && !this.d.cfg.dryRun) this.cancelIfStuck(flight, { address: new PublicKey(intent.request), request: open.value, market }, snap, maxExecSec);
      }
      return;
    }
    // Jupiter keeps Position accounts once created (the request created this one), so an absent or unreadable one is
    // a bad read, never "size 0": wait for the next cycle.
    const position = positionRaw && decodeAccount("Position", positionRaw.data, positionRaw.owner);
    if (!position?.ok) {
      this.d.emit({ kind: "warning", mandate: this.name, market, message: `position ${intent.position} did not read (${position ? position.error.message : "absent"}); request ${intent.id} reconciled next cycle` });
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
      this.track(this.settleFill(flight.open, sizeBefore, sizeNow));
    } else if (expired) {
      const by = flight.cancelSentMs !== null ? "; cancelled by the keeper" : "";
      this.finish(flight.open, "expired", `request closed unfilled after its ${maxExecSec}s execution window${by}`, 0n);
    } else {
      this.finish(flight.open, "rejected", "request closed unfilled (keeper rejected it, e.g. slippage)", 0n);
    }
  }

  /**
   * Jupiter's keepers close expired requests and refund them; if none has after the grace period, the owner
   * does, so the collateral is not left parked in the request. The close that follows is reconciled as usual.
   */
  private cancelIfStuck(flight: InFlight, view: RequestView, snap: MarketSnapshot, maxExecSec: number) {
    if (snap.chainNowSec === null) return;
    const overdueSec = snap.chainNowSec - (view.request.updateTime + BigInt(maxExecSec));
    if (overdueSec <= BigInt(this.d.cfg.execution.cancelExpiredAfterSec)) return;
    const nowMs = this.d.nowMs();
    if (flight.cancelSentMs !== null && nowMs - flight.cancelSentMs < CANCEL_RETRY_MS) return;
    flight.cancelSentMs = nowMs;
    this.track(this.cancel(flight.open, view, overdueSec));
  }

  private async cancel(open: OpenIntent, view: RequestView, overdueSec: bigint) {
    const r = view.request;
    const market = open.intent.market;
    try {
      const ix = closePositionRequest3({ owner: this.wallet, pool: r.pool, position: r.position, positionRequest: view.address, mint: r.mint, custody: r.custody });
      const signed = await this.simulateAndSign([ix]);
      this.d.journal.append({ t: "cancel", id: open.intent.id, signature: signed.signature, atSec: this.nowSec() });
      this.emitRequest(open, "cancel", `still open ${overdueSec}s past Jupiter's execution window; owner cancel sent`, sentTx(signed));
      const outcome = await this.sendUntilSettled(signed);
      if (outcome.status === "expired") this.d.emit({ kind: "warning", mandate: this.name, market, message: `cancel of ${open.intent.id} did not land before its blockhash expired; retrying later` });
      else if (outcome.status === "landed" && outcome.err) this.d.emit({ kind: "warning", mandate: this.name, market, message: `cancel of ${open.intent.id} failed on chain: ${JSON.stringify(outcome.err)}` });
    } catch (e) {
      if (this.refusedToSign(e, market)) return;
      // Usually a race: Jupiter's keeper closed the request between the snapshot and the simulation.
      this.d.emit({ kind: "warning", mandate: this.name, market, message: `cancel of ${open.intent.id} not sent: ${(e as Error).message}` });
    }
  }

  private positionsOf(market: MarketSymbol, snap: MarketSnapshot) {
    const custody = MAINNET.custodies[market].custody;
    const open = (side: "long" | "short"): PositionView | undefined =>
      snap.positions.find((p) => p.open && p.position.custody.equals(custody) && p.position.side === side);
    return { long: open("long"), short: open("short") };
  }

  private decideMarket(market: MarketSymbol, view: MarketView, snap: MarketSnapshot, external: ExternalExposure, nowSec: number, send: boolean) {
    const m = this.d.mandate;
    const flight = this.inFlight.get(market);
    const strayRequest = snap.requests.some((r) => r.market === market);
    const pyth = view.pyth.ok ? view.pyth.value : null;
    const doves = view.doves.ok ? view.doves.value : null;
    const oracleProblems = this.oracleProblems(view);
    if (oracleProblems.length || view.markPriceUsd6 === null || !view.custody.ok) {
      this.d.emit({ kind: "veto", mandate: this.name, market, reasons: oracleProblems.length ? oracleProblems : ["market unreadable"] });
      return;
    }
    const custody = view.custody.value;
    const markUsd6 = view.markPriceUsd6;
    const spotUsd = Number(markUsd6) / USD6;
    const { long, short } = this.positionsOf(market, snap);
    const scale = 10 ** custody.decimals;
    const hedgeTokens = (Number(long?.deltaBase ?? 0n) + Number(short?.deltaBase ?? 0n)) / scale + (this.dryRun.get(market)?.deltaTokens ?? 0);
    const exposure = valueExposure({
      market,
      spotUsd,
      nowSec,
      legs: this.d.legs(),
      walletTokens: external.walletTokens[market] ?? 0,
      jlpTokens: external.jlpTokens[market] ?? 0,
      offsetTokens: m.exposures.offsets[market] ?? 0,
      hedgeRatio: m.hedgeRatio,
      jlpDeltaVarianceRate: 0,
    });
    const policy: PolicyConfig = m.policy.kind === "fixed" ? { kind: "fixed", thresholdTokens: m.policy.thresholdTokens[market] ?? 0 } : m.policy;
    const feeBps = Number(custody.increasePositionBps > custody.decreasePositionBps ? custody.increasePositionBps : custody.decreasePositionBps);
    const decision = decide({
      policy,
      limits: { minTradeTokens: m.trade.minTradeUsd / spotUsd, maxTradeTokens: m.trade.maxTradeUsd / spotUsd, cooldownSec: m.trade.cooldownSec },
      costs: { feeBps, impactFeeScalar: Number(custody.pricing.tradeImpactFeeScalar) },
      spotUsd,
      exposure: exposure.greeks,
      hedgeTokens,
      targetNetDelta: m.targetNetDelta[market] ?? 0,
      nowSec,
      lastTradeSec: this.state.lastTradeSec.get(market) ?? null,
    });
    const netDelta = exposure.greeks.delta + hedgeTokens;
    const pendingTokens = flight?.open.intent.order.deltaTokens ?? 0;
    const busy = flight !== undefined || strayRequest;
    const borrowUsd6 = [long, short].reduce((sum, p) => sum + (p?.accruedBorrowUsd6 ?? 0n), 0n);
    const mark: MarkState = {
      atMs: this.d.nowMs(),
      spotUsd,
      netDelta,
      gamma: m.hedgeRatio * exposure.options.gamma,
      thetaPerYear: m.hedgeRatio * exposure.options.theta,
      accruedBorrowUsd: Number(borrowUsd6) / USD6,
    };
    const prevMark = this.marks.get(market);
    this.marks.set(market, mark);
    this.d.emit({
      kind: "decision",
      mandate: this.name,
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

    const riskState = this.riskState(nowSec);
    const blocked = mandateVetoes(riskState, this.limits, nowSec);
    if (blocked.length) {
      this.d.emit({ kind: "veto", mandate: this.name, market, reasons: blocked });
      return;
    }
    const order = orderFor(decision.changeTokens, this.orderContext(market, custody, markUsd6, snap));
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
        funding: order.kind === "increase" ? this.funding(market, order, external) : null,
      },
      riskState,
      this.limits,
    );
    if (orderProblems.length) {
      this.d.emit({ kind: "veto", mandate: this.name, market, reasons: orderProblems });
      return;
    }
    if (!send) return;
    this.submit(market, order, { sizeBeforeUsd6: sizeBefore, collateralBeforeUsd6: collateralBefore, estimatedFeeUsd6, expectedPriceUsd6: markUsd6, purpose: "hedge" }, external);
  }

  private oracleProblems(view: MarketView): string[] {
    const o = this.d.cfg.oracle;
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

  private riskState(nowSec: number): RiskState {
    const s = this.state;
    return { killSwitch: this.d.killSwitch(), recentTradeTimesSec: s.tradeTimesSec, feesTodayUsd6: this.feesTodayUsd6(nowSec), consecutiveFailures: s.consecutiveFailures, lastFailureSec: s.lastFailureSec };
  }

  private orderContext(market: MarketSymbol, custody: { decimals: number }, markUsd6: bigint, snap: MarketSnapshot): OrderContext {
    const m = this.d.mandate;
    const { long, short } = this.positionsOf(market, snap);
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
  private funding(market: MarketSymbol, order: Extract<Order, { kind: "increase" }>, external: ExternalExposure) {
    const mint = fundingMint(market, order);
    let availableBase = external.collateralBalances.get(mint.toBase58()) ?? 0n;
    if (mint.equals(NATIVE_MINT)) {
      const reserve = BigInt(Math.round(this.d.cfg.metrics.minWalletSol * 1e9));
      availableBase += external.walletLamports > reserve ? external.walletLamports - reserve : 0n;
    }
    const usdc = mint.equals(MAINNET.custodies.USDC.mint);
    const fix = usdc ? "fund the hedging wallet with USDC" : `fund the hedging wallet with ${market}, or post USDC instead (longCollateral: usdc)`;
    return { token: usdc ? "USDC" : market, neededBase: order.collateralTokenAmount, availableBase, fix };
  }

  /** Journal the intent, then simulate, sign and send in the background. The market is busy from this line on. */
  private submit(market: MarketSymbol, order: Order, before: IntentContext, external: ExternalExposure) {
    const nowMs = this.d.nowMs();
    const counter = BigInt(nowMs) * 1000n + BigInt(this.seq++ % 1000);
    const id = `${this.name}-${market}-${counter}`;
    const addresses = requestAddresses(this.wallet, market, order, counter);
    const intent: OpenIntent["intent"] = {
      t: "intent",
      id,
      mandate: this.name,
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
    this.inFlight.set(market, { open, phase: "sending", landedAtMs: 0, openedChainSec: null, cancelSentMs: null });
    this.d.trace?.("decided", { mandate: this.name, market });
    this.d.journal.append(intent);
    this.emitRequest(open, "intent", `${before.purpose === "collateral" ? `${order.kind === "increase" ? "deposit" : "withdraw"} collateral $${(Number(order.kind === "increase" ? order.collateralUsd6 : order.collateralUsdDelta6) / USD6).toFixed(2)} on ` : ""}${order.kind} ${order.side} $${(Number(order.sizeUsdDelta6) / USD6).toFixed(2)} (${order.deltaTokens.toFixed(4)} ${market}) slippage limit $${(Number(order.priceSlippageUsd6) / USD6).toFixed(4)}`);

    this.track(
      (async () => {
        let signed;
        try {
          const referral = this.d.cfg.execution.referral;
          const built = buildRequest(this.wallet, market, order, counter, await this.swapMinimumOut(open, order, addresses), referral ? new PublicKey(referral) : undefined);
          const instructions = [built.instruction];
          if (order.kind === "increase" && built.mint.equals(NATIVE_MINT)) {
            const have = external.collateralBalances.get(NATIVE_MINT.toBase58()) ?? 0n;
            if (have < order.collateralTokenAmount) instructions.unshift(...wrapSolInstructions(this.wallet, order.collateralTokenAmount - have));
          }
          this.d.fees.watch(built.instruction.keys.filter((k) => k.isWritable && !k.pubkey.equals(built.positionRequest)).map((k) => k.pubkey));
          signed = await this.simulateAndSign(instructions);
          this.d.trace?.("signed", { mandate: this.name, market });
        } catch (e) {
          this.refusedToSign(e, market);
          const result: RequestResult = e instanceof SimulationRejected ? "sim-rejected" : "failed";
          this.finish(open, result, (e as Error).message, 0n);
          return;
        }
        if (this.d.cfg.dryRun) {
          this.simulateFill(open);
          this.finish(open, "dry-run", `simulated ${signed.simulatedUnits} CU; dry run, nothing sent`, 0n);
          return;
        }
        const sent = { t: "sent" as const, id, signature: signed.signature, txBase64: Buffer.from(signed.bytes).toString("base64"), lastValidBlockHeight: signed.lastValidBlockHeight };
        this.d.journal.append(sent);
        this.d.trace?.("journaled", { mandate: this.name, market });
        open.sent = sent;
        this.emitRequest(open, "sent", `cu ${signed.computeUnitLimit} price ${signed.microLamports} µlamports/CU`, sentTx(signed));
        await this.followSend(open, signed.bytes, signed.signature, signed.lastValidBlockHeight);
      })(),
    );
  }

  /** A USDC-funded long's jupiterMinimumOut: the swap quote for its USDC, less the mandate's swap slippage. */
  private async swapMinimumOut(open: OpenIntent, order: Order, addresses: ReturnType<typeof requestAddresses>): Promise<bigint | null> {
    if (order.kind !== "increase" || !needsSwap(addresses)) return null;
    const q = await this.d.quoter.quote(addresses.mint, addresses.collateralMint, order.collateralTokenAmount, this.d.mandate.swapSlippageBps);
    this.emitRequest(open, "quote", `swap ${q.inAmount} USDC base units -> ${q.outAmount} (minimum ${q.minimumOut})`);
    return q.minimumOut;
  }

  /** A signing-policy refusal is a veto with its code (counted in gk_signing_refusals_total); true when it was one. */
  private refusedToSign(e: unknown, market: MarketSymbol): boolean {
    if (!(e instanceof SigningPolicyError)) return false;
    this.d.emit({ kind: "veto", mandate: this.name, market, reasons: [e.message], signingRefusal: e.code });
    return true;
  }

  /** The one way this runner signs: simulated for its compute limit, priced from the background fee tracker, under the mandate's signing policy. */
  private async simulateAndSign(instructions: TransactionInstruction[]): Promise<SignedTransaction> {
    const x = this.d.cfg.execution;
    return simulateAndSign(this.d.connection, instructions, this.d.payer, await this.d.blockhash.get(), this.d.fees.quote().microLamports, {
      margin: x.computeUnitMargin,
      minUnits: x.minComputeUnits,
    }, this.signing);
  }

  /** The one way this runner sends: the same bytes until settled, stopped by stop(). */
  private sendUntilSettled(tx: { signature: string; bytes: Uint8Array; lastValidBlockHeight: number }, market?: MarketSymbol): Promise<SendOutcome> {
    const x = this.d.cfg.execution;
    const onFirstBroadcast = market && this.d.trace ? () => this.d.trace!("sent", { mandate: this.name, market }) : undefined;
    return sendUntilSettled(this.d.connection, tx, { rebroadcastMs: x.rebroadcastMs, pollMs: x.pollMs, signal: this.abort.signal, onFirstBroadcast });
  }

  private async followSend(open: OpenIntent, bytes: Uint8Array, signature: string, lastValidBlockHeight: number) {
    let outcome: SendOutcome;
    try {
      outcome = await this.sendUntilSettled({ signature, bytes, lastValidBlockHeight }, open.intent.market);
    } catch (e) {
      this.d.emit({ kind: "warning", mandate: this.name, market: open.intent.market, message: `send of ${open.intent.id} failed: ${(e as Error).message}` });
      return;
    }
    if (outcome.status === "aborted") return; // left in the journal as sent: the next run resumes it
    if (outcome.status === "expired") {
      this.finish(open, "dropped", `blockhash expired at block height ${outcome.blockHeight} without the transaction landing`, 0n);
      return;
    }
    if (outcome.err) {
      this.finish(open, "failed", `transaction landed with error ${JSON.stringify(outcome.err)}`, 0n);
      return;
    }
    this.d.journal.append({ t: "landed", id: open.intent.id, slot: outcome.slot });
    open.landedSlot = outcome.slot;
    const flight = this.inFlight.get(open.intent.market);
    if (flight?.open === open) {
      flight.phase = "landed";
      flight.landedAtMs = this.d.nowMs();
    }
    this.emitRequest(open, "landed", `slot ${outcome.slot}; waiting for Jupiter's keeper`);
  }
}
