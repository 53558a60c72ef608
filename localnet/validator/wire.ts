import { type MessageAddressTableLookup, type MessageCompiledInstruction, type MessageHeader, PublicKey } from "@solana/web3.js";

/**
 * A signed transaction read straight from its wire bytes, keys left as the bytes they arrive as. web3.js turns every
 * key into a PublicKey backed by a bignum (and each toBytes()/toBase58() converts back), which made deserializing
 * a third of the localnet's JavaScript time per send; the validator compares and indexes keys as bytes.
 */
export interface WireTransaction {
  wire: Uint8Array;
  version: "legacy" | 0;
  /** The first signature: the transaction's id. */
  signature: Uint8Array;
  header: MessageHeader;
  staticKeys: Uint8Array[];
  recentBlockhash: Uint8Array;
  compiledInstructions: MessageCompiledInstruction[];
  addressTableLookups: MessageAddressTableLookup[];
}

/**
 * Parse what web3.js's VersionedTransaction.deserialize accepts, and refuse what it refuses (truncated bytes, a
 * message version other than 0, a signature count that is not the header's), with a RangeError.
 */
export function parseTransaction(wire: Uint8Array): WireTransaction {
  let at = 0;
  const take = (n: number): Uint8Array => {
    if (at + n > wire.length) throw new RangeError(`transaction bytes end at ${wire.length}, ${n} more needed at ${at}`);
    const bytes = wire.subarray(at, at + n);
    at += n;
    return bytes;
  };
  const byte = () => take(1)[0]!;
  const compactU16 = (): number => {
    let value = 0;
    for (let shift = 0; shift <= 14; shift += 7) {
      const b = byte();
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new RangeError("compact-u16 longer than 3 bytes");
  };
  const many = <T>(read: () => T): T[] => Array.from({ length: compactU16() }, read);
  const signatures = many(() => take(64));
  let version: WireTransaction["version"] = "legacy";
  if ((wire[at]! & 0x80) !== 0) {
    const v = byte() & 0x7f;
    if (v !== 0) throw new RangeError(`transaction message version ${v} is not supported`);
    version = 0;
  }
  const header = { numRequiredSignatures: byte(), numReadonlySignedAccounts: byte(), numReadonlyUnsignedAccounts: byte() };
  const staticKeys = many(() => take(32));
  const recentBlockhash = take(32);
  const compiledInstructions = many(() => ({ programIdIndex: byte(), accountKeyIndexes: Array.from(many(byte)), data: take(compactU16()) }));
  const addressTableLookups =
    version === 0 ? many(() => ({ accountKey: new PublicKey(take(32)), writableIndexes: many(byte), readonlyIndexes: many(byte) })) : [];
  const signature = signatures[0];
  if (!signature) throw new RangeError("transaction has no signatures");
  if (signatures.length !== header.numRequiredSignatures) throw new RangeError(`${signatures.length} signatures for ${header.numRequiredSignatures} required signers`);
  return { wire, version, signature, header, staticKeys, recentBlockhash, compiledInstructions, addressTableLookups };
}

/** Whether static key `index` is locked for writing, by the header's counts (web3.js's Message.isAccountWritable). */
export function isStaticWritable(tx: Pick<WireTransaction, "header" | "staticKeys">, index: number): boolean {
  const { numRequiredSignatures, numReadonlySignedAccounts, numReadonlyUnsignedAccounts } = tx.header;
  return index < numRequiredSignatures
    ? index < numRequiredSignatures - numReadonlySignedAccounts
    : index < tx.staticKeys.length - numReadonlyUnsignedAccounts;
}

/** Whether two keys (or any byte strings) are the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** A key as a Map key: its 32 bytes as a flat 32-character string (far cheaper than base58). */
export function bytesKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
}
