import { type ChunkResult, POLICY_METRICS, type PolicyMetric } from "./engine";
import { COLLATERAL_METRICS, type CollateralMetric } from "./hedge-collateral";

/** Per-path results of a whole run, paths in index order whatever the split across workers. */
export interface RunPaths {
  paths: number;
  perPolicy: Record<PolicyMetric, Float64Array>;
  referenceGross: Float64Array;
  theory: Float64Array;
  /** Per-path collateral results, policy-major, when the scenario models collateral; else null. */
  collateral: Record<CollateralMetric, Float64Array> | null;
}

export function mergeChunks(chunks: readonly ChunkResult[], policies: number, paths: number): RunPaths {
  const perPolicy = Object.fromEntries(POLICY_METRICS.map((m) => [m, new Float64Array(policies * paths)])) as Record<PolicyMetric, Float64Array>;
  const referenceGross = new Float64Array(paths);
  const theory = new Float64Array(paths);
  const collateral = chunks[0]?.collateral ? (Object.fromEntries(COLLATERAL_METRICS.map((m) => [m, new Float64Array(policies * paths)])) as Record<CollateralMetric, Float64Array>) : null;
  let covered = 0;
  for (const c of chunks) {
    covered += c.count;
    referenceGross.set(c.referenceGross, c.firstPath);
    theory.set(c.theory, c.firstPath);
    for (const m of POLICY_METRICS) {
      for (let p = 0; p < policies; p++) perPolicy[m].set(c.perPolicy[m].subarray(p * c.count, (p + 1) * c.count), p * paths + c.firstPath);
    }
    if (collateral) {
      for (const m of COLLATERAL_METRICS) {
        for (let p = 0; p < policies; p++) collateral[m].set(c.collateral![m].subarray(p * c.count, (p + 1) * c.count), p * paths + c.firstPath);
      }
    }
  }
  if (covered !== paths) throw new Error(`internal: chunks cover ${covered} of ${paths} paths`);
  return { paths, perPolicy, referenceGross, theory, collateral };
}

/** What the hedge's collateral cost one policy, per path (means) unless said otherwise. */
export interface CollateralSummary {
  /** Liquidations over all paths, and their mean per path. */
  liquidations: number;
  liquidationsPerPath: number;
  /** Paths with at least one liquidation. */
  pathsLiquidated: number;
  /** Collateral the liquidations left to the pool beyond the hedge's P&L already in gross, USD. */
  liquidationLossUsd: number;
  /** The collateral policy's deposits and withdrawals, USD. */
  depositedUsd: number;
  withdrawnUsd: number;
  /** Transaction fees of those deposits and withdrawals, USD. */
  collateralTxUsd: number;
  /** liquidation loss + collateral transactions: what the collateral cost. No funding cost of idle collateral. */
  collateralCostUsd: number;
  /** Time-average collateral in the hedge's position, USD. */
  meanCollateralUsd: number;
}

export interface PolicySummary {
  name: string;
  netMean: number;
  netStd: number;
  /** Standard error of the net mean. */
  netSe: number;
  /** Standard error of the net std, s·√((κ − 1)/(4n)) with κ the sample kurtosis. */
  netStdSe: number;
  grossMean: number;
  grossSe: number;
  /** Std of (gross − gross of the every-step frictionless hedge) on the same paths. */
  trackingErrorStd: number;
  feesUsd: number;
  impactUsd: number;
  borrowUsd: number;
  txUsd: number;
  /** fees + impact + borrow + tx, plus the collateral's cost when the scenario models collateral. */
  costUsd: number;
  /** Standard error of costUsd: the sample std of the per-path cost over √n. */
  costSe: number;
  trades: number;
  /** Standard error of trades, the same way. */
  tradesSe: number;
  meanMaxDevTokens: number;
  /** Certainty equivalent of the net P&L under exponential utility with the scenario's risk aversion. */
  certaintyEquivalent: number;
  /** Expected shortfall at 1%: the mean loss of the worst 1% of paths (positive = a loss). */
  expectedShortfall1: number;
  /** Present when the scenario models the hedge's collateral and liquidation. */
  collateral?: CollateralSummary;
}

export interface RunSummary {
  paths: number;
  /** Mean and s.e. of the gamma-P&L theory ½∫ΓS²(σ_r² − σ_h²)dt along the paths. */
  theoryMean: number;
  theorySe: number;
  referenceGrossMean: number;
  policies: PolicySummary[];
}

function meanOf(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
}

function stdOf(x: ArrayLike<number>, mean = meanOf(x)): number {
  if (x.length < 2) return 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i]! - mean) * (x[i]! - mean);
  return Math.sqrt(s / (x.length - 1));
}

const standardErrorOfMean = (x: ArrayLike<number>) => stdOf(x) / Math.sqrt(x.length);

