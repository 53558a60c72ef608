import type { CollateralSummary, PolicySummary, RunSummary } from "./metrics";

/** Backtest results as a terminal table and as CSV; JSON is the summary itself. */

interface Column {
  header: string;
  value: (p: PolicySummary) => number;
  digits: number;
}

const COLUMNS: Column[] = [
  { header: "net mean", value: (p) => p.netMean, digits: 3 },
  { header: "net std", value: (p) => p.netStd, digits: 3 },
  { header: "s.e.", value: (p) => p.netSe, digits: 3 },
  { header: "gross", value: (p) => p.grossMean, digits: 3 },
  { header: "cost", value: (p) => p.costUsd, digits: 3 },
  { header: "cost s.e.", value: (p) => p.costSe, digits: 3 },
  { header: "fees", value: (p) => p.feesUsd, digits: 3 },
  { header: "impact", value: (p) => p.impactUsd, digits: 3 },
  { header: "borrow", value: (p) => p.borrowUsd, digits: 3 },
  { header: "tx", value: (p) => p.txUsd, digits: 3 },
  { header: "trades", value: (p) => p.trades, digits: 0 },
  { header: "trades s.e.", value: (p) => p.tradesSe, digits: 2 },
  { header: "max|q-q*|", value: (p) => p.meanMaxDevTokens, digits: 3 },
  { header: "TE std", value: (p) => p.trackingErrorStd, digits: 3 },
  { header: "CE", value: (p) => p.certaintyEquivalent, digits: 2 },
  { header: "ES1%", value: (p) => p.expectedShortfall1, digits: 2 },
];

/** Shown only when the scenario models collateral, so other scenarios' output is as before. */
const collateralColumn = (header: string, value: (c: CollateralSummary) => number, digits: number): Column => ({ header, value: (p) => value(p.collateral!), digits });
const COLLATERAL_COLUMNS: Column[] = [
  collateralColumn("liqs", (c) => c.liquidations, 0),
  collateralColumn("liqs/path", (c) => c.liquidationsPerPath, 3),
  collateralColumn("liq loss", (c) => c.liquidationLossUsd, 3),
  collateralColumn("deposited", (c) => c.depositedUsd, 3),
  collateralColumn("withdrawn", (c) => c.withdrawnUsd, 3),
  collateralColumn("collat tx", (c) => c.collateralTxUsd, 3),
  collateralColumn("collat cost", (c) => c.collateralCostUsd, 3),
  collateralColumn("collat mean", (c) => c.meanCollateralUsd, 2),
];

const modelsCollateral = (s: RunSummary) => s.policies.some((p) => p.collateral !== undefined);

export function formatTable(s: RunSummary): string {
  const collateral = modelsCollateral(s);
  const columns = collateral ? [...COLUMNS, ...COLLATERAL_COLUMNS] : COLUMNS;
  const nameWidth = Math.max(8, ...s.policies.map((p) => p.name.length));
  const cells = s.policies.map((p) => columns.map((c) => c.value(p).toFixed(c.digits)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (name: string, row: string[]) => [name.padEnd(nameWidth), ...row.map((v, i) => v.padStart(widths[i]!))].join("  ");
  return [
    line("policy", columns.map((c) => c.header)),
    ...s.policies.map((p, i) => line(p.name, cells[i]!)),
    "",
    `${s.paths} paths. Gamma-P&L theory ½∫ΓS²(σ_r²−σ_h²)dt: ${s.theoryMean.toFixed(4)} ± ${s.theorySe.toFixed(4)} (s.e.); every-step frictionless hedge: ${s.referenceGrossMean.toFixed(4)}.`,
    "USD per unit of book. cost = fees + impact + borrow + tx; TE = std(gross − every-step hedge); CE: exponential utility; ES1%: mean loss of the worst 1%.",
    "s.e., cost s.e., trades s.e.: standard errors of the means of net, cost and trades over the paths.",
    ...(collateral
      ? [
          "Collateral modelled: liqs = liquidations over all paths; liq loss = the collateral a liquidation leaves to the pool beyond the hedge's P&L; deposited/withdrawn by the collateral policy;",
          "collat cost = liq loss + collat tx, included in cost and net (idle collateral is charged no funding cost); collat mean = time-average collateral in the position.",
        ]
      : []),
  ].join("\n");
}

const CSV_FIELDS = [
  "policy",
  "netMean",
  "netStd",
  "netSe",
  "netStdSe",
  "grossMean",
  "grossSe",
  "costUsd",
  "costSe",
  "feesUsd",
  "impactUsd",
  "borrowUsd",
  "txUsd",
  "trades",
  "tradesSe",
  "meanMaxDevTokens",
  "trackingErrorStd",
  "certaintyEquivalent",
  "expectedShortfall1",
] as const;

const COLLATERAL_CSV_FIELDS = ["liquidations", "liquidationsPerPath", "pathsLiquidated", "liquidationLossUsd", "depositedUsd", "withdrawnUsd", "collateralTxUsd", "collateralCostUsd", "meanCollateralUsd"] as const;

const csvCell = (v: string | number) => (typeof v === "number" ? String(v) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function formatCsv(s: RunSummary): string {
  const collateral = modelsCollateral(s);
  const header = collateral ? [...CSV_FIELDS, ...COLLATERAL_CSV_FIELDS] : CSV_FIELDS;
  const rows = s.policies.map((p) => {
    const cells = CSV_FIELDS.map((f) => csvCell(f === "policy" ? p.name : p[f]));
    if (collateral) cells.push(...COLLATERAL_CSV_FIELDS.map((f) => csvCell(p.collateral![f])));
    return cells.join(",");
  });
  return [header.join(","), ...rows].join("\n") + "\n";
}
