import { PublicKey, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import type { TransactionMetadata } from "litesvm/dist/internal";
import type { RpcTransactionError } from "./tx-error";
import { bytesKey } from "./wire";

/** How many blocks a blockhash stays usable, as on a real cluster. */
export const BLOCKHASH_VALIDITY_BLOCKS = 150n;
/** How many recent slots getRecentPrioritizationFees reports. */
export const PRIORITIZATION_FEE_SLOTS = 150;

/**
 * The cluster's window of recent blockhashes. LiteSVM keeps exactly one valid blockhash; a real cluster accepts
 * any of the last 150, so the validator checks transactions against this window instead.
 */
export class BlockhashWindow {
  private readonly lastValid = new Map<string, bigint>();
  private latestHash = "";

  /** Record the blockhash of a new block at `blockHeight` and forget the ones that have expired. */
  add(blockhash: string, blockHeight: bigint): void {
    this.latestHash = blockhash;
    this.lastValid.set(blockhash, blockHeight + BLOCKHASH_VALIDITY_BLOCKS);
    for (const [hash, last] of this.lastValid) if (last < blockHeight) this.lastValid.delete(hash);
  }

  latest(): { blockhash: string; lastValidBlockHeight: bigint } {
    return { blockhash: this.latestHash, lastValidBlockHeight: this.lastValid.get(this.latestHash) ?? 0n };
  }

  isValid(blockhash: string, blockHeight: bigint): boolean {
    const last = this.lastValid.get(blockhash);
    return last !== undefined && last >= blockHeight;
  }
}

/** The outcome of an executed transaction, as getSignatureStatuses reports it. */
export interface TxStatus {
  slot: bigint;
  err: RpcTransactionError | null;
}

interface SlotFees {
  slot: bigint;
  minPrice: bigint;
  minPriceByAccount: Map<string, bigint>;
}

/**
 * Agave's prioritization-fee cache: per slot, the lowest compute-unit price of the transactions that landed, and
 * per writable account the lowest price of the transactions that locked it.
 */
export class PrioritizationFeeCache {
  private readonly slots: SlotFees[] = [];

  /** `writable`: the accounts the transaction locked for writing, as their 32 bytes. */
  record(slot: bigint, unitPriceMicroLamports: bigint, writable: Uint8Array[]): void {
    let entry = this.slots.at(-1);
    if (!entry || entry.slot !== slot) {
      entry = { slot, minPrice: unitPriceMicroLamports, minPriceByAccount: new Map() };
      this.slots.push(entry);
      if (this.slots.length > PRIORITIZATION_FEE_SLOTS) this.slots.shift();
    }
    if (unitPriceMicroLamports < entry.minPrice) entry.minPrice = unitPriceMicroLamports;
    for (const key of writable) {
      const k = bytesKey(key);
      const prev = entry.minPriceByAccount.get(k);
      if (prev === undefined || unitPriceMicroLamports < prev) entry.minPriceByAccount.set(k, unitPriceMicroLamports);
    }
  }

  /**
   * One entry per slot of the last 150 up to `currentSlot`: the slot's minimum price, raised to the largest of
   * the given accounts' minimums (0 for a slot without transactions).
   */
  recent(currentSlot: bigint, accounts: PublicKey[]): { slot: bigint; prioritizationFee: bigint }[] {
    const bySlot = new Map(this.slots.map((s) => [s.slot, s]));
    const keys = accounts.map((a) => bytesKey(a.toBytes()));
    const out: { slot: bigint; prioritizationFee: bigint }[] = [];
    const first = currentSlot - BigInt(PRIORITIZATION_FEE_SLOTS) + 1n;
    for (let slot = first; slot <= currentSlot; slot++) {
      const entry = bySlot.get(slot);
      let fee = entry?.minPrice ?? 0n;
      for (const k of keys) {
        const accountMin = entry?.minPriceByAccount.get(k);
        if (accountMin !== undefined && accountMin > fee) fee = accountMin;
      }
      out.push({ slot, prioritizationFee: fee });
    }
    return out;
  }
}

/**
 * How many executed transactions the ledger keeps for getTransaction and getSignaturesForAddress. A real RPC node
 * keeps what its blockstore holds (or everything, with a BigTable archive); the localnet keeps the newest 50,000 and
 * forgets the oldest first. Measured heap per transaction: ~2 KB for a SOL transfer, ~10 KB for a Jupiter Perps
 * request (28 log lines, 8 CPIs), so a full history of perps traffic takes ~0.5 GB.
 */
export const DEFAULT_HISTORY_CAPACITY = 50_000;

/** A token account's balance before or after a transaction, as Solana's transaction status meta records it. */
export interface TokenBalance {
  accountIndex: number;
  // Keys, not base58 strings: a string built by base58 encoding is a rope of one node per character, ~30x its
  // size, and the ledger holds tens of thousands of these.
  mint: PublicKey;
  owner: PublicKey;
  programId: PublicKey;
  amount: bigint;
  decimals: number;
}

/** One executed transaction and its status meta, as the ledger stores it. */
export interface TxRecord {
  signature: string;
  slot: bigint;
  blockTimeSec: bigint;
  /** The signed transaction exactly as it was sent. */
  wire: Buffer;
  err: RpcTransactionError | null;
  feeLamports: bigint;
  /** Accounts an address lookup table added, in the order the runtime appends them to the static keys. */
  loadedAddresses: { writable: PublicKey[]; readonly: PublicKey[] };
  preBalances: BigUint64Array;
  postBalances: BigUint64Array;
  preTokenBalances: TokenBalance[];
  postTokenBalances: TokenBalance[];
  /**
   * The runtime's report of the execution (logs, CPIs with their stack heights, compute units, return data), kept
   * as LiteSVM handed it and formatted only when getTransaction asks: most transactions are never read back, and
   * a perps fill's 8 CPIs cost dozens of calls into the native module to copy out.
   */
  execution: TransactionMetadata;
  /** Agave's memo summary ("[len] text; ..."), null without a memo instruction. */
  memo: string | null;
}

interface Entry {
  record: TxRecord;
  /** Position in execution order, which is also newest-last order across slots. */
  seq: number;
  /** The address lists this transaction is in, to leave them when it is forgotten. */
  lists: AddressList[];
}

interface AddressList {
  address: string;
  entries: Entry[];
}

/**
 * `s` as one flat string. Base58 encoders build their output a character at a time, which V8 keeps as a rope of
 * one node per character (~2.5 KB for an 88-character signature, 20x the flat size) until something flattens it;
 * hashing it as a Map key does not. Only for ASCII.
 */
export function flatString(s: string): string {
  return Buffer.from(s, "latin1").toString("latin1");
}

/**
 * The ledger's bounded transaction history: by signature, and per account address in execution order. When it is
 * full the oldest transaction goes, from the signature index and from the front of every address list it is in
 * (being the oldest overall, it is the oldest of each of those lists).
 */
export class TransactionHistory {
  private readonly bySignature = new Map<string, Entry>();
  private readonly byAddress = new Map<string, AddressList>();
  private nextSeq = 0;

  constructor(readonly capacity: number = DEFAULT_HISTORY_CAPACITY) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`history capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.bySignature.size;
  }

  /** Record a transaction that touched `addresses` (every account key, static and loaded, as its 32 bytes). */
  add(record: TxRecord, addresses: Uint8Array[]): void {
    const entry: Entry = { record, seq: this.nextSeq++, lists: [] };
    this.bySignature.set(record.signature, entry);
    for (const address of new Set(addresses.map(bytesKey))) {
      let list = this.byAddress.get(address);
      if (!list) {
        list = { address, entries: [] };
        this.byAddress.set(address, list);
      }
      list.entries.push(entry);
      entry.lists.push(list);
    }
    if (this.bySignature.size > this.capacity) this.evictOldest();
  }

  private evictOldest(): void {
    const [oldest] = this.bySignature;
    if (!oldest) return;
    const [signature, entry] = oldest;
    this.bySignature.delete(signature);
    for (const list of entry.lists) {
      list.entries.shift();
      if (list.entries.length === 0) this.byAddress.delete(list.address);
    }
  }

  get(signature: string): TxRecord | undefined {
    return this.bySignature.get(signature)?.record;
  }

  /**
   * Transactions that touched `address`, newest first: at most `limit`, only older than `before` and newer than
   * `until`. As on a real node, an unknown `before` gives nothing and an unknown `until` sets no lower bound.
   */
  signaturesFor(address: PublicKey, opts: { limit: number; before?: string; until?: string }): TxRecord[] {
    const list = this.byAddress.get(bytesKey(address.toBytes()))?.entries ?? [];
    let end = list.length;
    if (opts.before !== undefined) {
      const before = this.bySignature.get(opts.before);
      if (!before) return [];
      end = firstAtOrAfter(list, before.seq);
    }
    const untilSeq = opts.until === undefined ? -1 : (this.bySignature.get(opts.until)?.seq ?? -1);
    const out: TxRecord[] = [];
    for (let i = end - 1; i >= 0 && out.length < opts.limit && list[i]!.seq > untilSeq; i--) out.push(list[i]!.record);
    return out;
  }
}

/** Index of the first entry whose seq is >= `seq` (the list is in ascending seq order). */
function firstAtOrAfter(list: Entry[], seq: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** getTransaction's encodings of the transaction itself (the meta is JSON in all of them, as on a real node). */
export type TxEncoding = "json" | "base64" | "base58";

/** A v0 transaction asked for by a client that did not say it understands v0 (Agave's error -32015). */
export class UnsupportedTransactionVersion extends Error {
  constructor(readonly version: number) {
    super(
      `Transaction version (${version}) is not supported by the requesting client. ` +
        `Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": ${version}`,
    );
  }
}

