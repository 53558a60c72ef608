import { EventEmitter } from "node:events";
import { AddressLookupTableAccount, PublicKey, SYSVAR_CLOCK_PUBKEY, type VersionedMessage, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import {
  Account,
  type AddressAndAccount,
  Clock,
  FailedTransactionMetadata,
  LiteSvm,
  type SimulatedTransactionInfo,
  type TransactionMetadata,
} from "litesvm/dist/internal";
import {
  type RpcAccountFilter as AccountFilter,
  type KeyedAccount,
  PROGRAM_IDS,
  type RawAccount,
  TOKEN_ACCOUNT_SIZE,
  decodeMint,
  decodeTokenAccount,
  matchesFilters,
} from "../../programs-client";
import { computeBudgetOf, messageFeeLamports } from "./compute-budget";
import {
  BlockhashWindow,
  PrioritizationFeeCache,
  type TokenBalance,
  TransactionHistory,
  flatString,
  type TxRecord,
  type TxStatus,
  returnDataOf,
} from "./ledger";
import { type RpcTransactionError, toRpcError, wasExecuted } from "./tx-error";
import { type WireTransaction, isStaticWritable, parseTransaction, sameBytes } from "./wire";

function fromSvm(a: Account): RawAccount {
  return { owner: new PublicKey(a.owner()), data: Buffer.from(a.data()), lamports: Number(a.lamports()), executable: a.executable() };
}

export interface ChainOptions {
  /** Wall clock in unix milliseconds; injectable so tests can hold time still. */
  nowMs?: () => number;
  /** How many executed transactions getTransaction and getSignaturesForAddress can still find (default 50,000). */
  historyCapacity?: number;
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
  readonly history: TransactionHistory;

  constructor(private readonly opts: ChainOptions = {}) {
    super();
    this.history = new TransactionHistory(opts.historyCapacity);
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
    // A real cluster notifies Clock subscribers every slot; a keeper that follows the chain's time by subscription needs it.
    this.emit("accounts", [SYSVAR_CLOCK_PUBKEY]);
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
    this.emit("accounts", [SYSVAR_CLOCK_PUBKEY]);
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
   * Execute a signed transaction in the current slot, as a cluster does with skipPreflight. Executed transactions
   * (successful or not) pay their fee, get a status, go into the history with their status meta and feed the
   * prioritization-fee cache; ones a cluster would drop throw DroppedTransaction.
   */
  sendTransaction(bytes: Uint8Array): TxOutcome {
    const parsed = parseWire(bytes);
    const { tx, signature } = parsed;
    if (this.statuses.has(signature)) throw new DroppedTransaction(signature, "AlreadyProcessed");
    if (!this.isBlockhashValid(parsed.blockhash)) throw new DroppedTransaction(signature, "BlockhashNotFound");
    const loaded = this.loadedAddresses(signature, tx);
    const keys = accountKeyBytes(parsed, loaded);
    const pre = this.balances(keys);
    const result = tx.version === "legacy" ? this.svm.sendLegacyTransaction(bytes) : this.svm.sendVersionedTransaction(bytes);
    if (!(result instanceof FailedTransactionMetadata)) return this.land(parsed, loaded, keys, pre, result, null);
    const err = result.err();
    if (!wasExecuted(err)) throw new DroppedTransaction(signature, toRpcError(err));
    return this.land(parsed, loaded, keys, pre, result.meta(), toRpcError(err));
  }

  /**
   * sendTransaction with preflight, executing the transaction once. It runs as the preflight simulation does
   * (signatures verified, blockhash checked against the window, nothing written); an error is the preflight's
   * answer and nothing lands (no fee, no status, no history), as on a cluster. On success that very execution is
   * committed, writing the accounts it changed as LiteSVM's own send writes them, and recorded as sendTransaction
   * records it. A transaction the cluster would drop after a successful preflight throws DroppedTransaction.
   */
  sendWithPreflight(bytes: Uint8Array): TxOutcome {
    const parsed = parseWire(bytes);
    const refused = this.refusal(parsed, { replaceRecentBlockhash: false });
    if (refused) return refused;
    let loaded: TxRecord["loadedAddresses"];
    try {
      loaded = this.loadedAddresses(parsed.signature, parsed.tx);
    } catch (e) {
      if (!(e instanceof DroppedTransaction)) throw e;
      // The runtime names the fault in the preflight's answer, as when the simulation ran before everything else.
      const sim = this.simulate(parsed, true);
      if (sim instanceof FailedTransactionMetadata) return outcomeOf(parsed.signature, sim);
      throw e;
    }
    const keys = accountKeyBytes(parsed, loaded);
    const pre = this.balances(keys);
    const sim = this.simulate(parsed, true);
    if (sim instanceof FailedTransactionMetadata) return outcomeOf(parsed.signature, sim);
    this.commit(sim.postAccounts());
    return this.land(parsed, loaded, keys, pre, sim.meta(), null);
  }

  /** Record an executed transaction: history with its status meta, fee cache, status, account notifications. */
  private land(
    parsed: ParsedWire,
    loaded: TxRecord["loadedAddresses"],
    keys: Uint8Array[],
    pre: Balances,
    meta: TransactionMetadata,
    err: RpcTransactionError | null,
  ): TxOutcome {
    const { tx, signature, wire } = parsed;
    const outcome = outcomeOfMeta(signature, meta, err);
    const post = this.balances(keys);
    const budget = computeBudgetOf(tx, tx.staticKeys);
    this.history.add(
      {
        signature,
        slot: this.slotValue,
        blockTimeSec: this.nowSec(),
        wire: ownCopy(wire),
        err,
        feeLamports: messageFeeLamports(tx, budget),
        loadedAddresses: loaded,
        preBalances: pre.lamports,
        postBalances: post.lamports,
        preTokenBalances: pre.tokens,
        postTokenBalances: post.tokens,
        execution: meta,
        memo: memoOf(tx, keys),
      } satisfies TxRecord,
      keys,
    );
    const writable = tx.staticKeys.filter((_, i) => isStaticWritable(tx, i));
    this.priorityFees.record(this.slotValue, budget.unitPriceMicroLamports, writable);
    this.recordStatus(signature, err);
    this.emit("accounts", writable.map((key) => new PublicKey(key)));
    return outcome;
  }

  /**
   * Write what an execution changed, as LiteSVM's send commits it: ProgramData accounts first, so a program
   * deployed or upgraded in the same transaction is compiled from its new data.
   */
  private commit(written: AddressAndAccount[]): void {
    const entries = written.map((e) => ({ address: e.address, account: e.account() }));
    const isProgramData = (a: Account) => sameBytes(a.owner(), UPGRADEABLE_LOADER) && a.data()[0] === PROGRAM_DATA_TAG;
    for (const e of entries) if (isProgramData(e.account)) this.svm.setAccount(e.address, e.account);
    for (const e of entries) if (!isProgramData(e.account)) this.svm.setAccount(e.address, e.account);
  }

  /** Why a simulation (or a preflight) is refused before it runs: an unknown blockhash, or a duplicate. */
  private refusal({ blockhash, signature }: ParsedWire, opts: { replaceRecentBlockhash: boolean }): TxOutcome | undefined {
    if (!opts.replaceRecentBlockhash && !this.isBlockhashValid(blockhash)) {
      return { signature, err: "BlockhashNotFound", logs: [], unitsConsumed: 0n, returnData: null };
    }
    if (this.statuses.has(signature)) return { signature, err: "AlreadyProcessed", logs: [], unitsConsumed: 0n, returnData: null };
    return undefined;
  }

  /** Run without committing; `sigVerify` false accepts unsigned transactions. */
  private simulate({ tx, wire }: ParsedWire, sigVerify: boolean): SimulatedTransactionInfo | FailedTransactionMetadata {
    const was = this.svm.getSigverify();
    if (was !== sigVerify) this.svm.setSigverify(sigVerify);
    try {
      return tx.version === "legacy" ? this.svm.simulateLegacyTransaction(wire) : this.svm.simulateVersionedTransaction(wire);
    } finally {
      if (was !== sigVerify) this.svm.setSigverify(was);
    }
  }

  /**
   * The accounts a v0 message's lookup tables add, writable ones of every table first, as the runtime orders them.
   * A table that is missing or too short drops the transaction, as on a cluster.
   */
  private loadedAddresses(signature: string, message: Pick<VersionedMessage, "addressTableLookups">): TxRecord["loadedAddresses"] {
    const writable: PublicKey[] = [];
    const readonly: PublicKey[] = [];
    for (const lookup of message.addressTableLookups) {
      const account = this.getAccount(lookup.accountKey);
      if (!account) throw new DroppedTransaction(signature, "AddressLookupTableNotFound");
      let addresses: PublicKey[];
      try {
        addresses = AddressLookupTableAccount.deserialize(account.data).addresses;
      } catch {
        throw new DroppedTransaction(signature, "InvalidAddressLookupTableData");
      }
      const pick = (indexes: number[]) =>
        indexes.map((i) => {
          const key = addresses[i];
          if (!key) throw new DroppedTransaction(signature, "InvalidAddressLookupTableIndex");
          return key;
        });
      writable.push(...pick(lookup.writableIndexes));
      readonly.push(...pick(lookup.readonlyIndexes));
    }
    return { writable, readonly };
  }

  /** Lamports of each key, and the SPL Token balances among them (with their mint's decimals), right now. */
  private balances(keys: Uint8Array[]): Balances {
    const lamports = new BigUint64Array(keys.length);
    const tokens: TokenBalance[] = [];
    keys.forEach((key, accountIndex) => {
      const account = this.svm.getAccount(key);
      lamports[accountIndex] = account?.lamports() ?? 0n;
      if (!account || !sameBytes(account.owner(), TOKEN_PROGRAM)) return;
      const data = account.data();
      if (data.length !== TOKEN_ACCOUNT_SIZE) return;
      const token = decodeTokenAccount(data);
      if (!token.ok || token.value.state === "uninitialized") return;
      const mintAccount = this.svm.getAccount(token.value.mint.toBytes());
      const mint = mintAccount ? decodeMint(mintAccount.data()) : undefined;
      if (!mint?.ok) return;
      tokens.push({
        accountIndex,
        mint: token.value.mint,
        owner: token.value.owner,
        programId: PROGRAM_IDS.token,
        amount: token.value.amount,
        decimals: mint.value.decimals,
      });
    });
    return { lamports, tokens };
  }

  /**
   * Run a transaction without committing it. `sigVerify` false accepts unsigned transactions (as the RPC's
   * simulateTransaction does by default); `replaceRecentBlockhash` skips the blockhash check.
   */
  simulateTransaction(bytes: Uint8Array, opts: { sigVerify: boolean; replaceRecentBlockhash: boolean; accounts?: PublicKey[] }): TxOutcome {
    const parsed = parseWire(bytes);
    const refused = this.refusal(parsed, opts);
    if (refused) return refused;
    const result = this.simulate(parsed, opts.sigVerify);
    const outcome = outcomeOf(parsed.signature, result);
    if (!(result instanceof FailedTransactionMetadata) && opts.accounts) {
      const post = new Map(result.postAccounts().map((e) => [new PublicKey(e.address).toBase58(), fromSvm(e.account())]));
      outcome.postAccounts = new Map(opts.accounts.map((k) => [k.toBase58(), post.get(k.toBase58()) ?? this.getAccount(k)!]));
    }
    return outcome;
  }

  /** A real System transfer from LiteSVM's faucet; its signature gets a status like any transaction. */
  airdrop(to: PublicKey, lamports: bigint): string {
    const result = this.svm.airdrop(to.toBytes(), lamports);
    if (!result) throw new Error(`airdrop to ${to.toBase58()} produced no transaction`);
    if (result instanceof FailedTransactionMetadata) {
      throw new Error(`airdrop of ${lamports} lamports to ${to.toBase58()} failed: ${JSON.stringify(toRpcError(result.err()))}`);
    }
    const signature = flatString(bs58.encode(result.signature()));
    this.recordStatus(signature, null);
    this.emit("accounts", [to]);
    return signature;
  }

  /** Fee a message would pay, as the runtime charges it. */
  feeForMessage(message: VersionedMessage): bigint {
    return messageFeeLamports(message, computeBudgetOf(message, message.staticAccountKeys.map((k) => k.toBytes())));
  }

  private recordStatus(signature: string, err: RpcTransactionError | null): void {
    const status = { slot: this.slotValue, err };
    this.statuses.set(signature, status);
    this.emit("status", signature, status);
  }
}

/** A transaction deserialized once: its wire view, its first signature and its blockhash in base58. */
interface ParsedWire {
  wire: Uint8Array;
  tx: WireTransaction;
  signature: string;
  blockhash: string;
}

function parseWire(wire: Uint8Array): ParsedWire {
  let tx: WireTransaction;
  try {
    tx = parseTransaction(wire);
  } catch (e) {
    // What web3.js refuses keeps web3.js's words, as when it deserialized here.
    VersionedTransaction.deserialize(wire);
    throw e;
  }
  return { wire, tx, signature: flatString(bs58.encode(tx.signature)), blockhash: bs58.encode(tx.recentBlockhash) };
}

/** Every account key of a transaction as bytes, in the runtime's order: static, then loaded writable, then loaded readonly. */
function accountKeyBytes(parsed: ParsedWire, loaded: TxRecord["loadedAddresses"]): Uint8Array[] {
  return [...parsed.tx.staticKeys, ...loaded.writable.map((k) => k.toBytes()), ...loaded.readonly.map((k) => k.toBytes())];
}

interface Balances {
  lamports: BigUint64Array;
  tokens: TokenBalance[];
}

/**
 * A copy in its own memory. Small Buffers are slices of a shared 8 KB pool, and one long-lived slice keeps its
 * whole pool (with everything short-lived that was cut from it) alive.
 */
function ownCopy(bytes: Uint8Array): Buffer {
  const copy = new Uint8Array(bytes);
  return Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength);
}

const MEMO_PROGRAMS = ["MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"].map((id) => new PublicKey(id).toBytes());
const TOKEN_PROGRAM = PROGRAM_IDS.token.toBytes();
const UPGRADEABLE_LOADER = new PublicKey("BPFLoaderUpgradeab1e11111111111111111111111").toBytes();
/** The first byte of an upgradeable loader's ProgramData account (UpgradeableLoaderState::ProgramData). */
const PROGRAM_DATA_TAG = 3;

/** Agave's memo field: each top-level memo instruction as "[byte length] text", joined by "; ". */
function memoOf(message: Pick<VersionedMessage, "compiledInstructions">, keys: Uint8Array[]): string | null {
  const memos = message.compiledInstructions
    .filter((ix) => {
      const program = keys[ix.programIdIndex];
      return program !== undefined && MEMO_PROGRAMS.some((id) => sameBytes(program, id));
    })
    .map((ix) => {
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(ix.data);
      } catch {
        text = "(unparseable)";
      }
      return `[${ix.data.length}] ${text}`;
    });
  return memos.length > 0 ? memos.join("; ") : null;
}

function outcomeOf(signature: string, result: FailedTransactionMetadata | SimulatedTransactionInfo): TxOutcome {
  return outcomeOfMeta(signature, result.meta(), result instanceof FailedTransactionMetadata ? toRpcError(result.err()) : null);
}

/** An execution's outcome, its parts copied out of LiteSVM's metadata only when read (a landed send reads none). */
function outcomeOfMeta(signature: string, meta: TransactionMetadata, err: RpcTransactionError | null): TxOutcome {
  return {
    signature,
    err,
    get logs() {
      return meta.logs();
    },
    get unitsConsumed() {
      return meta.computeUnitsConsumed();
    },
    get returnData() {
      return returnDataOf(meta);
    },
  };
}
