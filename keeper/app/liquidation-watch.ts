import { PublicKey } from "@solana/web3.js";
import type { LiquidationReport } from "../market/fill-report";
import type { PositionView } from "../market/reader";
import type { TransactionHistory } from "../market/transaction-history";
import type { Journal } from "../ops/journal";
import { type SeenPosition, closedBehindOurBack, readLiquidation, seenPositions } from "./chain-outcomes";
import type { KeeperEvent } from "./events";
import type { JournalRecord, OpenIntent } from "./records";

export interface LiquidationWatchDeps {
  mandate: string;
  history: TransactionHistory;
  journal: Journal<JournalRecord>;
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
  /** The wallet's open positions in the previous snapshot. Empty at start, so a restart raises no false alarm. */
  private seenOpen = new Map<string, SeenPosition>();
  /** Liquidation transactions already journaled: the watch and a request's reconciliation can both meet one. */
  private readonly booked = new Set<string>();
  private readonly recording = new Map<string, Promise<void>>();

  constructor(private readonly d: LiquidationWatchDeps) {}

  /** Compare a snapshot with the previous one. `decreasing`: positions a decrease of ours is closing. */
  observe(positions: readonly PositionView[], decreasing: ReadonlySet<string>): void {
    const closed = closedBehindOurBack(this.seenOpen, positions, decreasing);
    this.seenOpen = seenPositions(positions);
    for (const p of closed) {
      const recording = this.record(p).finally(() => this.recording.delete(p.address));
      this.recording.set(p.address, recording);
      this.d.track(recording);
    }
  }

  /**
   * A request's position changed without a fill event: if a liquidation closed it, book that (unless the watch
   * already did) and return it, so the request is reconciled as not filled.
   */
  async bookFromRequest(open: OpenIntent, sizeBeforeUsd6: bigint): Promise<LiquidationReport | null> {
    const position = open.intent.position;
    const { liquidation } = await readLiquidation(this.d.history, new PublicKey(position));
    if (!liquidation) return null;
    await this.recording.get(position);
    if (!liquidation.signature || !this.booked.has(liquidation.signature)) {
      const { market, order } = open.intent;
      await this.record({ address: position, market, side: order.side, sizeUsd6: sizeBeforeUsd6, collateralUsd6: liquidation.collateralUsd6 }, liquidation);
    }
    return liquidation;
  }

  private async record(p: SeenPosition, known?: LiquidationReport) {
    const { liquidation, error } = known ? { liquidation: known, error: null } : await readLiquidation(this.d.history, new PublicKey(p.address));
    if (liquidation?.signature) this.booked.add(liquidation.signature);
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
