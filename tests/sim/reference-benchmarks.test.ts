import { strict as assert } from "node:assert";
import * as path from "node:path";
import { europeanGreeks } from "../../keeper/exposure/black";
import { frontiers, savingsAgainst, sweepPolicies } from "../../keeper/sim/frontier";
import { type PolicySummary, summarize } from "../../keeper/sim/metrics";
import { defaultWorkers, prepareSimulation, runSimulation } from "../../keeper/sim/run-simulation";
import { loadScenarioFile, policyLabel, type Scenario, type SimPolicy } from "../../keeper/sim/scenario";

/**
 * The reference benchmarks of hedging-math.md §5, from the scenario files in config/scenarios. The full runs
 * (100,000 and 20,000 paths) take minutes (`npm run bench:backtest`); here each check uses the fewest paths at
 * which its tolerance is still 3 standard errors wide (a check of a correct engine fails with probability ≤ 0.3%),
 * and states what that path count can detect. The standard errors quoted were measured with this engine
 * (per-path dispersion, and kurtosis for a std); with n paths an s.e. scales as 1/√n.
 */

const SCENARIOS = path.join(__dirname, "../../config/scenarios");

async function run(s: Scenario, policies: SimPolicy[] = s.policies): Promise<PolicySummary[]> {
  const setup = prepareSimulation(s, policies);
  const paths = await runSimulation(setup, { workers: defaultWorkers() });
  return summarize(paths, policies.map(policyLabel), s.utilityRiskAversion).policies;
}

const within = (got: number, want: number, rel: number) => Math.abs(got / want - 1) <= rel;

