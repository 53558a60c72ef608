import type { PublicKey } from "@solana/web3.js";
import type { MemcmpFilter, RawAccount } from "../../programs-client";

/** One account's state at a slot, as a stream delivered it; null: the account does not exist (closed). */
export interface AccountUpdate {
  pubkey: PublicKey;
  account: RawAccount | null;
  slot: number;
}

/**
 * Where the account cache's writes come from: the RPC's WebSocket subscriptions (the default) or a Yellowstone
 * gRPC (Geyser) stream. The cache orders updates by slot itself, so a stream may deliver them late, twice or out
 * of order; what it must do is say when it may have missed some (`onGap`), so the cache re-reads over RPC.
 */
export interface AccountStream {
  /** Follow these addresses (idempotent: an address already followed is not subscribed twice). */
  watchAccounts(keys: readonly PublicKey[]): void;
  /** Stop following addresses watched with watchAccounts (a request that settled). */
  unwatchAccounts(keys: readonly PublicKey[]): void;
  /** Follow every account of `program` matching all memcmp filters (an owner's positions and requests). */
  watchProgram(program: PublicKey, filters: readonly MemcmpFilter[]): void;
  onUpdate(listener: (u: AccountUpdate) => void): void;
  /** Slots as the stream sees them advance (optional): proof the stream is alive while no watched account changes. */
  onSlot?(listener: (slot: number) => void): void;
  /** The stream dropped, reconnected or fell behind: updates may be missing until the cache has re-read. */
  onGap(listener: (reason: string) => void): void;
  close(): Promise<void>;
}
