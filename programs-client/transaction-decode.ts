import { BorshInstructionCoder } from "@coral-xyz/anchor";
import type { IdlType } from "@coral-xyz/anchor/dist/cjs/idl";
import {
  type CompiledInnerInstruction,
  Message,
  type MessageCompiledInstruction,
  MessageV0,
  PublicKey,
  VersionedMessage,
  VersionedTransaction,
  type VersionedTransactionResponse,
} from "@solana/web3.js";
import bs58 from "bs58";
import { PROGRAM_IDS } from "./addresses";
import { fromAnchor } from "./convert";
import { EVENT_IX_TAG, type PerpsEvent, eventsFromTransaction } from "./events";
import { PERPETUALS_IDL } from "./idl";

const coder = new BorshInstructionCoder(PERPETUALS_IDL);

export interface NamedAccount {
  /** The IDL's name for the slot; null for accounts past the IDL's list (remaining accounts). */
  name: string | null;
  pubkey: PublicKey;
}

/** A Jupiter Perps instruction decoded by its discriminator, or marked unknown when the IDL does not have it. */
export type DecodedPerpsInstruction =
  | { known: true; name: string; discriminatorHex: string; args: Record<string, unknown>; accounts: NamedAccount[] }
  | { known: false; discriminatorHex: string; dataHex: string; accounts: NamedAccount[] };

/**
 * Decode one instruction's data and accounts against idl/jupiter_perpetuals.json: the name from the discriminator,
 * arguments as the keeper's types (bigint, PublicKey, lower-case enum variants), accounts named in IDL order.
 * Data whose discriminator the IDL lacks, or that does not parse, is unknown, not an error.
 */
export function decodePerpsInstruction(data: Uint8Array, accounts: PublicKey[]): DecodedPerpsInstruction {
  const buf = Buffer.from(data);
  const discriminatorHex = buf.subarray(0, 8).toString("hex");
  let decoded: { name: string; data: unknown } | null = null;
  try {
    decoded = coder.decode(buf);
  } catch {
    decoded = null;
  }
  const idlIx = decoded && PERPETUALS_IDL.instructions.find((i) => i.name === decoded!.name);
  if (!decoded || !idlIx) {
    return { known: false, discriminatorHex, dataHex: buf.toString("hex"), accounts: accounts.map((pubkey) => ({ name: null, pubkey })) };
  }
  const raw = decoded.data as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const arg of idlIx.args as { name: string; type: IdlType }[]) args[arg.name] = fromAnchor(PERPETUALS_IDL, arg.type, raw[arg.name]);
  const names = idlIx.accounts.map((a) => a.name);
  return { known: true, name: idlIx.name, discriminatorHex, args, accounts: accounts.map((pubkey, i) => ({ name: names[i] ?? null, pubkey })) };
}

/** Where an instruction sits: a top-level instruction, or a CPI (inner) made while running top-level `index`. */
export interface InstructionPlace {
  index: number;
  /** Position among the CPIs of top-level `index`; null for the top-level instruction itself. */
  innerIndex: number | null;
}

export interface DecodedPerpsTransaction {
  signature: string;
  slot: number | null;
  blockTime: number | null;
  /** "unknown" when the record has no status (a transaction rebuilt from partial records). */
  status: "succeeded" | "failed" | "unknown";
  err: unknown;
  feeLamports: number | null;
  instructions: (InstructionPlace & DecodedPerpsInstruction)[];
  events: PerpsEvent[];
}

/** A getTransaction answer as web3.js gives it; `slot` may be unknown for a transaction rebuilt from partial records. */
export type TxResponse = Pick<VersionedTransactionResponse, "blockTime" | "transaction" | "meta"> & { slot: number | null };

/** Every account key of the transaction: the message's, then those its lookup tables loaded (writable first). */
function accountKeys(tx: TxResponse): PublicKey[] {
  return [
    ...tx.transaction.message.staticAccountKeys,
    ...(tx.meta?.loadedAddresses?.writable ?? []).map((k) => new PublicKey(k)),
    ...(tx.meta?.loadedAddresses?.readonly ?? []).map((k) => new PublicKey(k)),
  ];
}

/**
 * The Jupiter Perps instructions of a transaction (top-level, and CPIs into the program from other programs), each
 * decoded, and the events it emitted. The program's emit_cpi self-invocations are reported as events only.
 */