describe("reference benchmarks (hedging-math.md §5)", function () {
  this.timeout(900_000);

  describe("B3: Jupiter-cost gamma scalping", () => {
    const b3 = () => loadScenarioFile(path.join(SCENARIOS, "b3-jupiter-gamma-scalping.yaml"));
    /** V(σ_r = 0.8) − V(σ_i = 0.6) of the straddle: what every policy's gross P&L must average. */
    const edge = (() => {
      const straddle = (vol: number) => 2 * europeanGreeks({ kind: "call", spot: 100, strike: 100, years: 30 / 365, rate: 0, carry: 0, vol }).price;
      return straddle(0.8) - straddle(0.6);
    })();

    it("the theory: V(σ_r) − V(σ_i) = 4.5518", () => {
      assert.ok(Math.abs(edge - 4.5518) < 5e-5, String(edge));
    });

    // The tolerance is itself 3 s.e., so any path count decides it; n sets the power. At 1,000 paths the gross s.e.
    // is 0.062-0.087 (0.112 for the daily clock, whose P&L is the noisiest): a bias of 0.5 (11% of the edge) is
    // caught with probability Φ(0.5/se − 3): 93% for the daily clock, ≥ 99.7% for the rest.
    it("every policy's gross mean is within 3 standard errors of it (1,000 paths)", async () => {
      const s = b3();
      s.paths = 1000;
      for (const p of await run(s)) assert.ok(Math.abs(p.grossMean - edge) <= 3 * p.grossSe, `${p.name}: gross ${p.grossMean.toFixed(4)} ± ${p.grossSe.toFixed(4)}`);
    });

    // The std decides n: the cost's relative s.e. is 0.18-0.23% at 10,000 paths (≤ 0.27% at 7,000), the std's
    // 0.58-0.70%, so ≤ 0.84% at 7,000; the table's own 20,000-path figure carries ≤ 0.49%, so the difference has
    // s.e. ≤ 0.97% and 3% is 3.1 of them. A true deviation of 4.6% fails with probability ≥ 95%.
    // (At 10,000 paths this engine is within 0.35% of every row's std and cost.)
    // The reference table puts the first hedge on at inception, as desks do (initialHedge: target, the default). A fixed
    // threshold wider than |q*₀| = 0.069 otherwise never hedges at the start: with initialHedge: policy this row's std
    // came out 12% high. Compared within 3 s.e. of the difference (this run's s.e. and the table's own at 20,000 paths,
    // estimated from this run's dispersion): at 7,000 paths that is 0.10 on the mean, 0.08 on the std, 0.01 on the cost.
    it("the fixed 0.20 row matches the reference table within 3 s.e. with the initial hedge at the target (7,000 paths)", async () => {
      const s = b3();
      s.paths = 7000;
      assert.equal(s.initialHedge, "target");
      const fixed = s.policies.filter((p) => p.kind === "fixed" && p.thresholdTokens === 0.2);
      assert.equal(fixed.length, 1);
      const [p] = await run(s, fixed);
      const table = { mean: 3.349, std: 2.339, cost: 1.22 };
      const both = (se: number) => 3 * se * Math.sqrt(1 + s.paths / 20_000);
      assert.ok(Math.abs(p!.netMean - table.mean) <= both(p!.netSe), `net mean ${p!.netMean.toFixed(4)} ± ${p!.netSe.toFixed(4)} vs ${table.mean}`);
      assert.ok(Math.abs(p!.netStd - table.std) <= both(p!.netStdSe), `net std ${p!.netStd.toFixed(4)} ± ${p!.netStdSe.toFixed(4)} vs ${table.std}`);
      assert.ok(Math.abs(p!.costUsd - table.cost) <= both(p!.costSe), `cost ${p!.costUsd.toFixed(4)} ± ${p!.costSe.toFixed(4)} vs ${table.cost}`);
    });

    it("the Whalley-Wilmott rows' std and cost are within 3% of the reference table (7,000 paths)", async () => {
      const reference: Record<string, { std: number; cost: number }> = {
        "WW γ=0.1": { std: 2.348, cost: 1.123 },
        "WW γ=0.3": { std: 2.171, cost: 1.223 },
        "WW γ=1": { std: 2.027, cost: 1.371 },
        "WW γ=3": { std: 1.904, cost: 1.55 },
      };
      const s = b3();
      s.paths = 7000;
      const ww = s.policies.filter((p) => p.kind === "whalley-wilmott");
      assert.equal(ww.length, 4);
      for (const p of await run(s, ww)) {
        const want = reference[p.name]!;
        assert.ok(within(p.netStd, want.std, 0.03), `${p.name}: net std ${p.netStd.toFixed(4)} vs ${want.std}`);
        assert.ok(within(p.costUsd, want.cost, 0.03), `${p.name}: cost ${p.costUsd.toFixed(4)} vs ${want.cost}`);
      }
    });

    // The saving grows as the hedge tightens: about 24% at γ = 0.3 (TE 1.17, against a 2-4 hour clock) and 20% at
    // γ = 0.1, as in the reference's own table; from TE ≈ 0.8 (γ = 1, an hourly clock's neighbourhood) down it is 28-34%.
    // At 2,000 paths the savings are 27.8%, 31.3% and 34.3% at γ = 1, 3, 10, with s.e. 0.5-0.75 points (batch means
    // of 4 × 500 paths: the costs and tracking errors share their paths, so the s.e. is much below the costs'). At
    // 1,500 paths that is ≤ 0.87 points, and the closest point, γ = 1, stays 3.2 s.e. above 25%; a frontier whose
    // saving at γ = 1 were really 23.4% or less (1.6 points under the bar) fails with probability ≥ 95%.
    it("the default policy's frontier is at least 25% cheaper than the clock's at equal tracking error, from TE 0.8 down (1,500 paths)", async () => {
      const s = b3();
      s.paths = 1500;
      s.policies = s.policies.filter((p) => p.kind === "clock" || p.kind === "whalley-wilmott");
      s.sweep = { clock: s.sweep!.clock, "whalley-wilmott": [1, 3, 10] };
      const policies = sweepPolicies(s);
      const fronts = frontiers(policies, await run(s, policies));
      const savings = savingsAgainst(fronts.find((f) => f.kind === "whalley-wilmott")!, fronts.find((f) => f.kind === "clock")!);
      assert.equal(savings.length, 3, "every WW point lies inside the clock's tracking-error range");
      assert.ok(savings.every((p) => p.trackingErrorStd < 0.85));
      for (const p of savings) assert.ok(p.saving >= 0.25, `${p.name}: cost ${p.costUsd.toFixed(3)} vs clock ${p.baselineCostUsd.toFixed(3)} at TE ${p.trackingErrorStd.toFixed(3)}: ${(100 * p.saving).toFixed(1)}% cheaper`);
    });
  });

  describe("B1: discretisation, free of fees", () => {
    // The P&L's kurtosis is 4.4-5.3, so the std's relative s.e. is √((κ − 1)/(4n)) ≤ 1.03/√n: 0.82% at 16,000 paths,
    // which makes 2.5% three s.e. wide. With the check's own 3-s.e. allowance the std passes within about 5% of
    // Derman-Kamal, and a deviation of 6.3% (2.5% + 4.6 s.e.) fails with probability ≥ 95%. Missing every other
    // rebalance moves the std by √2 − 1 = 41%.
    it("the hedged std follows Derman-Kamal within 2.5% at N = 30, 180, 720 and 4320 (16,000 paths)", async () => {
      const s = loadScenarioFile(path.join(SCENARIOS, "b1-discretisation.yaml"));
      s.paths = 16_000;
      // Derman-Kamal: std ≈ √(π/4)·vega·σ/√N (= σS√(T/(8N))·e^{−d₁²/2} at the money).
      const vega = europeanGreeks({ kind: "call", spot: 100, strike: 100, years: 30 / 365, rate: 0, carry: 0, vol: 0.8 }).vega;
      const derman = (n: number) => (Math.sqrt(Math.PI / 4) * vega * 0.8) / Math.sqrt(n);
      const table: Record<string, [number, number]> = { "N=30": [30, 1.4708], "N=180": [180, 0.6004], "N=720": [720, 0.3002], "N=4320": [4320, 0.1226] };
      for (const p of await run(s)) {
        const [n, printed] = table[p.name]!;
        assert.ok(Math.abs(derman(n) - printed) < 1e-4, `Derman-Kamal at N=${n}: ${derman(n)} vs the table's ${printed}`);
        // Within 2.5%, up to the run's own sampling error of the std: at N = 30 the formula itself is about 2.5% high
        // (the reference's 100,000-path MC gives 0.976, this engine's 0.972 ± 0.003), so the noise decides that case.
        const ratio = p.netStd / derman(n);
        const slack = (3 * p.netStdSe) / derman(n);
        assert.ok(Math.abs(ratio - 1) <= 0.025 + slack, `${p.name}: std ${p.netStd.toFixed(4)} ± ${p.netStdSe.toFixed(4)} / Derman-Kamal ${derman(n).toFixed(4)} = ${ratio.toFixed(4)}`);
        assert.ok(Math.abs(p.netMean) <= 3 * p.netSe + 0.007, `${p.name}: mean ${p.netMean.toFixed(4)}`);
      }
    });
  });
});
