import type { Connection } from "@solana/web3.js";

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
  private timer: NodeJS.Timeout | null = null;
  lastError: string | null = null;

  constructor(
    private readonly connection: Connection,
    private readonly refreshMs: number,
    private readonly maxAgeMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

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
    if (this.timer) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
