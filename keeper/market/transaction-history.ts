import type { Connection, PublicKey } from "@solana/web3.js";
import { type PerpsEvent, eventsFromTransaction } from "../../programs-client";

/** The two history reads the keeper needs to learn what a fill or a liquidation did. */
export interface TransactionHistory {
  /** Signatures of successful transactions that touched `address`, newest first, at most `limit`. */
  signaturesFor(address: PublicKey, limit: number): Promise<string[]>;
  /** The Jupiter Perps events a transaction emitted; null if the node does not have the transaction (yet). */
  events(signature: string): Promise<PerpsEvent[] | null>;
}

export class ConnectionTransactionHistory implements TransactionHistory {
  constructor(private readonly connection: Connection) {}

  async signaturesFor(address: PublicKey, limit: number): Promise<string[]> {
    const sigs = await this.connection.getSignaturesForAddress(address, { limit }, "confirmed");
    return sigs.filter((s) => s.err === null).map((s) => s.signature);
  }

  async events(signature: string): Promise<PerpsEvent[] | null> {
    const tx = await this.connection.getTransaction(signature, { maxSupportedTransactionVersion: 0, commitment: "confirmed" });
    return tx ? eventsFromTransaction(tx) : null;
  }
}

export interface HistorySearch {
  /** How many of the newest transactions of the address to look through. */
  limit: number;
  /** Tries before giving up: a node may index the transaction a moment after the account changed. */
  attempts: number;
  retryMs: number;
  /** Signatures known not to hold the event (the keeper's own request transaction). */
  skip?: ReadonlySet<string>;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The first of `address`'s recent transactions whose events `match` accepts, or null when none does after the
 * given attempts. RPC failures propagate: the caller decides what to fall back to.
 */
export async function findInHistory<T>(
  history: TransactionHistory,
  address: PublicKey,
  match: (events: readonly PerpsEvent[], signature: string) => T | null,
  search: HistorySearch,
): Promise<T | null> {
  const sleep = search.sleep ?? defaultSleep;
  const seen = new Set(search.skip ?? []);
  for (let attempt = 0; attempt < search.attempts; attempt++) {
    if (attempt > 0) await sleep(search.retryMs);
    for (const signature of await history.signaturesFor(address, search.limit)) {
      if (seen.has(signature)) continue;
      const events = await history.events(signature);
      if (events === null) continue; // listed but not served yet: look again on the next attempt
      seen.add(signature);
      const found = match(events, signature);
      if (found) return found;
    }
  }
  return null;
}