/** The large-sample standard error of a standard deviation, which heavy tails widen through the kurtosis. */
function stdError(x: ArrayLike<number>, mean: number, std: number): number {
  if (x.length < 2 || std === 0) return 0;
  let m4 = 0;
  for (let i = 0; i < x.length; i++) m4 += (x[i]! - mean) ** 4;
  const kurtosis = m4 / x.length / std ** 4;
  return std * Math.sqrt(Math.max(0, kurtosis - 1) / (4 * x.length));
}

/** −(1/γ) ln E[e^{−γX}], shifted by the worst outcome so the exponentials cannot overflow. */
export function certaintyEquivalent(x: ArrayLike<number>, riskAversion: number): number {
  let worst = Infinity;
  for (let i = 0; i < x.length; i++) worst = Math.min(worst, x[i]!);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(-riskAversion * (x[i]! - worst));
  return worst - Math.log(s / x.length) / riskAversion;
}

/** Mean loss of the worst ⌈level·n⌉ outcomes. */
export function expectedShortfall(x: ArrayLike<number>, level: number): number {
  const sorted = Float64Array.from(x).sort();
  const n = Math.max(1, Math.ceil(level * sorted.length));
  return -meanOf(sorted.subarray(0, n));
}

export function summarize(run: RunPaths, names: readonly string[], utilityRiskAversion: number): RunSummary {
  const n = run.paths;
  const policies = names.map((name, p): PolicySummary => {
    const slice = (m: PolicyMetric) => run.perPolicy[m].subarray(p * n, (p + 1) * n);
    const gross = slice("gross");
    const fees = slice("fees");
    const impact = slice("impact");
    const borrow = slice("borrow");
    const tx = slice("tx");
    const collateral = run.collateral && collateralSummary(run.collateral, p, n);
    const liquidationLoss = run.collateral?.liquidationLoss.subarray(p * n, (p + 1) * n);
    const collateralTx = run.collateral?.collateralTx.subarray(p * n, (p + 1) * n);
    const cost = new Float64Array(n);
    const net = new Float64Array(n);
    const te = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      cost[i] = fees[i]! + impact[i]! + borrow[i]! + tx[i]!;
      // Net as it always was, term by term, so its figures stay bit for bit what they were.
      net[i] = gross[i]! - fees[i]! - impact[i]! - borrow[i]! - tx[i]!;
      if (liquidationLoss && collateralTx) {
        cost[i] = cost[i]! + liquidationLoss[i]! + collateralTx[i]!;
        net[i] = net[i]! - (liquidationLoss[i]! + collateralTx[i]!);
      }
      te[i] = gross[i]! - run.referenceGross[i]!;
    }
    const netMean = meanOf(net);
    const netStd = stdOf(net, netMean);
    const grossMean = meanOf(gross);
    const [feesUsd, impactUsd, borrowUsd, txUsd] = [fees, impact, borrow, tx].map((a) => meanOf(a)) as [number, number, number, number];
    const trades = slice("trades");
    return {
      name,
      netMean,
      netStd,
      netSe: netStd / Math.sqrt(n),
      netStdSe: stdError(net, netMean, netStd),
      grossMean,
      grossSe: standardErrorOfMean(gross),
      trackingErrorStd: stdOf(te),
      feesUsd,
      impactUsd,
      borrowUsd,
      txUsd,
      costUsd: feesUsd + impactUsd + borrowUsd + txUsd + (collateral?.collateralCostUsd ?? 0),
      costSe: standardErrorOfMean(cost),
      trades: meanOf(trades),
      tradesSe: standardErrorOfMean(trades),
      meanMaxDevTokens: meanOf(slice("maxDevTokens")),
      certaintyEquivalent: certaintyEquivalent(net, utilityRiskAversion),
      expectedShortfall1: expectedShortfall(net, 0.01),
      ...(collateral ? { collateral } : {}),
    };
  });
  const theoryMean = meanOf(run.theory);
  return { paths: n, theoryMean, theorySe: standardErrorOfMean(run.theory), referenceGrossMean: meanOf(run.referenceGross), policies };
}

function collateralSummary(c: Record<CollateralMetric, Float64Array>, policy: number, n: number): CollateralSummary {
  const slice = (m: CollateralMetric) => c[m].subarray(policy * n, (policy + 1) * n);
  const liquidations = slice("liquidations");
  let total = 0;
  let pathsLiquidated = 0;
  for (let i = 0; i < n; i++) {
    total += liquidations[i]!;
    if (liquidations[i]! > 0) pathsLiquidated++;
  }
  const liquidationLossUsd = meanOf(slice("liquidationLoss"));
  const collateralTxUsd = meanOf(slice("collateralTx"));
  return {
    liquidations: total,
    liquidationsPerPath: total / n,
    pathsLiquidated,
    liquidationLossUsd,
    depositedUsd: meanOf(slice("deposited")),
    withdrawnUsd: meanOf(slice("withdrawn")),
    collateralTxUsd,
    collateralCostUsd: liquidationLossUsd + collateralTxUsd,
    meanCollateralUsd: meanOf(slice("meanCollateral")),
  };
}
