import { isLiquidatable, type LiquidationCustody, type LiquidationPosition, liquidationThreshold } from "../risk/liquidation";
import { type CollateralPolicyConfig, decideCollateral } from "../strategy/collateral-policy";

/**
 * A simulated hedge as Jupiter holds it: one perp position on the hedge's side, with its size in USD, its entry
 * price, its collateral and its unsettled borrow, liquidated by the program's rule and (optionally) kept away from
 * liquidation by the keeper's collateral policy. The engine keeps booking the hedge's P&L, fees and borrow as
 * before; this adds what collateral changes: liquidations and the policy's deposits and withdrawals.
 *
 * The state is kept in floating-point USD, so that a step far from both liquidation and the policy's band costs a
 * few arithmetic operations and no allocation. Whenever the position is near either (within SCREEN_* of it), the
 * decision is made by the shared integer code, `isLiquidatable` and `decideCollateral`, on the state in USD×1e6.
 *
 * Settled choices:
 * - Collateral is posted with every increase at the target leverage, size/targetLeverage, and a decrease takes its
 *   share of the collateral out with it, as the keeper's orderFor requests (it rounds the posting up to the usd6). Fees and the accrued borrow come out
 *   of the collateral on an increase, a deposit or a withdrawal, out of the payout on a decrease (a shortfall out of
 *   the collateral that stays), as in the localnet stand-in (localnet/programs/perps/src/perps.c).
 * - A position is checked at the grid's prices only: a path's extreme inside a step is not checked. On a 5-minute
 *   grid at 80% vol a step moves 0.25% (one σ), against a 3× position's ~33% to liquidation.
 * - The borrow accrued for the liquidation rule is the engine's own borrow charge (rate × |q| × S × dt), so the
 *   position owes exactly what the P&L is charged. Jupiter charges it on sizeUsd, priced at entry rather than at
 *   the mark: the two differ by the price's move since entry, on the borrow alone.
 * - A liquidation is checked at each grid price before the policy decides, so a liquidated hedge is rebuilt by the
 *   hedging policy's next decision (in the same step for a band policy, at its next tick for a clock).
 * - The wallet is unlimited: the live keeper's bounds (mandate limits, wallet balance) are not simulated.
 */

/** Jupiter's SOL custody maxLeverage in bps (500×: a 0.2% maintenance margin), from the mainnet dump of 2026-04-27. */
export const MAINNET_MAX_LEVERAGE_BPS = 5_000_000n;

/** Per-path results of one policy's collateral. All USD except `liquidations` (count). */
export const COLLATERAL_METRICS = ["liquidations", "liquidationLoss", "deposited", "withdrawn", "collateralTx", "meanCollateral"] as const;
export type CollateralMetric = (typeof COLLATERAL_METRICS)[number];

export interface CollateralModel {
  custody: LiquidationCustody;
  /** Size over collateral posted with each increase, e.g. 3. */
  targetLeverage: number;
  /** The collateral policy; null: collateral is only what increases post. */
  policy: CollateralPolicyConfig | null;
  /** The market's annualised volatility the policy measures the distance to liquidation in. */
  annualVol: number;
  /** Charged per deposit or withdrawal: a collateral move pays no position fee on Jupiter, only its transaction. */
  txCostUsd: number;
}

/** Far enough from the rule's threshold (a fraction of size) that float and integer state cannot disagree. */
const SCREEN_LIQUIDATION_OF_SIZE = 1e-4;
/** Likewise for the policy's band, in daily σ. */
const SCREEN_SIGMAS = 1e-3;

const usd6 = (usd: number) => BigInt(Math.round(usd * 1e6));

export class HedgeCollateral {
  /** Signed tokens: + long, − short; the engine's q. */
  private tokens = 0;
  private sizeUsd = 0;
  private entryUsd = 0;
  private collateralUsd = 0;
  private borrowUsd = 0;
  /** The rule's close fee and maintenance margin at the current size, from the shared integer code. */
  private closeFeeUsd = 0;
  private maintenanceUsd = 0;
  private readonly sigmaDay: number;
  private readonly minChangeUsd: number;

  liquidations = 0;
  liquidationLossUsd = 0;
  depositedUsd = 0;
  withdrawnUsd = 0;
  collateralTxUsd = 0;
  /** Σ collateral over the steps; the path's mean once divided by the steps. */
  collateralSumUsd = 0;

  constructor(private readonly m: CollateralModel) {
    this.sigmaDay = m.annualVol / Math.sqrt(365);
    this.minChangeUsd = m.policy ? Number(m.policy.minChangeUsd6) / 1e6 : 0;
  }

  startPath(): void {
    this.clear();
    this.liquidations = this.liquidationLossUsd = this.depositedUsd = this.withdrawnUsd = this.collateralTxUsd = this.collateralSumUsd = 0;
  }

  private clear(): void {
    this.tokens = this.sizeUsd = this.entryUsd = this.collateralUsd = this.borrowUsd = 0;
  }

  private position(): LiquidationPosition {
    return { side: this.tokens > 0 ? "long" : "short", sizeUsd: usd6(this.sizeUsd), collateralUsd: usd6(this.collateralUsd), price: usd6(this.entryUsd) };
  }

  private sizeChanged(): void {
    const t = liquidationThreshold(this.position(), this.m.custody, 0n);
    this.closeFeeUsd = Number(t.closeFeeUsd6) / 1e6;
    this.maintenanceUsd = Number(t.maintenanceMarginUsd6) / 1e6;
  }

