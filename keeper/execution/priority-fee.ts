import type { Connection, PublicKey } from "@solana/web3.js";
import { BackgroundRefresh } from "./background-refresh";

/** How the keeper prices compute: a percentile of recent fees on its writable accounts, clamped. */
export interface PriorityFeeConfig {
  /** 0-100 over the non-zero per-slot minimums. */
  percentile: number;
  floorMicroLamports: number;
  capMicroLamports: number;
  /** A sample older than this is not trusted; the fallback applies. */
  maxAgeSec: number;
  /** Used when no fresh non-zero samples exist. */
  fallbackMicroLamports: number;
  /** When set, always this (e.g. 0 on localnet); the RPC is not asked. */
  staticMicroLamports?: number;
}

export interface FeeSample {
  slot: number;
  prioritizationFee: number;
}

export interface PriorityFeeQuote {
  microLamports: number;
  source: "static" | "percentile" | "fallback";
  samples: number;
}

/** Pure: the price per CU from samples fetched `ageSec` ago. Zeros mean "nobody paid", so they are dropped. */
export function priorityFeeFrom(samples: readonly FeeSample[] | null, ageSec: number, cfg: PriorityFeeConfig): PriorityFeeQuote {
  const clamp = (v: number) => Math.min(cfg.capMicroLamports, Math.max(cfg.floorMicroLamports, Math.ceil(v)));
  if (cfg.staticMicroLamports !== undefined) return { microLamports: cfg.staticMicroLamports, source: "static", samples: 0 };
  const fees = (samples ?? []).map((s) => s.prioritizationFee).filter((f) => f > 0).sort((a, b) => a - b);
  if (samples === null || ageSec > cfg.maxAgeSec || fees.length === 0) {
    return { microLamports: clamp(cfg.fallbackMicroLamports), source: "fallback", samples: fees.length };
  }
  // Nearest-rank percentile: the smallest fee at or above the requested share of samples.
  const rank = Math.min(fees.length - 1, Math.max(0, Math.ceil((cfg.percentile / 100) * fees.length) - 1));
  return { microLamports: clamp(fees[rank]!), source: "percentile", samples: fees.length };
}

/**
 * Keeps recent prioritization fees for a set of writable accounts fresh in the background, so pricing a
 * transaction needs no RPC round trip. The account set is replaced whenever the keeper builds a transaction
 * with different writable accounts.
 */
export class PriorityFeeTracker {
  private samples: FeeSample[] | null = null;
  private fetchedAtMs = 0;
  private accounts: PublicKey[] = [];
  private readonly background: BackgroundRefresh;
  lastError: string | null = null;

  constructor(
    private readonly connection: Connection,
    private readonly cfg: PriorityFeeConfig,
    refreshMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.background = new BackgroundRefresh(() => this.refresh(), refreshMs);
  }

  watch(accounts: PublicKey[]) {
    this.accounts = accounts.slice(0, 128);
  }

  quote(): PriorityFeeQuote {
    return priorityFeeFrom(this.samples, (this.nowMs() - this.fetchedAtMs) / 1000, this.cfg);
  }

  async refresh(): Promise<void> {
    if (this.cfg.staticMicroLamports !== undefined) return;
    try {
      this.samples = await this.connection.getRecentPrioritizationFees({ lockedWritableAccounts: this.accounts });
      this.fetchedAtMs = this.nowMs();
      this.lastError = null;
    } catch (e) {
      // Keep the old samples: quote() stops trusting them once they pass maxAgeSec.
      this.lastError = (e as Error).message;
    }
  }

  start() {
    if (this.cfg.staticMicroLamports === undefined) this.background.start();
  }

  stop() {
    this.background.stop();
  }
}