/**
 * A recorded transaction as Agave's getTransaction returns it (EncodedConfirmedTransactionWithStatusMeta):
 * `version` only when the client gave maxSupportedTransactionVersion, top-level instructions with a null
 * stackHeight, `returnData` only when the transaction set some.
 */
export function encodeTransactionRecord(r: TxRecord, opts: { encoding: TxEncoding; maxSupportedTransactionVersion?: number }) {
  const tx = VersionedTransaction.deserialize(r.wire);
  const max = opts.maxSupportedTransactionVersion;
  if (tx.version !== "legacy" && (max === undefined || tx.version > max)) throw new UnsupportedTransactionVersion(tx.version);
  const transaction =
    opts.encoding === "json" ? uiTransaction(tx) : [opts.encoding === "base64" ? r.wire.toString("base64") : bs58.encode(r.wire), opts.encoding];
  return {
    slot: Number(r.slot),
    transaction,
    meta: uiMeta(r),
    ...(max === undefined ? {} : { version: tx.version }),
    blockTime: Number(r.blockTimeSec),
  };
}

function uiTransaction(tx: VersionedTransaction) {
  const m = tx.message;
  return {
    signatures: tx.signatures.map((s) => bs58.encode(s)),
    message: {
      header: m.header,
      accountKeys: m.staticAccountKeys.map((k) => k.toBase58()),
      recentBlockhash: m.recentBlockhash,
      instructions: m.compiledInstructions.map((ix) => ({
        programIdIndex: ix.programIdIndex,
        accounts: ix.accountKeyIndexes,
        data: bs58.encode(ix.data),
        stackHeight: null,
      })),
      ...(tx.version === "legacy"
        ? {}
        : {
            addressTableLookups: m.addressTableLookups.map((l) => ({
              accountKey: l.accountKey.toBase58(),
              writableIndexes: l.writableIndexes,
              readonlyIndexes: l.readonlyIndexes,
            })),
          }),
    },
  };
}

