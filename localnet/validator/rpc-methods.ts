import { PublicKey, VersionedMessage } from "@solana/web3.js";
import bs58 from "bs58";
import type { RpcAccountFilter as AccountFilter, RawAccount } from "../../programs-client";
import { PROGRAM_IDS, associatedTokenAddress, decodeMint, decodeTokenAccount } from "../../programs-client";
import { tokenAccount } from "../fixtures/world";
import { DroppedTransaction, type LocalChain, type TxOutcome } from "./chain";
import { type TxEncoding, UnsupportedTransactionVersion, encodeTransactionRecord } from "./ledger";
import { describeRpcError } from "./tx-error";
import { perpsControls } from "./perps-controls";

/** A JSON-RPC error with its code, sent back to the caller as { error: { code, message, data? } }. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export const INVALID_PARAMS = -32602;
export const METHOD_NOT_FOUND = -32601;
const MIN_CONTEXT_SLOT_NOT_REACHED = -32016;
const PREFLIGHT_FAILURE = -32002;
const UNSUPPORTED_TRANSACTION_VERSION = -32015;
const MAX_SIGNATURES_LIMIT = 1000;
// Solana's RPC version string; web3.js only displays it.
const VERSION = { "solana-core": "2.2.0", "feature-set": 0 };
const SLOTS_PER_EPOCH = 432_000n;

export type RpcParams = unknown[];
export type RpcHandler = (params: RpcParams) => unknown;

export function pubkeyParam(value: unknown, what: string): PublicKey {
  try {
    return new PublicKey(value as string);
  } catch {
    throw new RpcError(INVALID_PARAMS, `Invalid param: ${what} is not a base58 pubkey`);
  }
}

interface DataSlice {
  offset: number;
  length: number;
}

export function toRpcAccount(a: RawAccount | null, dataSlice?: DataSlice) {
  if (!a) return null;
  const data = dataSlice ? a.data.subarray(dataSlice.offset, dataSlice.offset + dataSlice.length) : a.data;
  return {
    data: [data.toString("base64"), "base64"],
    executable: a.executable ?? false,
    lamports: a.lamports,
    owner: a.owner.toBase58(),
    rentEpoch: 18446744073709551615,
    space: a.data.length,
  };
}

export function parseFilters(raw: unknown): AccountFilter[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new RpcError(INVALID_PARAMS, "Invalid param: filters must be an array");
  return raw.map((f: { dataSize?: number; memcmp?: { offset: number; bytes: string; encoding?: string } }) => {
    if (typeof f.dataSize === "number") return { dataSize: f.dataSize };
    if (f.memcmp && typeof f.memcmp.offset === "number" && typeof f.memcmp.bytes === "string") {
      const bytes = f.memcmp.encoding === "base64" ? Buffer.from(f.memcmp.bytes, "base64") : Buffer.from(bs58.decode(f.memcmp.bytes));
      return { memcmp: { offset: f.memcmp.offset, bytes } };
    }
    throw new RpcError(INVALID_PARAMS, `Invalid param: unsupported filter ${JSON.stringify(f)}`);
  });
}

/** Transactions arrive base58 unless the caller says base64 (web3.js always does). */
function decodeWire(encoded: unknown, encoding: unknown, what: string): Buffer {
  if (typeof encoded !== "string") throw new RpcError(INVALID_PARAMS, `Invalid param: ${what} must be an encoded string`);
  try {
    return encoding === "base64" ? Buffer.from(encoded, "base64") : Buffer.from(bs58.decode(encoded));
  } catch {
    throw new RpcError(INVALID_PARAMS, `Invalid param: ${what} is not valid ${String(encoding ?? "base58")}`);
  }
}

function returnDataJson(o: TxOutcome) {
  return o.returnData ? { programId: o.returnData.programId.toBase58(), data: [o.returnData.data.toString("base64"), "base64"] } : null;
}

