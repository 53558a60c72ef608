import { strict as assert } from "node:assert";
import { POLICY_METRICS, type PolicyMetric } from "../../keeper/sim/engine";
import { COLLATERAL_METRICS, type CollateralMetric } from "../../keeper/sim/hedge-collateral";
import { type RunPaths, summarize } from "../../keeper/sim/metrics";
import { formatCsv, formatTable } from "../../keeper/sim/results-format";

/** A run of one policy built by hand: the named metrics per path, every other metric 0. */
function runOf(perPath: Partial<Record<PolicyMetric, number[]>>, collateral?: Partial<Record<CollateralMetric, number[]>>): RunPaths {
  const n = Object.values(perPath)[0]!.length;
  const column = (v: number[] | undefined) => Float64Array.from(v ?? new Array<number>(n).fill(0));
  return {
    paths: n,
    perPolicy: Object.fromEntries(POLICY_METRICS.map((m) => [m, column(perPath[m])])) as Record<PolicyMetric, Float64Array>,
    referenceGross: new Float64Array(n),
    theory: new Float64Array(n),
    collateral: collateral ? (Object.fromEntries(COLLATERAL_METRICS.map((m) => [m, column(collateral[m])])) as Record<CollateralMetric, Float64Array>) : null,
  };
}

describe("backtest metrics: standard errors of cost and trades", () => {
  // Each expected s.e. by hand: the sample std (n − 1) of the per-path values over √n.
  const cases: Array<{ name: string; run: RunPaths; costUsd: number; costSe: number; trades: number; tradesSe: number }> = [
    {
      // cost per path 1.5, 2.5, 3.5, 4.5: deviations ±0.5, ±1.5, so std √(5/3) and s.e. √(5/3)/2.
      name: "fees, impact, borrow and tx add up per path",
      run: runOf({ fees: [1, 1.5, 2, 3], impact: [0, 0.5, 1, 1], borrow: [0.25, 0.25, 0.25, 0.25], tx: [0.25, 0.25, 0.25, 0.25], trades: [2, 4, 4, 6] }),
      costUsd: 3,
      costSe: Math.sqrt(5 / 3) / 2,
      trades: 4,
      tradesSe: Math.sqrt(8 / 3) / 2,
    },
    {
      // Costs that vary between paths but cancel in the sum have no error: the s.e. is of the total, not of each part.
      name: "parts that offset each other",
      run: runOf({ fees: [1, 2, 3], impact: [2, 1, 0], trades: [5, 5, 5] }),
      costUsd: 3,
      costSe: 0,
      trades: 5,
      tradesSe: 0,
    },
    {
      // With collateral modelled, its cost (liquidation loss + collateral tx) is in the path's cost: 1, 3 → std √2, s.e. 1.
      name: "the collateral's cost when it is modelled",
      run: runOf({ fees: [1, 1], trades: [1, 3] }, { liquidationLoss: [0, 1.5], collateralTx: [0, 0.5] }),
      costUsd: 2,
      costSe: 1,
      trades: 2,
      tradesSe: 1,
    },
    {
      name: "a single path (no spread to measure)",
      run: runOf({ fees: [7], trades: [3] }),
      costUsd: 7,
      costSe: 0,
      trades: 3,
      tradesSe: 0,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const [p] = summarize(c.run, ["p"], 1).policies;
      for (const key of ["costUsd", "costSe", "trades", "tradesSe"] as const) assert.ok(Math.abs(p![key] - c[key]) < 1e-12, `${key}: ${p![key]}, expected ${c[key]}`);
    });
  }

  it("the table shows them beside cost and trades, within 160 columns for B3's policy names; the CSV names them costSe and tradesSe", () => {
    const names = ["clock 1d", "clock 12 steps", "fixed |dev|>0.05", "WW γ=0.1", "Zak γ=1"];
    const run = runOf({ gross: [4.1, 4.9, 5.3, 3.8], fees: [1.2, 1.1, 0.9, 1.3], borrow: [0.05, 0.04, 0.05, 0.06], trades: [150, 162, 171, 149] });
    const many: RunPaths = { ...run, perPolicy: Object.fromEntries(POLICY_METRICS.map((m) => [m, Float64Array.from(names.flatMap(() => [...run.perPolicy[m]]))])) as Record<PolicyMetric, Float64Array> };
    const summary = summarize(many, names, 1);
    const table = formatTable(summary).split("\n");
    assert.match(table[0]!, /^policy +net mean +net std +s\.e\. +gross +cost +cost s\.e\. +fees .* trades +trades s\.e\. +max/);
    const p = summary.policies[0]!;
    assert.match(table[1]!, new RegExp(`^clock 1d .* ${p.costUsd.toFixed(3)} +${p.costSe.toFixed(3)} .* ${p.trades.toFixed(0)} +${p.tradesSe.toFixed(2)} `));
    assert.ok(table.every((l) => l.length <= 160), `widest line ${Math.max(...table.map((l) => l.length))} characters`);
    const [header, first] = formatCsv(summary).split("\n");
    const fields = header!.split(",");
    assert.deepEqual([fields.indexOf("costSe") - fields.indexOf("costUsd"), fields.indexOf("tradesSe") - fields.indexOf("trades")], [1, 1], header);
    assert.equal(Number(first!.split(",")[fields.indexOf("costSe")]), p.costSe);
  });
});