export function decodePerpsTransaction(tx: TxResponse): DecodedPerpsTransaction {
  const keys = accountKeys(tx);
  const isPerps = (programIdIndex: number) => keys[programIdIndex]?.equals(PROGRAM_IDS.perpetuals) ?? false;
  const decodeAt = (place: InstructionPlace, ix: { programIdIndex: number; accounts: number[]; data: Uint8Array }) => ({
    ...place,
    ...decodePerpsInstruction(ix.data, ix.accounts.map((i) => keys[i] ?? PublicKey.default)),
  });
  const instructions: DecodedPerpsTransaction["instructions"] = [];
  const inner: CompiledInnerInstruction[] = tx.meta?.innerInstructions ?? [];
  tx.transaction.message.compiledInstructions.forEach((ix: MessageCompiledInstruction, index) => {
    if (isPerps(ix.programIdIndex)) instructions.push(decodeAt({ index, innerIndex: null }, { programIdIndex: ix.programIdIndex, accounts: ix.accountKeyIndexes, data: ix.data }));
    for (const group of inner.filter((g) => g.index === index)) {
      group.instructions.forEach((cpi, innerIndex) => {
        if (!isPerps(cpi.programIdIndex)) return;
        const data = bs58.decode(cpi.data);
        if (Buffer.from(data.subarray(0, 8)).equals(EVENT_IX_TAG)) return;
        instructions.push(decodeAt({ index, innerIndex }, { programIdIndex: cpi.programIdIndex, accounts: cpi.accounts, data }));
      });
    }
  });
  return {
    signature: tx.transaction.signatures[0] ?? "",
    slot: tx.slot ?? null,
    blockTime: tx.blockTime ?? null,
    status: !tx.meta || !("err" in tx.meta) ? "unknown" : tx.meta.err === null ? "succeeded" : "failed",
    err: tx.meta?.err ?? null,
    feeLamports: tx.meta?.fee ?? null,
    instructions,
    events: eventsFromTransaction(tx),
  };
}

/** Why a getTransaction JSON document could not be read; the message says which part and what was expected. */
export class TransactionJsonError extends Error {}

interface WireInstruction {
  programIdIndex: number;
  accounts: number[];
  data: string;
  stackHeight?: number | null;
}

function need<T>(ok: boolean, value: T, what: string): T {
  if (!ok) throw new TransactionJsonError(what);
  return value;
}

function isIndexList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((n) => Number.isInteger(n) && n >= 0);
}

function wireInstruction(v: unknown, where: string): WireInstruction {
  const ix = v as WireInstruction;
  need(typeof ix === "object" && ix !== null && Number.isInteger(ix.programIdIndex) && isIndexList(ix.accounts) && typeof ix.data === "string", null, `${where}: expected {programIdIndex, accounts, data (base58)}`);
  try {
    bs58.decode(ix.data);
  } catch {
    throw new TransactionJsonError(`${where}: data is not base58`);
  }
  return ix;
}

function keyList(v: unknown, where: string): PublicKey[] {
  need(Array.isArray(v), null, `${where}: expected an array of base58 addresses`);
  return (v as unknown[]).map((k, i) => {
    try {
      return new PublicKey(k as string);
    } catch {
      throw new TransactionJsonError(`${where}[${i}]: ${JSON.stringify(k)} is not a base58 address`);
    }
  });
}

/** The message of a `json`-encoded transaction, rebuilt as web3.js's legacy Message or MessageV0. */
function messageFromJson(m: Record<string, unknown>): VersionedMessage {
  const header = m.header as VersionedMessage["header"];
  need(
    typeof header === "object" && header !== null && [header.numRequiredSignatures, header.numReadonlySignedAccounts, header.numReadonlyUnsignedAccounts].every(Number.isInteger),
    null,
    "transaction.message.header: expected {numRequiredSignatures, numReadonlySignedAccounts, numReadonlyUnsignedAccounts}",
  );
  need(Array.isArray(m.instructions), null, "transaction.message.instructions: expected an array");
  const staticAccountKeys = keyList(m.accountKeys, "transaction.message.accountKeys");
  const recentBlockhash = String(m.recentBlockhash ?? "");
  const instructions = (m.instructions as unknown[]).map((raw, i) => wireInstruction(raw, `transaction.message.instructions[${i}]`));
  // Agave writes addressTableLookups for v0 messages only.
  if (!("addressTableLookups" in m)) {
    return new Message({ header, accountKeys: staticAccountKeys.map((k) => k.toBase58()), recentBlockhash, instructions });
  }
  const lookups = (m.addressTableLookups ?? []) as { accountKey: string; writableIndexes: number[]; readonlyIndexes: number[] }[];
  return new MessageV0({
    header,
    staticAccountKeys,
    recentBlockhash,
    compiledInstructions: instructions.map((ix) => ({ programIdIndex: ix.programIdIndex, accountKeyIndexes: ix.accounts, data: bs58.decode(ix.data) })),
    addressTableLookups: lookups.map((l, i) => ({
      accountKey: keyList([l.accountKey], `transaction.message.addressTableLookups[${i}].accountKey`)[0]!,
      writableIndexes: need(isIndexList(l.writableIndexes), l.writableIndexes, `addressTableLookups[${i}].writableIndexes: expected indexes`),
      readonlyIndexes: need(isIndexList(l.readonlyIndexes), l.readonlyIndexes, `addressTableLookups[${i}].readonlyIndexes: expected indexes`),
    })),
  });
}