  /** Collateral + PnL − close fee − borrow − maintenance at `markUsd`: below 0 the rule liquidates. */
  private excessUsd(markUsd: number): number {
    const pnl = this.tokens * (markUsd - this.entryUsd);
    return this.collateralUsd + pnl - this.closeFeeUsd - this.borrowUsd - this.maintenanceUsd;
  }

  /**
   * The hedge moves from the engine's q to `toTokens`, filled at `fillUsd`; `feeUsd` is the fee of the request on
   * the position that stays open (addHedgeChangeCost's keptFeeUsd).
   */
  change(toTokens: number, fillUsd: number, feeUsd: number): void {
    const from = this.tokens;
    if (from !== 0 && (toTokens === 0 || Math.sign(toTokens) !== Math.sign(from))) this.clear();
    if (toTokens === 0) return;
    const held = Math.abs(this.tokens);
    const want = Math.abs(toTokens);
    if (want > held) {
      // An increase (or an open): size-weighted entry, so that size/entry stays the position's tokens, as Jupiter's.
      const addUsd = (want - held) * fillUsd;
      this.sizeUsd += addUsd;
      this.entryUsd = this.sizeUsd / want;
      this.collateralUsd += addUsd / this.m.targetLeverage - feeUsd - this.borrowUsd;
    } else {
      const cut = held - want;
      const collateralOut = (this.collateralUsd * cut) / held;
      const payout = collateralOut + Math.sign(from) * cut * (fillUsd - this.entryUsd) - feeUsd - this.borrowUsd;
      this.sizeUsd -= cut * this.entryUsd;
      this.collateralUsd -= collateralOut - Math.min(0, payout);
      // What is left rounds to no position at all (0 USD×1e6): Jupiter would have closed it.
      if (usd6(this.sizeUsd) <= 0n) {
        this.clear();
        return;
      }
    }
    this.borrowUsd = 0;
    this.tokens = toTokens;
    this.sizeChanged();
  }

  /** The step's borrow accrues on the position, and its collateral counts toward the path's mean. */
  endStep(borrowUsd: number): void {
    this.borrowUsd += borrowUsd;
    this.collateralSumUsd += this.collateralUsd;
  }

  /**
   * Liquidates the position if the rule says so at `markUsd`: Jupiter's pool keeps all the collateral that remains,
   * so the loss beyond the hedge's P&L and borrow the engine already booked is collateral + PnL − borrow (the close
   * fee and maintenance margin included; below 0 after a gap, where the pool takes the bad debt).
   */
  liquidatedAt(markUsd: number): boolean {
    if (this.tokens === 0) return false;
    if (this.excessUsd(markUsd) > SCREEN_LIQUIDATION_OF_SIZE * this.sizeUsd) return false;
    if (!isLiquidatable(this.position(), this.m.custody, usd6(this.borrowUsd), usd6(markUsd))) return false;
    this.liquidations++;
    this.liquidationLossUsd += this.collateralUsd + this.tokens * (markUsd - this.entryUsd) - this.borrowUsd;
    this.clear();
    return true;
  }

  /** The collateral policy's decision at `markUsd`, carried out: a deposit or a withdrawal, one transaction each. */
  applyPolicy(markUsd: number): void {
    const policy = this.m.policy;
    if (policy === null || this.tokens === 0) return;
    const sigmas = this.distanceSigmas(markUsd);
    if (sigmas > policy.floorSigmas + SCREEN_SIGMAS && sigmas < policy.ceilingSigmas - SCREEN_SIGMAS) return;
    // Above the ceiling the policy withdraws at most the equity beyond the target leverage's, and no less than its
    // minimum: with less than that to spare it holds. Where the ceiling is nearer than the target leverage (a quiet
    // market) that is every step, and this spares the integer call.
    const spareUsd = this.excessUsd(markUsd) + this.maintenanceUsd - this.sizeUsd / this.m.targetLeverage;
    if (sigmas > policy.floorSigmas + SCREEN_SIGMAS && spareUsd < this.minChangeUsd - SCREEN_LIQUIDATION_OF_SIZE * this.sizeUsd) return;
    const d = decideCollateral({ position: this.position(), custody: this.m.custody, borrowFeeUsd6: usd6(this.borrowUsd), markUsd6: usd6(markUsd), annualVol: this.m.annualVol }, policy);
    if (d.action === "hold") return;
    const amountUsd = Number(d.amountUsd6) / 1e6;
    // Both settle the accrued borrow: out of the deposit's collateral, or out of the withdrawal's payout with any
    // shortfall taken from the collateral that stays.
    if (d.action === "deposit") {
      this.collateralUsd += amountUsd - this.borrowUsd;
      this.depositedUsd += amountUsd;
    } else {
      this.collateralUsd -= amountUsd + Math.max(0, this.borrowUsd - amountUsd);
      this.withdrawnUsd += amountUsd;
    }
    this.borrowUsd = 0;
    this.collateralTxUsd += this.m.txCostUsd;
  }

  /** The distance to the liquidation price in daily σ of log price, as risk/liquidation.ts measures it, in floats. */
  private distanceSigmas(markUsd: number): number {
    const margin = (this.collateralUsd - this.closeFeeUsd - this.borrowUsd - this.maintenanceUsd) / this.sizeUsd;
    if (this.tokens > 0) {
      const liq = this.entryUsd * (1 - margin);
      return liq <= 0 ? Infinity : Math.log(markUsd / liq) / this.sigmaDay;
    }
    const liq = this.entryUsd * (1 + margin);
    return liq <= 0 ? -Infinity : Math.log(liq / markUsd) / this.sigmaDay;
  }
}
