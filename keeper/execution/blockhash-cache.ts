import type { Connection } from "@solana/web3.js";
import { BackgroundRefresh } from "./background-refresh";

export interface FreshBlockhash {
  blockhash: string;
  lastValidBlockHeight: number;
  fetchedAtMs: number;
}

/**
 * The latest confirmed blockhash, refreshed in the background so signing never waits on the RPC. A blockhash
 * older than `maxAgeMs` is not handed out: better to wait for one than to sign something about to expire.
 */
export class BlockhashCache {
  private current: FreshBlockhash | null = null;
  private readonly background: BackgroundRefresh;
  lastError: string | null = null;

  constructor(
    private readonly connection: Connection,
    refreshMs: number,
    private readonly maxAgeMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.background = new BackgroundRefresh(() => this.refresh(), refreshMs);
  }

  async refresh(): Promise<FreshBlockhash | null> {
    try {
      const r = await this.connection.getLatestBlockhash("confirmed");
      this.current = { ...r, fetchedAtMs: this.nowMs() };
      this.lastError = null;
    } catch (e) {
      this.lastError = (e as Error).message;
    }
    return this.current;
  }

  /** The cached blockhash if fresh, else one fetched now. */
  async get(): Promise<FreshBlockhash> {
    if (this.current && this.nowMs() - this.current.fetchedAtMs <= this.maxAgeMs) return this.current;
    const fresh = await this.refresh();
    if (!fresh || this.nowMs() - fresh.fetchedAtMs > this.maxAgeMs) {
      throw new Error(`no fresh blockhash: ${this.lastError ?? "the RPC returned none"}; check the RPC endpoint`);
    }
    return fresh;
  }

  start() {
    this.background.start();
  }

  stop() {
    this.background.stop();
  }
}
