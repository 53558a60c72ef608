import { EventEmitter } from "node:events";
import { PublicKey, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import {
  Account,
  Clock,
  FailedTransactionMetadata,
  LiteSvm,
  type SimulatedTransactionInfo,
  type TransactionMetadata,
} from "litesvm/dist/internal";
import { type RpcAccountFilter as AccountFilter, type KeyedAccount, type RawAccount, matchesFilters } from "../../programs-client";
import { computeBudgetOf, messageFeeLamports, writableAccounts } from "./compute-budget";
import { BlockhashWindow, PrioritizationFeeCache, type TxStatus } from "./ledger";
import { type RpcTransactionError, toRpcError, wasExecuted } from "./tx-error";

function fromSvm(a: Account): RawAccount {
  return { owner: new PublicKey(a.owner()), data: Buffer.from(a.data()), lamports: Number(a.lamports()), executable: a.executable() };
}

export interface ChainOptions {
  /** Wall clock in unix milliseconds; injectable so tests can hold time still. */
  nowMs?: () => number;
}

/** What running (or simulating) a transaction produced. */
export interface TxOutcome {
  signature: string;
  err: RpcTransactionError | null;
  logs: string[];
  unitsConsumed: bigint;
  returnData: { programId: PublicKey; data: Buffer } | null;
  /** Accounts after the transaction, for simulations that asked for them. */
  postAccounts?: Map<string, RawAccount>;
}

/** Why a transaction never ran: the reason a real cluster would drop it before execution. */
export class DroppedTransaction extends Error {
  constructor(
    readonly signature: string,
    readonly reason: RpcTransactionError,
  ) {
    super(`transaction ${signature} dropped: ${String(reason)}`);
  }
}

interface ChainEvents {
  slot: [slot: bigint];
  /** Accounts that may have changed (a transaction's writable accounts, or a test control's target). */
  accounts: [keys: PublicKey[]];
  status: [signature: string, status: TxStatus];
}

/**
 * The real Solana runtime (LiteSVM) with a cluster's sense of time and history: a slot counter that the server
 * advances, a Clock sysvar that follows wall time (LiteSVM starts at unix 0, which would make every oracle
 * stale), a 150-block blockhash window, signature statuses and the prioritization-fee cache.
 */
export class LocalChain extends EventEmitter<ChainEvents> {
  readonly svm = new LiteSvm();
  private slotValue: bigint;
  private readonly genesisSlot: bigint;
  private timeOffsetMs = 0;
  private readonly blockhashes = new BlockhashWindow();
  private readonly statuses = new Map<string, TxStatus>();
  readonly priorityFees = new PrioritizationFeeCache();

  constructor(private readonly opts: ChainOptions = {}) {
    super();
    this.svm.setBlockhashCheck(false);
    this.slotValue = this.svm.getClock().slot;
    this.genesisSlot = this.slotValue;
    this.syncClock();
    this.blockhashes.add(this.svm.latestBlockhash(), this.blockHeight);
  }

  get slot(): bigint {
    return this.slotValue;
  }

  /** Every slot here produces a block, so the height counts slots since genesis. */
  get blockHeight(): bigint {
    return this.slotValue - this.genesisSlot;
  }

  /** Unix seconds as the chain sees them: wall time plus any time travel. */
  nowSec(): bigint {
    return BigInt(Math.floor(((this.opts.nowMs ?? Date.now)() + this.timeOffsetMs) / 1000));
  }

  /** Produce the next block: new slot, new blockhash, Clock moved to wall time. */
  advanceSlot(): bigint {
    this.slotValue += 1n;
    this.syncClock();
    this.svm.expireBlockhash();
    this.blockhashes.add(this.svm.latestBlockhash(), this.blockHeight);
    this.emit("slot", this.slotValue);
    return this.slotValue;
  }

  /** Jump the clock to `unixMs` and, if given, the slot to `slot` (surfnet_timeTravel). */
  timeTravel(to: { unixMs?: number; slot?: bigint }): void {
    if (to.unixMs !== undefined) this.timeOffsetMs = to.unixMs - (this.opts.nowMs ?? Date.now)();
    if (to.slot !== undefined) {
      if (to.slot < this.slotValue) throw new RangeError(`slot ${to.slot} is behind the current slot ${this.slotValue}`);
      this.slotValue = to.slot - 1n;
      this.advanceSlot();
      return;
    }
    this.syncClock();
  }

  private syncClock(): void {
    const c = this.svm.getClock();
    this.svm.setClock(new Clock(this.slotValue, c.epochStartTimestamp, c.epoch, c.leaderScheduleEpoch, this.nowSec()));
  }

  latestBlockhash(): { blockhash: string; lastValidBlockHeight: bigint } {
    return this.blockhashes.latest();
  }

  isBlockhashValid(blockhash: string): boolean {
    return this.blockhashes.isValid(blockhash, this.blockHeight);
  }

  getAccount(address: PublicKey): RawAccount | null {
    const a = this.svm.getAccount(address.toBytes());
    return a ? fromSvm(a) : null;
  }

  setAccount(address: PublicKey, account: RawAccount): void {
    this.svm.setAccount(
      address.toBytes(),
      new Account(BigInt(account.lamports), account.data, account.owner.toBytes(), account.executable ?? false, 0n),
    );
    this.emit("accounts", [address]);
  }

  programAccounts(program: PublicKey, filters: AccountFilter[]): KeyedAccount[] {
    return this.svm
      .getProgramAccounts(program.toBytes())
      .map((entry) => ({ pubkey: new PublicKey(entry.address), account: fromSvm(entry.account()) }))
      .filter(({ account }) => matchesFilters(account, filters));
  }

  minimumBalanceForRentExemption(bytes: number): bigint {
    return this.svm.minimumBalanceForRentExemption(BigInt(bytes));
  }

  signatureStatus(signature: string): TxStatus | undefined {
    return this.statuses.get(signature);
  }

  /**
   * Execute a signed transaction in the current slot. Executed transactions (successful or not) pay their fee,
   * get a status and feed the prioritization-fee cache; ones a cluster would drop throw DroppedTransaction.
   */
  sendTransaction(bytes: Uint8Array): TxOutcome {
    const tx = VersionedTransaction.deserialize(bytes);
    const signature = firstSignature(tx);
    if (this.statuses.has(signature)) throw new DroppedTransaction(signature, "AlreadyProcessed");
    if (!this.isBlockhashValid(tx.message.recentBlockhash)) throw new DroppedTransaction(signature, "BlockhashNotFound");
    const result = tx.version === "legacy" ? this.svm.sendLegacyTransaction(bytes) : this.svm.sendVersionedTransaction(bytes);
    const err = result instanceof FailedTransactionMetadata ? result.err() : null;
    if (err !== null && !wasExecuted(err)) throw new DroppedTransaction(signature, toRpcError(err));
    const outcome = outcomeOf(signature, result);
    const writable = writableAccounts(tx.message);
    this.priorityFees.record(this.slotValue, computeBudgetOf(tx.message).unitPriceMicroLamports, writable);
    this.recordStatus(signature, outcome.err);
    this.emit("accounts", writable);
    return outcome;
  }

  /**
   * Run a transaction without committing it. `sigVerify` false accepts unsigned transactions (as the RPC's
   * simulateTransaction does by default); `replaceRecentBlockhash` skips the blockhash check.
   */
  simulateTransaction(bytes: Uint8Array, opts: { sigVerify: boolean; replaceRecentBlockhash: boolean; accounts?: PublicKey[] }): TxOutcome {
    const tx = VersionedTransaction.deserialize(bytes);
    const signature = firstSignature(tx);
    if (!opts.replaceRecentBlockhash && !this.isBlockhashValid(tx.message.recentBlockhash)) {
      return { signature, err: "BlockhashNotFound", logs: [], unitsConsumed: 0n, returnData: null };
    }
    if (this.statuses.has(signature)) return { signature, err: "AlreadyProcessed", logs: [], unitsConsumed: 0n, returnData: null };
    const sigverify = this.svm.getSigverify();
    this.svm.setSigverify(opts.sigVerify);
    try {
      const result = tx.version === "legacy" ? this.svm.simulateLegacyTransaction(bytes) : this.svm.simulateVersionedTransaction(bytes);
      const outcome = outcomeOf(signature, result);
      if (!(result instanceof FailedTransactionMetadata) && opts.accounts) {
        const post = new Map(result.postAccounts().map((e) => [new PublicKey(e.address).toBase58(), fromSvm(e.account())]));
        outcome.postAccounts = new Map(opts.accounts.map((k) => [k.toBase58(), post.get(k.toBase58()) ?? this.getAccount(k)!]));
      }
      return outcome;
    } finally {
      this.svm.setSigverify(sigverify);
    }
  }

  /** A real System transfer from LiteSVM's faucet; its signature gets a status like any transaction. */
  airdrop(to: PublicKey, lamports: bigint): string {
    const result = this.svm.airdrop(to.toBytes(), lamports);
    if (!result) throw new Error(`airdrop to ${to.toBase58()} produced no transaction`);
    if (result instanceof FailedTransactionMetadata) {
      throw new Error(`airdrop of ${lamports} lamports to ${to.toBase58()} failed: ${JSON.stringify(toRpcError(result.err()))}`);
    }
    const signature = bs58.encode(result.signature());
    this.recordStatus(signature, null);
    this.emit("accounts", [to]);
    return signature;
  }

  /** Fee a message would pay, as the runtime charges it. */
  feeForMessage(message: VersionedTransaction["message"]): bigint {
    return messageFeeLamports(message);
  }

  private recordStatus(signature: string, err: RpcTransactionError | null): void {
    const status = { slot: this.slotValue, err };
    this.statuses.set(signature, status);
    this.emit("status", signature, status);
  }
}

function firstSignature(tx: VersionedTransaction): string {
  const sig = tx.signatures[0];
  if (!sig) throw new RangeError("transaction has no signatures");
  return bs58.encode(sig);
}

function outcomeOf(signature: string, result: TransactionMetadata | FailedTransactionMetadata | SimulatedTransactionInfo): TxOutcome {
  const failed = result instanceof FailedTransactionMetadata;
  const meta = failed || !("logs" in result) ? result.meta() : result;
  const rd = meta.returnData();
  const programId = new PublicKey(rd.programId());
  const data = Buffer.from(rd.data());
  return {
    signature,
    err: failed ? toRpcError(result.err()) : null,
    logs: meta.logs(),
    unitsConsumed: meta.computeUnitsConsumed(),
    returnData: data.length > 0 || !programId.equals(PublicKey.default) ? { programId, data } : null,
  };
}