/**
 * Read a getTransaction answer as JSON-RPC returns it (`json`, `base64` or `base58` encoding), either the whole
 * response or its `result`, into the shape web3.js's `Connection.getTransaction` gives. Throws TransactionJsonError
 * naming the first part that does not fit; a response whose result is null (the node did not have the
 * transaction) is one.
 */
export function parseGetTransactionJson(doc: unknown): TxResponse {
  const root = doc as Record<string, unknown> | null;
  need(typeof root === "object" && root !== null, null, "expected a JSON object: a getTransaction response or its result");
  const result = ("result" in root! ? root!.result : root) as Record<string, unknown> | null;
  if ("error" in root! && root!.error) throw new TransactionJsonError(`the response is an error: ${JSON.stringify(root!.error)}`);
  need(result !== null, null, "the response's result is null: that node did not have the transaction");
  const t = result!.transaction;
  let signatures: string[];
  let message: VersionedMessage;
  if (Array.isArray(t)) {
    const [blob, encoding] = t as [unknown, unknown];
    need(typeof blob === "string" && (encoding === "base64" || encoding === "base58"), null, 'transaction: expected [<bytes>, "base64" | "base58"]');
    let tx: VersionedTransaction;
    try {
      tx = VersionedTransaction.deserialize(encoding === "base64" ? Buffer.from(blob as string, "base64") : bs58.decode(blob as string));
    } catch (e) {
      throw new TransactionJsonError(`transaction: the ${String(encoding)} bytes do not deserialize (${(e as Error).message})`);
    }
    signatures = tx.signatures.map((s) => bs58.encode(s));
    message = tx.message;
  } else {
    const tj = t as { signatures?: unknown; message?: unknown } | undefined;
    need(typeof tj === "object" && tj !== null && Array.isArray(tj.signatures) && typeof tj.message === "object" && tj.message !== null, null, "transaction: expected {signatures, message} or [<bytes>, encoding]");
    signatures = (tj!.signatures as unknown[]).map(String);
    message = messageFromJson(tj!.message as Record<string, unknown>);
  }
  const meta = result!.meta as Record<string, unknown> | null | undefined;
  const innerInstructions = ((meta?.innerInstructions ?? []) as { index: number; instructions: unknown[] }[]).map((group, g) => ({
    index: need(Number.isInteger(group.index), group.index, `meta.innerInstructions[${g}].index: expected an integer`),
    instructions: need(Array.isArray(group.instructions), group.instructions, `meta.innerInstructions[${g}].instructions: expected an array`).map((ix, i) =>
      wireInstruction(ix, `meta.innerInstructions[${g}].instructions[${i}]`),
    ),
  }));
  const loaded = (meta?.loadedAddresses ?? { writable: [], readonly: [] }) as { writable: unknown; readonly: unknown };
  return {
    slot: typeof result!.slot === "number" ? result!.slot : null,
    blockTime: typeof result!.blockTime === "number" ? result!.blockTime : null,
    transaction: { signatures, message },
    meta: meta
      ? {
          ...(meta as unknown as NonNullable<VersionedTransactionResponse["meta"]>),
          innerInstructions: innerInstructions as CompiledInnerInstruction[],
          loadedAddresses: { writable: keyList(loaded.writable, "meta.loadedAddresses.writable"), readonly: keyList(loaded.readonly, "meta.loadedAddresses.readonly") },
        }
      : null,
  };
}
