import { strict as assert } from "node:assert";
import { europeanGreeks } from "../../keeper/exposure/black";
import { pathSeed } from "../../keeper/lib/random";
import { SECONDS_PER_YEAR } from "../../keeper/exposure/options-book";
import { type ChunkResult, gridOf, POLICY_METRICS, runChunk } from "../../keeper/sim/engine";
import { COLLATERAL_METRICS } from "../../keeper/sim/hedge-collateral";
import { Draws, simulatePath } from "../../keeper/sim/paths";
import { prepareSimulation, runSimulation } from "../../keeper/sim/run-simulation";
import { parseScenario, policyLabel, type ScenarioInput } from "../../keeper/sim/scenario";
import { MIN_TRADE_NOTIONAL_USD } from "../../keeper/strategy/decision-lanes";

/**
 * The engine's trading rules seen per path (runChunk): what counts as a trade, how the hedge starts, clocks on a grid
 * whose step is not a whole number of seconds, and results that do not depend on how paths are split.
 */

const PATHS = 40;

/** Per-path figures of each policy, [policy][path]. */
function perPath(input: ScenarioInput): Record<(typeof POLICY_METRICS)[number], number[][]> {
  const s = parseScenario(input, "test");
  const r = runChunk(prepareSimulation(s), 0, s.paths);
  const split = (a: Float64Array) => s.policies.map((_, p) => Array.from(a.subarray(p * s.paths, (p + 1) * s.paths)));
  return Object.fromEntries(POLICY_METRICS.map((m) => [m, split(r.perPolicy[m])])) as Record<(typeof POLICY_METRICS)[number], number[][]>;
}

/** The one value every path has, or a failure listing the values seen. */
function onEveryPath(values: number[], what: string): number {
  const distinct = [...new Set(values)];
  assert.equal(distinct.length, 1, `${what}: paths differ, ${distinct.slice(0, 8).join(", ")}`);
  return distinct[0]!;
}

/** Jupiter's fee on a size change, USD: ⌈size·1e6 rounded · bps / 1e4⌉ micro-dollars, in integers. */
const feeUsd = (sizeUsd: number, bps: number) => Number((BigInt(Math.round(sizeUsd * 1e6)) * BigInt(bps) + 9_999n) / 10_000n) / 1e6;

const atmStraddle = (expiryDays: number): ScenarioInput["book"] => ({
  options: [
    { kind: "call", strike: 100, expiryDays, quantity: 1, impliedVol: 0.6 },
    { kind: "put", strike: 100, expiryDays, quantity: 1, impliedVol: 0.6 },
  ],
});

