import { BorshEventCoder } from "@coral-xyz/anchor";
import { type CompiledInnerInstruction, PublicKey, type VersionedTransactionResponse } from "@solana/web3.js";
import bs58 from "bs58";
import { PROGRAM_IDS } from "./addresses";
import { fromAnchor } from "./convert";
import { PERPETUALS_IDL } from "./idl";

/**
 * Anchor's emit_cpi prefix, from its source (coral-xyz/anchor lang/src/event.rs: `EVENT_IX_TAG: u64 =
 * 0x1d9acb512ea545e4`, sent as `EVENT_IX_TAG_LE`). Written from the u64 rather than as hex bytes, which were once
 * transcribed with two bytes swapped (e445a5512e… instead of e445a52e51…) and decoded no mainnet event.
 */
export const ANCHOR_EVENT_IX_TAG_U64 = 0x1d9acb512ea545e4n;
export const EVENT_IX_TAG: Buffer = (() => {
  const tag = Buffer.alloc(8);
  tag.writeBigUInt64LE(ANCHOR_EVENT_IX_TAG_U64);
  return tag;
})();

export type PerpsEventName =
  | "IncreasePositionEvent"
  | "DecreasePositionEvent"
  | "ClosePositionRequestEvent"
  | "LiquidateFullPositionEvent";

export interface PerpsEvent {
  name: PerpsEventName;
  /** Fields as in the IDL, integers of 64 bits and more as bigint. */
  data: Record<string, unknown>;
}

const eventCoder = new BorshEventCoder(PERPETUALS_IDL);

/**
 * Decode one emit_cpi instruction's data (tag + event discriminator + Borsh).
 * Returns undefined for data that is not one of our events (other CPIs, unknown events, garbage).
 */
export function decodeEventInstruction(data: Uint8Array): PerpsEvent | undefined {
  const buf = Buffer.from(data);
  if (buf.length < 16 || !buf.subarray(0, 8).equals(EVENT_IX_TAG)) return undefined;
  let decoded: { name: string; data: unknown } | null;
  try {
    decoded = eventCoder.decode(buf.subarray(8).toString("base64"));
  } catch {
    return undefined;
  }
  if (!decoded) return undefined;
  const fields = fromAnchor(PERPETUALS_IDL, { defined: { name: decoded.name } }, decoded.data) as Record<string, unknown>;
  return { name: decoded.name as PerpsEventName, data: fields };
}

/**
 * Events the perps program emitted in a transaction: its self-CPIs found among the inner instructions.
 * Account keys come from the message plus any address-table lookups the RPC resolved into meta.loadedAddresses.
 */
export function eventsFromTransaction(tx: Pick<VersionedTransactionResponse, "transaction" | "meta">): PerpsEvent[] {
  const inner: CompiledInnerInstruction[] = tx.meta?.innerInstructions ?? [];
  if (inner.length === 0) return [];
  const message = tx.transaction.message;
  const keys: PublicKey[] = [
    ...message.staticAccountKeys,
    ...(tx.meta?.loadedAddresses?.writable ?? []).map((k) => new PublicKey(k)),
    ...(tx.meta?.loadedAddresses?.readonly ?? []).map((k) => new PublicKey(k)),
  ];
  const events: PerpsEvent[] = [];
  for (const group of inner) {
    for (const ix of group.instructions) {
      if (!keys[ix.programIdIndex]?.equals(PROGRAM_IDS.perpetuals)) continue;
      const event = decodeEventInstruction(bs58.decode(ix.data));
      if (event) events.push(event);
    }
  }
  return events;
}
