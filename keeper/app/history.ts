import type { MarketSymbol } from "../../programs-client";
import { type PnlStep, ZERO_STEP, addSteps } from "../exposure/pnl-attribution";
import type { Journal } from "../ops/journal";
import type { KeeperEvent } from "../mandate/events";

/**
 * One window of a market's hedge, for reports: how far from flat and from the band it was (time-weighted), and
 * the P&L by cause. Windows tile time without gaps between a keeper's start and stop.
 */
export interface HistorySample {
  t: "sample";
  mandate: string;
  market: MarketSymbol;
  fromMs: number;
  toMs: number;
  /** ∫|net delta| dt in token·ms. */
  absNetDeltaTokenMs: number;
  /** Time the hedge sat outside the no-trade band. */
  outsideBandMs: number;
  pnl: PnlStep;
  feesUsd: number;
  fills: number;
  /** The hedge's closest approach to liquidation in the window, daily σ, and its highest effective leverage
   * (absent with no open position, and in samples written before they were added). */
  minLiquidationSigmas?: number;
  maxEffectiveLeverage?: number;
}

type Decision = Extract<KeeperEvent, { kind: "decision" }>;

interface Window {
  sample: HistorySample;
  last: Decision;
}

/**
 * Folds the event stream into history samples, written every `everyMs` of market time per market. The state
 * over a step is the one decided at its start, so a trade counts from the decision after it lands.
 */
export class HistoryRecorder {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly journal: Journal<HistorySample>,
    private readonly everyMs = 10_000,
  ) {}

  observe(e: KeeperEvent): void {
    if (e.kind === "outcome" && e.result === "filled") {
      const w = this.windows.get(`${e.mandate}/${e.market}`);
      if (w) {
        w.sample.feesUsd += e.feeUsd;
        w.sample.fills++;
      }
      return;
    }
    if (e.kind === "collateral") {
      const w = this.windows.get(`${e.mandate}/${e.market}`);
      // JSON has no Infinity. A long no price liquidates (+∞ σ) leaves the fields as they are; a position liquidatable
      // now (−∞ σ, equity ≤ 0 so leverage ∞) is the most important reading of all, kept as −1e6 σ and 1e9x.
      if (w && !Number.isNaN(e.distanceSigmas) && e.distanceSigmas !== Infinity) w.sample.minLiquidationSigmas = Math.min(w.sample.minLiquidationSigmas ?? Infinity, Math.max(e.distanceSigmas, -1e6));
      if (w && !Number.isNaN(e.effectiveLeverage)) w.sample.maxEffectiveLeverage = Math.max(w.sample.maxEffectiveLeverage ?? 0, Math.min(e.effectiveLeverage, 1e9));
      return;
    }
    if (e.kind !== "decision") return;
    const key = `${e.mandate}/${e.market}`;
    const w = this.windows.get(key);
    if (!w) {
      this.windows.set(key, { sample: empty(e), last: e });
      return;
    }
    const dt = Math.max(0, e.atMs - w.last.atMs);
    w.sample.absNetDeltaTokenMs += Math.abs(w.last.netDelta) * dt;
    if (Math.abs(w.last.hedgeTokens - w.last.bandCenter) > w.last.bandHalfWidth) w.sample.outsideBandMs += dt;
    if (e.pnl) w.sample.pnl = addSteps(w.sample.pnl, e.pnl);
    w.sample.toMs = e.atMs;
    w.last = e;
    if (w.sample.toMs - w.sample.fromMs >= this.everyMs) {
      this.journal.append(w.sample);
      w.sample = empty(e);
    }
  }

  /** Writes every open window (on shutdown). */
  flush(): void {
    for (const w of this.windows.values()) {
      if (w.sample.toMs > w.sample.fromMs || w.sample.fills > 0) this.journal.append(w.sample);
      w.sample = empty(w.last);
    }
  }
}

function empty(at: Decision): HistorySample {
  return { t: "sample", mandate: at.mandate, market: at.market, fromMs: at.atMs, toMs: at.atMs, absNetDeltaTokenMs: 0, outsideBandMs: 0, pnl: { ...ZERO_STEP }, feesUsd: 0, fills: 0 };
}