describe("simulator engine: trading rules per path", function () {
  this.timeout(120_000);
  const common = { spot: 100, paths: PATHS, seed: 5, model: { kind: "gbm", vol: 0.8 } } satisfies Partial<ScenarioInput>;

  // A book of tokens held outright has a constant delta: once hedged, every later hourly rebalance would move the
  // hedge from −10 to −10. That is not a trade (no request, no fee, no transaction), so each path trades once, at the
  // start (target: the initial hedge; policy: the clock's first decision, on an empty hedge).
  it("a clock rebalance that changes nothing is not a trade", () => {
    for (const initialHedge of ["target", "policy"] as const) {
      const r = perPath({
        ...common,
        days: 1,
        stepMinutes: 60,
        book: { staticTokens: 10 },
        costs: { increaseBps: 6, decreaseBps: 0, txCostUsd: 0.25 },
        initialHedge,
        policies: [{ kind: "clock", intervalSec: 3600 }],
      });
      assert.equal(onEveryPath(r.trades[0]!, `${initialHedge}: trades`), 1);
      assert.equal(onEveryPath(r.tx[0]!, `${initialHedge}: tx`), 2 * 0.25, "the initial hedge's transaction and the unwind's");
      assert.equal(onEveryPath(r.fees[0]!, `${initialHedge}: fees`), feeUsd(10 * 100, 6), "the increase fee on 10 tokens at $100, once (the unwind's decrease fee is 0 here)");
    }
  });

  describe("the first hedge", () => {
    // One step of a day: the only decision is at t = 0, so a path's trades, fees and transactions are those of its
    // first hedge (plus the unwind's transaction; decreases are free here so the fees are the first hedge's alone).
    const oneStep = { ...common, days: 1, stepMinutes: 1440, book: atmStraddle(30), costs: { increaseBps: 6, decreaseBps: 0, txCostUsd: 0.25 } } satisfies Partial<ScenarioInput>;
    // q*₀ of a long ATM 30-day straddle at 60% vol: −(Δcall + Δput) ≈ −0.069 tokens.
    const years = (30 * 86_400) / SECONDS_PER_YEAR;
    const delta = (kind: "call" | "put") => europeanGreeks({ kind, spot: 100, strike: 100, years, rate: 0, carry: 0, vol: 0.6 }).delta;
    const target0 = -(delta("call") + delta("put"));
    const firstHedgeFee = feeUsd(Math.abs(target0) * 100, 6);

    it("a fixed threshold wider than |q*₀| hedges at inception with initialHedge target, and never at t = 0 with policy", () => {
      assert.ok(Math.abs(target0) < 0.5 && Math.abs(target0) > 0.05, `q*₀ = ${target0}`);
      const policies = [{ kind: "fixed", thresholdTokens: 0.5 }] satisfies ScenarioInput["policies"];
      const target = perPath({ ...oneStep, initialHedge: "target", policies });
      assert.equal(onEveryPath(target.trades[0]!, "target: trades"), 1);
      assert.equal(onEveryPath(target.fees[0]!, "target: fees"), firstHedgeFee, "the whole of q*₀, to the band's centre");
      assert.equal(onEveryPath(target.tx[0]!, "target: tx"), 0.5);
      const policy = perPath({ ...oneStep, initialHedge: "policy", policies });
      assert.equal(onEveryPath(policy.trades[0]!, "policy: trades"), 0, "|0 − q*₀| is inside the 0.5-token band");
      assert.equal(onEveryPath(policy.fees[0]!, "policy: fees"), 0);
      assert.equal(onEveryPath(policy.tx[0]!, "policy: tx"), 0, "nothing to unwind either");
    });

    // A band policy's own rule trades only back to its band's edge; the initial hedge goes to the centre, q*₀. At
    // γ = 3 the Whalley-Wilmott half-width (about 0.04 tokens here) is narrower than |q*₀|, so its own rule trades too,
    // but less.
    it("Whalley-Wilmott's initial hedge goes to the centre q*₀, not to the band's edge", () => {
      const policies = [{ kind: "whalley-wilmott", riskAversion: 3 }] satisfies ScenarioInput["policies"];
      const target = perPath({ ...oneStep, initialHedge: "target", policies });
      assert.equal(onEveryPath(target.trades[0]!, "target: trades"), 1);
      assert.equal(onEveryPath(target.fees[0]!, "target: fees"), firstHedgeFee);
      const policy = perPath({ ...oneStep, initialHedge: "policy", policies });
      assert.equal(onEveryPath(policy.trades[0]!, "policy: trades"), 1);
      const toEdge = onEveryPath(policy.fees[0]!, "policy: fees");
      assert.ok(toEdge > 0 && toEdge < firstHedgeFee / 2, `the band's own rule trades to the edge: $${toEdge} against $${firstHedgeFee} to the centre`);
    });
  });

  // 2,520 steps of 30 days: a step is 1028.571428… s, not a whole number of seconds. The old engine compared
  // i·dt − j·dt ≥ interval in float seconds; the difference of two rounded products falls an ulp short of the
  // interval at many steps, and that rebalance waited a whole step more. On this grid that gave 1,439 trades
  // instead of about 2,520 for a clock of one step and 719 instead of about 840 for a clock of three. Clocks are now
  // compared in whole steps (scenario.ts clockIntervalSteps).
  describe("clocks on a grid of 2,520 steps in 30 days", () => {
    const steps = 2520;
    const stepSec = (30 * 86_400) / steps;
    // The straddle expires 30 days after the horizon, so its delta moves at nearly every step by far more than the
    // 1 USD×1e6 a request can carry: the clock decides the count, 1 + ⌊(steps − 1)/N⌋ for a clock of N steps.
    const input = { ...common, paths: 16, days: 30, stepMinutes: (30 * 1440) / steps, book: atmStraddle(60) } satisfies Partial<ScenarioInput>;
    const byClock = (every: number) => 1 + Math.floor((steps - 1) / every);

    /**
     * The rule's count on path `index`, computed apart from the engine: the path from paths.ts, q* from Black's deltas,
     * a trade at step 0 and then whenever N steps have passed since the last trade and the change is worth 1 USD×1e6.
     * Rarely a step's move and the passage of time cancel in the delta (|Δq*|·S below 1e-6); that step holds.
     */
    function ruleTrades(index: number, every: number): number {
      const s = parseScenario({ ...input, policies: [{ kind: "clock", intervalSteps: every }] }, "test");
      const { dtYears } = gridOf(s);
      const path = new Float64Array(steps + 1);
      simulatePath({ kind: "gbm", sigma: common.model.vol, muAnnual: 0 }, s.spot, { steps, dtYears }, new Draws(pathSeed(s.seed, index)), path);
      const target = (i: number) => {
        const years = (60 * 86_400 - i * stepSec) / SECONDS_PER_YEAR;
        return -s.book.options.reduce((sum, l) => sum + l.quantity * europeanGreeks({ kind: l.kind, spot: path[i]!, strike: l.strike, years, rate: 0, carry: 0, vol: l.impliedVol }).delta, 0);
      };
      let held = target(0);
      let last = 0;
      let trades = 1;
      for (let i = 1; i < steps; i++) {
        const to = target(i);
        if (i - last < every || Math.abs(to - held) * path[i]! < MIN_TRADE_NOTIONAL_USD) continue;
        [held, last, trades] = [to, i, trades + 1];
      }
      return trades;
    }

    it("trades at every step on a clock of 1 step, and every 3 steps on a clock of 3 × the step in seconds", () => {
      assert.equal(gridOf(parseScenario({ ...input, policies: [{ kind: "clock", intervalSteps: 1 }] }, "test")).steps, steps);
      const want = (every: number) => Array.from({ length: input.paths }, (_, k) => ruleTrades(k, every));
      const [every1, every3] = [want(1), want(3)];
      // The scenario tests the clock: all but a rare step trade.
      for (const [every, counts] of [[1, every1], [3, every3]] as const) {
        assert.ok(counts.every((t) => t <= byClock(every) && t >= byClock(every) - 1), `clock of ${every}: ${counts.join(", ")}`);
      }
      for (const initialHedge of ["target", "policy"] as const) {
        const r = perPath({
          ...input,
          initialHedge,
          // intervalSec as a user writes it: the decimal of 3 × 1028.571428…, not the double 3 × stepSec.
          policies: [{ kind: "clock", intervalSteps: 1 }, { kind: "clock", intervalSec: 3085.7142857142857 }, { kind: "clock", intervalSteps: 3 }],
        });
        assert.deepEqual(r.trades[0], every1, `${initialHedge}: clock of 1 step`);
        assert.deepEqual(r.trades[1], every3, `${initialHedge}: clock of 3085.714… s`);
        for (const m of POLICY_METRICS) assert.deepEqual(r[m][2], r[m][1], `${initialHedge}: ${m} of 3 steps and of their seconds`);
      }
      assert.notEqual(3085.7142857142857, 3 * stepSec, "the interval given is not the grid's own product");
    });

    it("labels a clock in steps by its steps", () => {
      assert.equal(policyLabel({ kind: "clock", intervalSteps: 3 }), "clock 3 steps");
      assert.equal(policyLabel({ kind: "clock", intervalSteps: 1 }), "clock 1 step");
    });
  });

  // 130 paths are two full blocks of 64 lanes and one of 2; 65 and 65 are a full block and one of 1 each; two workers
  // run 16 chunks of 8 or 9. Every lane-wise path of the engine is in the scenario: latency fills, JLP flows, a
  // Zakamouline band (its shifted centre), an impact fee, size limits, a cooldown and collateral with liquidations.
  describe("results do not depend on workers or block boundaries", () => {
    const scenario = parseScenario(
      {
        spot: 100,
        days: 3,
        stepMinutes: 30,
        paths: 130,
        seed: 21,
        model: { kind: "merton", vol: 0.9, jumpsPerYear: 20, jumpMean: -0.03, jumpStd: 0.08 },
        book: { options: [{ kind: "put", strike: 95, expiryDays: 2, quantity: -4, impliedVol: 0.7 }, { kind: "call", strike: 110, expiryDays: 5, quantity: 3, impliedVol: 0.65 }], staticTokens: 1, jlp: { deltaTokens: 2, flowVolTokens: 15 } },
        costs: { increaseBps: 6, decreaseBps: 4, impactFeeScalar: 1_250_000_000, borrowPercentPerHour: 0.004, txCostUsd: 0.002, latencySec: 600 },
        trade: { minTradeTokens: 0.01, maxTradeTokens: 1.5, cooldownSec: 3600 },
        targetLeverage: 20,
        // The policy measures distance in a vol (10%) far under the model's (90%): its floor is thin and some hedges
        // are liquidated, so both the policy's deposits and withdrawals and the liquidations are in the run.
        collateral: { floorSigmas: 2, ceilingSigmas: 4, annualVol: 0.1 },
        policies: [{ kind: "whalley-wilmott", riskAversion: 0.5 }, { kind: "zakamouline", riskAversion: 1 }, { kind: "fixed", thresholdTokens: 0.2 }, { kind: "clock", intervalSteps: 3 }],
      },
      "test",
    );
    const setup = prepareSimulation(scenario);
    const nPol = scenario.policies.length;
    /** Each per-path array of `c` for paths [from, from + count), by policy where it has one. */
    const window = (c: ChunkResult, from: number, count: number) => {
      const slice = (a: Float64Array, p: number) => Array.from(a.subarray(p * c.count + from - c.firstPath, p * c.count + from - c.firstPath + count));
      const byPolicy = (a: Float64Array) => Array.from({ length: nPol }, (_, p) => slice(a, p));
      return {
        referenceGross: slice(c.referenceGross, 0),
        theory: slice(c.theory, 0),
        ...Object.fromEntries(POLICY_METRICS.map((m) => [m, byPolicy(c.perPolicy[m])])),
        ...Object.fromEntries(COLLATERAL_METRICS.map((m) => [`collateral ${m}`, byPolicy(c.collateral![m])])),
      };
    };

    it("the first 65 paths alone and the next 65 alone are the 130 run together", () => {
      const all = runChunk(setup, 0, 130);
      // The scenario must reach what it is meant to test.
      assert.ok(all.collateral!.liquidations.some((x) => x > 0), "some hedge is liquidated");
      assert.ok(all.collateral!.deposited.some((x) => x > 0) && all.collateral!.withdrawn.some((x) => x > 0), "the collateral policy deposits and withdraws");
      assert.ok(all.perPolicy.trades.every((x) => x >= 1), "every policy trades on every path");
      assert.deepEqual(window(runChunk(setup, 0, 65), 0, 65), window(all, 0, 65));
      assert.deepEqual(window(runChunk(setup, 65, 65), 65, 65), window(all, 65, 130 - 65));
    });

    it("one worker and two give the same per-path figures", async () => {
      const one = await runSimulation(setup, { workers: 1 });
      const two = await runSimulation(setup, { workers: 2 });
      assert.deepEqual(two, one);
    });
  });
});