/** What a transaction returned (set_return_data), or null when it set none, as the RPC reports it. */
export function returnDataOf(execution: TransactionMetadata): { programId: PublicKey; data: Buffer } | null {
  const rd = execution.returnData();
  const programId = rd.programId();
  const data = rd.data();
  if (data.length === 0 && programId.every((b) => b === 0)) return null;
  return { programId: new PublicKey(programId), data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}

/** The CPIs of each top-level instruction that made any, in execution order, as Agave's status meta lists them. */
function uiInnerInstructions(execution: TransactionMetadata) {
  return execution
    .innerInstructions()
    .map((list, index) => ({
      index,
      instructions: list.map((inner) => {
        const ix = inner.instruction();
        // stackHeight: 2 for a CPI made by a top-level instruction, 3 for one made by that CPI, ...
        return { programIdIndex: ix.programIdIndex(), accounts: [...ix.accounts()], data: bs58.encode(ix.data()), stackHeight: inner.stackHeight() };
      }),
    }))
    .filter((group) => group.instructions.length > 0);
}

function uiMeta(r: TxRecord) {
  const returnData = returnDataOf(r.execution);
  return {
    err: r.err,
    status: r.err === null ? { Ok: null } : { Err: r.err },
    fee: Number(r.feeLamports),
    preBalances: Array.from(r.preBalances, Number),
    postBalances: Array.from(r.postBalances, Number),
    innerInstructions: uiInnerInstructions(r.execution),
    logMessages: r.execution.logs(),
    preTokenBalances: r.preTokenBalances.map(uiTokenBalance),
    postTokenBalances: r.postTokenBalances.map(uiTokenBalance),
    rewards: [],
    loadedAddresses: { writable: r.loadedAddresses.writable.map((k) => k.toBase58()), readonly: r.loadedAddresses.readonly.map((k) => k.toBase58()) },
    ...(returnData ? { returnData: { programId: returnData.programId.toBase58(), data: [returnData.data.toString("base64"), "base64"] } } : {}),
    computeUnitsConsumed: Number(r.execution.computeUnitsConsumed()),
  };
}

/** Agave stores token amounts through protobuf, which gives a zero balance a null uiAmount. */
function uiTokenBalance(b: TokenBalance) {
  return {
    accountIndex: b.accountIndex,
    mint: b.mint.toBase58(),
    uiTokenAmount: {
      uiAmount: b.amount === 0n ? null : Number(b.amount) / 10 ** b.decimals,
      decimals: b.decimals,
      amount: b.amount.toString(),
      uiAmountString: trimmedDecimal(b.amount, b.decimals),
    },
    owner: b.owner.toBase58(),
    programId: b.programId.toBase58(),
  };
}

/** `amount` scaled down by 10^decimals, without trailing zeros (Agave's real_number_string_trimmed). */
function trimmedDecimal(amount: bigint, decimals: number): string {
  if (decimals === 0) return amount.toString();
  const digits = amount.toString().padStart(decimals + 1, "0");
  const fraction = digits.slice(-decimals).replace(/0+$/, "");
  return fraction ? `${digits.slice(0, -decimals)}.${fraction}` : digits.slice(0, -decimals);
}
