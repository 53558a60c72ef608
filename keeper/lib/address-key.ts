import type { PublicKey } from "@solana/web3.js";

const keys = new WeakMap<PublicKey, string>();

/**
 * A PublicKey's base58 text, computed once per key object: the hot path looks the same addresses up (the address
 * table's constants, the cache's entries) every cycle, and base58 encoding was its largest single cost.
 */
export function addressKey(key: PublicKey): string {
  let k = keys.get(key);
  if (k === undefined) {
    k = key.toBase58();
    keys.set(key, k);
  }
  return k;
}
