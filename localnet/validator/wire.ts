/**
 * The static account keys of a signed transaction, read straight from its wire bytes. web3.js turns every key into
 * a PublicKey backed by a bignum, and each toBytes()/toBase58() on it converts back; the validator's hot path
 * compares and indexes keys as the bytes they arrive as. Only called on bytes that VersionedTransaction.deserialize
 * has accepted, so the layout is known to be well formed.
 */
export function staticKeyBytes(wire: Uint8Array): Uint8Array[] {
  let at = 0;
  const compactU16 = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = wire[at++]!;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  const signatures = compactU16();
  at += signatures * 64;
  if ((wire[at]! & 0x80) !== 0) at += 1; // version prefix of a versioned message
  at += 3; // header
  const count = compactU16();
  return Array.from({ length: count }, (_, i) => wire.subarray(at + 32 * i, at + 32 * (i + 1)));
}

/** Whether two keys (or any byte strings) are the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** A key as a Map key: its 32 bytes as a flat 32-character string (far cheaper than base58). */
export function bytesKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
}
