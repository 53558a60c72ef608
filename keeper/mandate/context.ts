import { type Connection, type Keypair, PublicKey, type TransactionInstruction } from "@solana/web3.js";
import type { MarketSymbol } from "../../programs-client";
import type { OptionLeg } from "../exposure/options-book";
import type { MarkState } from "../exposure/pnl-attribution";
import type { AccountSource, RawAccount } from "../market/account-source";
import type { FillReport } from "../market/fill-report";
import type { TransactionHistory } from "../market/transaction-history";
import type { MandateLimits } from "../risk/limits";
import { type SigningPolicy, SigningPolicyError, signingPolicyFor } from "../risk/signing-policy";
import type { BlockhashCache } from "../execution/blockhash-cache";
import type { PriorityFeeTracker } from "../execution/priority-fee";
import { sendUntilSettled, type SendOutcome } from "../execution/sender";
import type { SwapQuoter } from "../execution/swap-quote";
import { type SignedTransaction, simulateAndSign } from "../execution/transaction";
import { ComputeUnitCalibrator } from "../execution/cu-calibrator";
import { ADDRESS_SEARCH_ALLOWANCE_UNITS } from "../execution/compute-units";
import { RequestSigner } from "../execution/request-signer";
import type { TraceHook } from "../lib/trace";
import type { KeeperConfig, MandateConfig } from "../app/config";
import { summariseFill } from "./chain-outcomes";
import { DryRunBook } from "./dry-run";
import { type KeeperEvent, type RequestStage, type SentTx, orderSummary } from "./events";
import { type ExternalAccounts, externalAccounts } from "./external-exposure";
import { InFlightRegistry } from "./in-flight";
import { LiquidationWatch } from "./liquidation-watch";
import { type JournalRecord, type LastFill, type OpenIntent, type RecordJournal, type RequestResult, type RestoredState, applyOutcome, restoreState, toFillRecord } from "./records";

export interface RunnerDeps {
  connection: Connection;
  /** Where decisions read accounts: the keeper's stream-fed cache (or any source, in tests). */
  source: AccountSource;
  /**
   * Read addresses over RPC at one slot, and make `source` at least that new for them: how an outcome is judged.
   * Without it, `source` is read.
   */
  refresh?: (keys: PublicKey[]) => Promise<{ slot: number; accounts: (RawAccount | null)[] }>;
  /** Stop following addresses of `source` (a settled request's), so a long run does not pile up subscriptions. */
  forget?: (keys: PublicKey[]) => void;
  trace?: TraceHook;
  /** Where fills and liquidations are read from: the transactions' own events. */
  history: TransactionHistory;
  cfg: KeeperConfig;
  mandate: MandateConfig;
  payer: Keypair;
  journal: RecordJournal;
  journalRecords: readonly JournalRecord[];
  fees: PriorityFeeTracker;
  blockhash: BlockhashCache;
  emit: (e: KeeperEvent) => void;
  nowMs: () => number;
  killSwitch: () => boolean;
  legs: () => readonly OptionLeg[];
  quoter: SwapQuoter;
}

export const USD6 = 1_000_000;

/** How many recent measurements a kind's compute limit follows (the largest of them). */
const UNIT_WINDOW = 16;

export function usd6(n: number): bigint {
  return BigInt(Math.round(n * USD6));
}

/** What a signed transaction bids, for the events and metrics. */
export function sentTx(signed: SignedTransaction): SentTx {
  const { signature, computeUnitLimit, simulatedUnits, microLamports } = signed;
  return { signature, computeUnitLimit, simulatedUnits, microLamports, priorityFeeLamports: Math.ceil((microLamports * computeUnitLimit) / 1e6) };
}

/**
 * One mandate's state and the few acts every stage shares (journal an outcome, emit, sign, send, track background
 * work). The stages (decide, submit, follow, cancel) are functions of it; MandateRunner is its face.
 */
