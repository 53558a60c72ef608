import type { PublicKey } from "@solana/web3.js";

/** The bytes of one account as the keeper needs them, wherever they were read from (RPC, LiteSVM, a dump). */
export interface RawAccount {
  owner: PublicKey;
  data: Buffer;
  lamports: number;
  executable?: boolean;
}

export interface KeyedAccount {
  pubkey: PublicKey;
  account: RawAccount;
}

/** The keeper's getProgramAccounts filter: memcmp only, so no account can be missed for its allocated size. */
export interface MemcmpFilter {
  memcmp: { offset: number; bytes: Buffer };
}

/** What a Solana RPC accepts: the localnet serves `dataSize` too, as a real cluster does, for other clients. */
export type RpcAccountFilter = MemcmpFilter | { dataSize: number };

export function matchesFilters(account: RawAccount, filters: readonly RpcAccountFilter[]): boolean {
  return filters.every((f) =>
    "dataSize" in f
      ? account.data.length === f.dataSize
      : account.data.subarray(f.memcmp.offset, f.memcmp.offset + f.memcmp.bytes.length).equals(f.memcmp.bytes),
  );
}
