import type { PublicKey } from "@solana/web3.js";
import type { Position } from "../../programs-client";
import { addressKey } from "../lib/address-key";
import { type MarketSnapshot, decodeOnce } from "../market/reader";
import type { TransactionHistory } from "../market/transaction-history";
import { type SeenPosition, closedBehindOurBack, readLiquidation, seenPosition } from "./chain-outcomes";
import type { KeeperEvent } from "./events";
import type { RecordJournal } from "./records";

export interface LiquidationWatchDeps {
  mandate: string;
  history: TransactionHistory;
  journal: RecordJournal;
  emit: (e: KeeperEvent) => void;
  nowSec: () => number;
  /** Registers background work, so a stop waits for it. */
  track: (p: Promise<void>) => void;
}

const usd = (v: bigint, digits: number) => (Number(v) / 1e6).toFixed(digits);

/**
 * Notices the wallet's positions closed by someone else's transaction (a liquidation), journals each once, with its
 * LiquidateFullPositionEvent when the history has it, and raises the alert. The decisions that follow see the hedge
 * gone and rebuild it within the mandate's limits: nothing else has to happen here.
 */
export class LiquidationWatch {
  /** The wallet's open positions as last read. Empty at start, so a restart raises no false alarm (and does not see
   * a liquidation that happened while the keeper was down: the alert rule on the distance covers the approach). */
  private seenOpen = new Map<string, SeenPosition>();
  /** Each seen position's key object, so the snapshot's lookups by address hit the memoised base58. */
  private readonly keys = new Map<string, PublicKey>();
  /** Liquidation transactions already journaled, so one is never booked twice. */
  private readonly booked = new Set<string>();

  constructor(private readonly d: LiquidationWatchDeps) {}

  /** The positions to read by address in the next snapshot. */
  watchedPositions(): PublicKey[] {
    return [...this.seenOpen.keys()].map((k) => this.keys.get(k)!);
  }

  /**
   * Compare the positions read by address in this snapshot with the ones seen open before; then remember the open
   * ones, from the direct reads and from the owner's position list. `closing`: positions a decrease of ours empties.
   */
  observe(snap: MarketSnapshot, closing: ReadonlySet<string>): void {
    const read = new Map<string, Position | null>();
    for (const address of this.seenOpen.keys()) {
      const raw = snap.extra.get(address);
      const decoded = raw ? decodeOnce("Position", raw) : null;
      read.set(address, decoded?.ok ? decoded.value : null);
    }
    for (const p of closedBehindOurBack(this.seenOpen, read, closing)) {
      this.seenOpen.delete(p.address);
      this.d.track(this.record(p));
    }
    for (const [address, position] of read) {
      const seen = this.seenOpen.get(address);
      if (seen && position && position.sizeUsd > 0n) this.seenOpen.set(address, seenPosition(address, seen.market, position));
      else if (seen && position) this.seenOpen.delete(address); // our own close
    }
    for (const p of snap.positions) {
      const address = addressKey(p.address);
      if (p.open && p.market !== null && !this.seenOpen.has(address)) {
        this.seenOpen.set(address, seenPosition(address, p.market, p.position));
        this.keys.set(address, p.address);
      }
    }
    for (const address of this.keys.keys()) if (!this.seenOpen.has(address)) this.keys.delete(address);
  }

  private async record(p: SeenPosition) {
    const { liquidation, error } = await readLiquidation(this.d.history, p);
    if (liquidation?.signature) {
      if (this.booked.has(liquidation.signature)) return;
      this.booked.add(liquidation.signature);
    }
    const sizeUsd6 = liquidation?.sizeUsd6 ?? p.sizeUsd6;
    const collateralUsd6 = liquidation?.collateralUsd6 ?? p.collateralUsd6;
    this.d.journal.append({
      t: "liquidated",
      mandate: this.d.mandate,
      market: p.market,
      position: p.address,
      side: p.side,
      sizeUsd6: sizeUsd6.toString(),
      collateralUsd6: collateralUsd6.toString(),
      priceUsd6: liquidation ? liquidation.priceUsd6.toString() : null,
      feeUsd6: liquidation ? liquidation.feeUsd6.toString() : null,
      signature: liquidation?.signature ?? null,
      atSec: this.d.nowSec(),
    });
    const detail = liquidation
      ? `liquidated at $${usd(liquidation.priceUsd6, 4)} by ${liquidation.signature}; collateral $${usd(collateralUsd6, 2)} lost; rebuilding the hedge within the mandate's limits`
      : `closed by a transaction that was not the keeper's (no liquidation event found${error ? `: ${error}` : ""}); treating it as a liquidation and rebuilding the hedge within the mandate's limits`;
    this.d.emit({
      kind: "liquidation",
      mandate: this.d.mandate,
      market: p.market,
      position: p.address,
      side: p.side,
      sizeUsd: Number(sizeUsd6) / 1e6,
      collateralUsd: Number(collateralUsd6) / 1e6,
      priceUsd: liquidation ? Number(liquidation.priceUsd6) / 1e6 : null,
      signature: liquidation?.signature ?? null,
      detail,
    });
  }
}