export class MandateContext {
  readonly flights = new InFlightRegistry();
  /** The last decision's state per market, for P&L attribution to the next. */
  readonly marks = new Map<MarketSymbol, MarkState>();
  readonly dryRun = new DryRunBook();
  readonly state: RestoredState;
  readonly wallet: PublicKey;
  readonly limits: MandateLimits;
  readonly signing: SigningPolicy;
  /** Accounts besides the perps the cycle reads, fixed by the mandate: read in the snapshot's one call. */
  readonly external: ExternalAccounts;
  /** The wallet's open positions in the previous snapshot: one that closes without a request of ours was liquidated. */
  readonly liquidations: LiquidationWatch;
  /** Each request kind's compute units, measured off the send path. */
  readonly units: ComputeUnitCalibrator;
  /** Market requests signed from templates, their PDAs derived ahead: the send path. */
  readonly requests: RequestSigner;
  private readonly sends = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(readonly d: RunnerDeps) {
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
    const x = d.cfg.execution;
    this.units = new ComputeUnitCalibrator(d.connection, { margin: x.computeUnitMargin, minUnits: x.minComputeUnits, maxUnits: x.signing.maxComputeUnitLimit, defaultUnits: x.defaultComputeUnits, window: UNIT_WINDOW, searchAllowanceUnits: ADDRESS_SEARCH_ALLOWANCE_UNITS });
    this.requests = new RequestSigner(d.payer, this.signing, this.units, d.nowMs);
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

  nowSec() {
    return Math.floor(this.d.nowMs() / 1000);
  }

  feesTodayUsd6(nowSec: number): bigint {
    return this.state.feesByDayUsd6.get(Math.floor(nowSec / 86_400)) ?? 0n;
  }

  lastFill(market: MarketSymbol): LastFill | undefined {
    return this.state.lastFill.get(market);
  }

  /** Registers background work (a send, a settle, a cancel), so stop() waits for it. */
  track(p: Promise<void>) {
    this.sends.add(p);
    void p.finally(() => this.sends.delete(p));
  }

  /** Stop deciding and wait for sends in progress to settle (they stop rebroadcasting once aborted). */
  async stop(abortSends: boolean): Promise<void> {
    if (abortSends) this.abort.abort();
    await Promise.allSettled([...this.sends]);
  }

  emitRequest(open: OpenIntent, stage: RequestStage, detail: string, tx?: SentTx) {
    const { intent } = open;
    const order = stage === "intent" ? { order: orderSummary(intent.order, intent.purpose ?? "hedge") } : {};
    this.d.emit({ kind: "request", mandate: this.name, market: intent.market, id: intent.id, stage, request: intent.request, detail, ...(tx ? { tx } : {}), ...order });
  }

  warn(market: MarketSymbol, message: string) {
    this.d.emit({ kind: "warning", mandate: this.name, market, message });
  }

  /** Journals the request's outcome, applies it to the restored state and frees its market. */
  finish(open: OpenIntent, result: RequestResult, detail: string, feeUsd6: bigint, fill?: { report: FillReport; sizeNowUsd6: bigint }) {
    const atSec = this.nowSec();
    const outcome = { t: "outcome" as const, id: open.intent.id, result, detail, atSec, feeUsd6: feeUsd6.toString(), ...(fill ? { fill: toFillRecord(fill.report) } : {}) };
    this.d.journal.append(outcome);
    applyOutcome(this.state, open.intent, outcome);
    this.flights.release(open);
    this.d.forget?.([new PublicKey(open.intent.request)]);
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

  /** A signing-policy refusal is a veto with its code (counted in gk_signing_refusals_total); true when it was one. */
  refusedToSign(e: unknown, market: MarketSymbol): boolean {
    if (!(e instanceof SigningPolicyError)) return false;
    this.d.emit({ kind: "veto", mandate: this.name, market, reasons: [e.message], signingRefusal: e.code });
    return true;
  }

  /** How a cancel signs (a market request signs through `requests`): simulated for its compute limit, priced from the background fee tracker, under the mandate's signing policy. */
  async simulateAndSign(instructions: TransactionInstruction[]): Promise<SignedTransaction> {
    const x = this.d.cfg.execution;
    return simulateAndSign(this.d.connection, instructions, this.d.payer, await this.d.blockhash.get(), this.d.fees.quote().microLamports, {
      margin: x.computeUnitMargin,
      minUnits: x.minComputeUnits,
    }, this.signing);
  }

  /** The one way this runner sends: the same bytes until settled, stopped by stop(). */
  sendUntilSettled(tx: { signature: string; bytes: Uint8Array; lastValidBlockHeight: number }, market?: MarketSymbol): Promise<SendOutcome> {
    const x = this.d.cfg.execution;
    const onFirstBroadcast = market && this.d.trace ? () => this.d.trace!("sent", { mandate: this.name, market }) : undefined;
    return sendUntilSettled(this.d.connection, tx, { rebroadcastMs: x.rebroadcastMs, pollMs: x.pollMs, signal: this.abort.signal, onFirstBroadcast });
  }
}