/** The read, transaction and test-control methods a web3.js 1.x Connection and Anchor use, over one chain. */
export function createRpcMethods(chain: LocalChain): Record<string, RpcHandler> {
  const context = (config?: unknown) => {
    const min = (config as { minContextSlot?: number } | undefined)?.minContextSlot;
    if (min !== undefined && BigInt(min) > chain.slot) {
      throw new RpcError(MIN_CONTEXT_SLOT_NOT_REACHED, `Minimum context slot has not been reached`);
    }
    return { apiVersion: VERSION["solana-core"], slot: Number(chain.slot) };
  };
  const parseTx = (params: RpcParams) => {
    const cfg = (params[1] ?? {}) as Record<string, unknown>;
    return { bytes: decodeWire(params[0], cfg.encoding, "transaction"), cfg };
  };

  return {
    ...perpsControls(chain),
    getHealth: () => "ok",
    getVersion: () => VERSION,
    getSlot: ([config]) => Number(context(config).slot),
    getBlockHeight: ([config]) => (context(config), Number(chain.blockHeight)),
    getEpochInfo: ([config]) => {
      context(config);
      return {
        absoluteSlot: Number(chain.slot),
        blockHeight: Number(chain.blockHeight),
        epoch: Number(chain.slot / SLOTS_PER_EPOCH),
        slotIndex: Number(chain.slot % SLOTS_PER_EPOCH),
        slotsInEpoch: Number(SLOTS_PER_EPOCH),
        transactionCount: null,
      };
    },
    getLatestBlockhash: ([config]) => {
      const { blockhash, lastValidBlockHeight } = chain.latestBlockhash();
      return { context: context(config), value: { blockhash, lastValidBlockHeight: Number(lastValidBlockHeight) } };
    },
    isBlockhashValid: ([blockhash, config]) => ({ context: context(config), value: chain.isBlockhashValid(String(blockhash)) }),
    getFeeForMessage: ([message, config]) => {
      let parsed: VersionedMessage;
      try {
        parsed = VersionedMessage.deserialize(decodeWire(message, "base64", "message"));
      } catch (e) {
        throw new RpcError(INVALID_PARAMS, `Invalid param: message does not deserialize (${(e as Error).message})`);
      }
      const value = chain.isBlockhashValid(parsed.recentBlockhash) ? Number(chain.feeForMessage(parsed)) : null;
      return { context: context(config), value };
    },
    getBalance: ([key, config]) => ({ context: context(config), value: chain.getAccount(pubkeyParam(key, "pubkey"))?.lamports ?? 0 }),
    getTokenAccountBalance: ([key, config]) => {
      const address = pubkeyParam(key, "pubkey");
      const account = chain.getAccount(address);
      const token = account && account.owner.equals(PROGRAM_IDS.token) ? decodeTokenAccount(account.data) : undefined;
      if (!token?.ok) throw new RpcError(INVALID_PARAMS, `Invalid param: not a Token account ${address.toBase58()}`);
      const mintAccount = chain.getAccount(token.value.mint);
      const mint = mintAccount ? decodeMint(mintAccount.data) : undefined;
      if (!mint?.ok) throw new RpcError(INVALID_PARAMS, `Invalid param: mint ${token.value.mint.toBase58()} not found`);
      const decimals = mint.value.decimals;
      const amount = token.value.amount;
      const uiAmountString = decimals === 0 ? amount.toString() : `${amount / 10n ** BigInt(decimals)}.${(amount % 10n ** BigInt(decimals)).toString().padStart(decimals, "0")}`.replace(/\.?0+$/, "");
      return { context: context(config), value: { amount: amount.toString(), decimals, uiAmount: Number(uiAmountString), uiAmountString } };
    },
    getAccountInfo: ([key, config]) => {
      const cfg = config as { dataSlice?: DataSlice } | undefined;
      return { context: context(cfg), value: toRpcAccount(chain.getAccount(pubkeyParam(key, "pubkey")), cfg?.dataSlice) };
    },
    getMultipleAccounts: ([keys, config]) => {
      if (!Array.isArray(keys)) throw new RpcError(INVALID_PARAMS, "Invalid param: expected an array of pubkeys");
      const cfg = config as { dataSlice?: DataSlice } | undefined;
      const ctx = context(cfg);
      return { context: ctx, value: keys.map((k, i) => toRpcAccount(chain.getAccount(pubkeyParam(k, `pubkey ${i}`)), cfg?.dataSlice)) };
    },
    getProgramAccounts: ([program, config]) => {
      const cfg = (config ?? {}) as { filters?: unknown; withContext?: boolean; dataSlice?: DataSlice };
      const ctx = context(cfg);
      const value = chain
        .programAccounts(pubkeyParam(program, "program id"), parseFilters(cfg.filters))
        .map(({ pubkey, account }) => ({ pubkey: pubkey.toBase58(), account: toRpcAccount(account, cfg.dataSlice) }));
      return cfg.withContext ? { context: ctx, value } : value;
    },
    getMinimumBalanceForRentExemption: ([bytes]) => Number(chain.minimumBalanceForRentExemption(Number(bytes))),
    getSignatureStatuses: ([signatures]) => {
      if (!Array.isArray(signatures)) throw new RpcError(INVALID_PARAMS, "Invalid param: expected an array of signatures");
      const value = signatures.map((s) => {
        const st = chain.signatureStatus(String(s));
        if (!st) return null;
        // Everything is final the moment it executes: one block producer, no forks.
        const status = st.err === null ? { Ok: null } : { Err: st.err };
        return { slot: Number(st.slot), confirmations: null, err: st.err, status, confirmationStatus: "finalized" };
      });
      return { context: context(), value };
    },
    getTransaction: ([signature, config]) => {
      // The second parameter is a config object, or the encoding alone (the older form).
      const cfg = (typeof config === "string" ? { encoding: config } : (config ?? {})) as Record<string, unknown>;
      atLeastConfirmed(cfg);
      const encoding = cfg.encoding ?? "json";
      if (encoding !== "json" && encoding !== "base64" && encoding !== "base58") {
        throw new RpcError(INVALID_PARAMS, `Invalid param: encoding ${JSON.stringify(encoding)} is not supported here; use json, base64 or base58`);
      }
      const record = chain.history.get(signatureParam(signature, "signature"));
      if (!record) return null;
      const max = cfg.maxSupportedTransactionVersion;
      try {
        return encodeTransactionRecord(record, { encoding: encoding as TxEncoding, maxSupportedTransactionVersion: max === undefined ? undefined : Number(max) });
      } catch (e) {
        if (e instanceof UnsupportedTransactionVersion) throw new RpcError(UNSUPPORTED_TRANSACTION_VERSION, e.message);
        throw e;
      }
    },
    getSignaturesForAddress: ([address, config]) => {
      const cfg = (config ?? {}) as { limit?: unknown; before?: unknown; until?: unknown; commitment?: unknown };
      atLeastConfirmed(cfg);
      context(cfg);
      const limit = cfg.limit ?? MAX_SIGNATURES_LIMIT;
      if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_SIGNATURES_LIMIT) {
        throw new RpcError(INVALID_PARAMS, `Invalid limit; max ${MAX_SIGNATURES_LIMIT}`);
      }
      const before = cfg.before === undefined || cfg.before === null ? undefined : signatureParam(cfg.before, "before");
      const until = cfg.until === undefined || cfg.until === null ? undefined : signatureParam(cfg.until, "until");
      return chain.history.signaturesFor(pubkeyParam(address, "address"), { limit, before, until }).map((r) => ({
        signature: r.signature,
        slot: Number(r.slot),
        err: r.err,
        memo: r.memo,
        blockTime: Number(r.blockTimeSec),
        confirmationStatus: "finalized",
      }));
    },
    getRecentPrioritizationFees: ([accounts]) => {
      const keys = Array.isArray(accounts) ? accounts.map((a, i) => pubkeyParam(a, `account ${i}`)) : [];
      if (keys.length > 128) throw new RpcError(INVALID_PARAMS, "Invalid param: too many accounts provided; max 128");
      return chain.priorityFees.recent(chain.slot, keys).map((f) => ({ slot: Number(f.slot), prioritizationFee: Number(f.prioritizationFee) }));
    },
    requestAirdrop: ([key, lamports]) => {
      if (typeof lamports !== "number" || !Number.isSafeInteger(lamports) || lamports <= 0) {
        throw new RpcError(INVALID_PARAMS, "Invalid param: lamports must be a positive integer");
      }
      return chain.airdrop(pubkeyParam(key, "pubkey"), BigInt(lamports));
    },
    sendTransaction: (params) => {
      const { bytes, cfg } = parseTx(params);
      context(cfg);
      try {
        if (cfg.skipPreflight) return safely(() => chain.sendTransaction(bytes)).signature;
        // One execution: the preflight's, committed when it succeeds.
        const sent = safely(() => chain.sendWithPreflight(bytes));
        if (sent.err === null) return sent.signature;
        throw new RpcError(PREFLIGHT_FAILURE, `Transaction simulation failed: ${describeRpcError(sent.err)}`, {
          err: sent.err,
          logs: sent.logs,
          accounts: null,
          unitsConsumed: Number(sent.unitsConsumed),
          returnData: returnDataJson(sent),
        });
      } catch (e) {
        // A cluster accepts the bytes and silently drops what cannot run (preflight skipped, or passed but the send dropped).
        if (e instanceof DroppedTransaction) return e.signature;
        throw e;
      }
    },
    simulateTransaction: (params) => {
      const { bytes, cfg } = parseTx(params);
      const accountsCfg = cfg.accounts as { addresses?: unknown[] } | undefined;
      const accounts = accountsCfg?.addresses?.map((a, i) => pubkeyParam(a, `accounts.addresses[${i}]`));
      const replace = cfg.replaceRecentBlockhash === true;
      if (replace && cfg.sigVerify === true) throw new RpcError(INVALID_PARAMS, "Invalid params: sigVerify may not be used with replaceRecentBlockhash");
      const sim = safely(() => chain.simulateTransaction(bytes, { sigVerify: cfg.sigVerify === true, replaceRecentBlockhash: replace, accounts }));
      const latest = chain.latestBlockhash();
      return {
        context: context(cfg),
        value: {
          err: sim.err,
          logs: sim.logs,
          accounts: accounts ? accounts.map((k) => toRpcAccount(sim.postAccounts?.get(k.toBase58()) ?? null)) : null,
          unitsConsumed: Number(sim.unitsConsumed),
          returnData: returnDataJson(sim),
          innerInstructions: null,
          replacementBlockhash: replace ? { blockhash: latest.blockhash, lastValidBlockHeight: Number(latest.lastValidBlockHeight) } : null,
        },
      };
    },
    surfnet_setAccount: ([key, update]) => {
      const address = pubkeyParam(key, "pubkey");
      const u = (update ?? {}) as { lamports?: number; data?: string; owner?: string; executable?: boolean };
      const current = chain.getAccount(address) ?? { owner: PublicKey.default, data: Buffer.alloc(0), lamports: 0 };
      chain.setAccount(address, {
        lamports: u.lamports ?? current.lamports,
        data: u.data !== undefined ? Buffer.from(u.data, "hex") : current.data,
        owner: u.owner !== undefined ? pubkeyParam(u.owner, "owner") : current.owner,
        executable: u.executable ?? current.executable,
      });
      return { context: context(), value: null };
    },
    surfnet_setTokenAccount: ([owner, mint, update]) => {
      const u = (update ?? {}) as { amount?: number | string };
      let amount: bigint;
      try {
        amount = BigInt(u.amount ?? 0);
      } catch {
        throw new RpcError(INVALID_PARAMS, "Invalid param: amount must be an integer (base units)");
      }
      if (amount < 0n) throw new RpcError(INVALID_PARAMS, "Invalid param: amount must not be negative");
      const ownerKey = pubkeyParam(owner, "owner");
      const mintKey = pubkeyParam(mint, "mint");
      chain.setAccount(associatedTokenAddress(mintKey, ownerKey), tokenAccount(mintKey, ownerKey, amount));
      return { context: context(), value: null };
    },
    surfnet_timeTravel: ([config]) => {
      const c = (config ?? {}) as { absoluteTimestamp?: number; absoluteSlot?: number };
      try {
        chain.timeTravel({ unixMs: c.absoluteTimestamp, slot: c.absoluteSlot === undefined ? undefined : BigInt(c.absoluteSlot) });
      } catch (e) {
        throw new RpcError(INVALID_PARAMS, e instanceof Error ? e.message : String(e));
      }
      return { absoluteSlot: Number(chain.slot), unixTimestamp: Number(chain.nowSec()) };
    },
  };
}

function signatureParam(value: unknown, what: string): string {
  let bytes: Uint8Array | undefined;
  try {
    bytes = typeof value === "string" ? bs58.decode(value) : undefined;
  } catch {
    bytes = undefined;
  }
  if (bytes?.length !== 64) throw new RpcError(INVALID_PARAMS, `Invalid param: ${what} is not a base58 transaction signature`);
  return value as string;
}

/** History answers only from what a cluster has confirmed, as Agave's getTransaction and getSignaturesForAddress. */
function atLeastConfirmed(cfg: { commitment?: unknown }): void {
  if (cfg.commitment === "processed") throw new RpcError(INVALID_PARAMS, "Method does not support commitment below `confirmed`");
}

/** Bytes that do not deserialize are the caller's mistake, not the server's. */
function safely<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof DroppedTransaction || e instanceof RpcError) throw e;
    throw new RpcError(INVALID_PARAMS, `Invalid params: transaction failed to deserialize or run (${(e as Error).message})`);
  }
}
