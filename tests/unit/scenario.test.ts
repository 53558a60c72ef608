import { strict as assert } from "node:assert";
import { frontiers, sweepPolicies } from "../../keeper/sim/frontier";
import type { PolicySummary } from "../../keeper/sim/metrics";
import { type ClockPolicy, clockIntervalSteps, parseScenario, policyLabel, type ScenarioInput, ScenarioError, type SimPolicy } from "../../keeper/sim/scenario";

/** A valid scenario on a 5-minute grid; each case changes what it tests. */
const base = (over: Partial<ScenarioInput> = {}): ScenarioInput => ({ spot: 100, days: 1, model: { kind: "gbm", vol: 0.8 }, book: { staticTokens: 1 }, policies: [{ kind: "clock", intervalSec: 3600 }], ...over });

/** The ScenarioError's message for an input parseScenario must refuse. */
function refusal(input: unknown): string {
  try {
    parseScenario(input, "test.yaml");
  } catch (e) {
    assert.ok(e instanceof ScenarioError, String(e));
    return e.message;
  }
  assert.fail("parseScenario accepted it");
}

describe("backtest scenario schema", () => {
  describe("initialHedge", () => {
    it("defaults to target, the desks' practice", () => {
      assert.equal(parseScenario(base(), "t").initialHedge, "target");
    });
    it("takes policy, the old start from an empty hedge", () => {
      assert.equal(parseScenario(base({ initialHedge: "policy" }), "t").initialHedge, "policy");
    });
    it("refuses anything else, naming the field and the choices", () => {
      assert.match(refusal({ ...base(), initialHedge: "zero" }), /initialHedge: Invalid enum value\. Expected 'target' \| 'policy', received 'zero'/);
    });
  });

  describe("clock intervals", () => {
    it("takes intervalSteps instead of intervalSec, a positive whole number", () => {
      const s = parseScenario(base({ policies: [{ kind: "clock", intervalSteps: 12 }] }), "t");
      assert.deepEqual(s.policies[0], { kind: "clock", intervalSteps: 12 });
      assert.match(refusal(base({ policies: [{ kind: "clock", intervalSteps: 1.5 }] })), /policies\.0\.intervalSteps: Expected integer/);
      assert.match(refusal(base({ policies: [{ kind: "clock", intervalSteps: 0 }] })), /policies\.0\.intervalSteps: Number must be greater than 0/);
    });

    const exactlyOne: Array<[string, SimPolicy, RegExp]> = [
      ["both", { kind: "clock", intervalSec: 3600, intervalSteps: 12 }, /policies\.1: clock policy: give exactly one of intervalSec .* or intervalSteps .*, not both/],
      ["neither", { kind: "clock" }, /policies\.1: clock policy: give exactly one of intervalSec .* or intervalSteps .*, not neither/],
    ];
    for (const [name, clock, message] of exactlyOne) {
      it(`refuses a clock with ${name} of intervalSec and intervalSteps, naming the policy's index`, () => {
        assert.match(refusal(base({ policies: [{ kind: "fixed", thresholdTokens: 0.1 }, clock] })), message);
      });
    }

    const grids: Array<[string, number, number, RegExp]> = [
      ["7 minutes on a 5-minute grid", 5, 420, /policies\.0: clock policy: an interval of 420 s is not a whole number of the grid's 300 s steps \(stepMinutes 5\).*give intervalSteps \(clock:<N>steps on the command line\) or a whole multiple: 300 s \(1 step\) or 600 s \(2 steps\)/],
      ["shorter than a step", 30, 900, /an interval of 900 s is not a whole number of the grid's 1800 s steps \(stepMinutes 30\).*a whole multiple: 1800 s \(1 step\)$/m],
      ["a day on a 7-minute grid", 7, 86_400, /an interval of 86400 s is not a whole number of the grid's 420 s steps.*86100 s \(205 steps\) or 86520 s \(206 steps\)/],
      ["off by more than 1e-9 relative", 5, 3600 * (1 + 1e-8), /is not a whole number of the grid's 300 s steps/],
    ];
    for (const [name, stepMinutes, intervalSec, message] of grids) {
      it(`refuses an intervalSec that is not a whole number of grid steps: ${name}, with the nearest multiples`, () => {
        assert.match(refusal(base({ stepMinutes, policies: [{ kind: "clock", intervalSec }] })), message);
      });
    }

    it("accepts an intervalSec within 1e-9 relative of a whole number of steps, and a grid step that is not a round float", () => {
      assert.equal(parseScenario(base({ policies: [{ kind: "clock", intervalSec: 3600 * (1 + 1e-12) }] }), "t").policies.length, 1);
      // 0.1 minute is 6.000000000000001 s in binary.
      assert.equal(parseScenario(base({ stepMinutes: 0.1, policies: [{ kind: "clock", intervalSec: 60 }] }), "t").policies.length, 1);
    });

    it("checks the sweep's clocks in seconds the same way, and takes sweep.clockSteps", () => {
      assert.match(refusal(base({ sweep: { clock: [3600, 450] } })), /sweep\.clock\.1: an interval of 450 s is not .*give sweep\.clockSteps .* 300 s \(1 step\) or 600 s \(2 steps\)/);
      assert.deepEqual(parseScenario(base({ sweep: { clockSteps: [1, 12] } }), "t").sweep, { clockSteps: [1, 12] });
      assert.match(refusal(base({ sweep: { clockSteps: [0] } })), /sweep\.clockSteps\.0: Number must be greater than 0/);
    });
  });

  describe("clockIntervalSteps, the engine's interval", () => {
    const cases: Array<[ClockPolicy, number, number]> = [
      [{ kind: "clock", intervalSteps: 12 }, 300, 12],
      [{ kind: "clock", intervalSec: 3600 }, 300, 12],
      [{ kind: "clock", intervalSec: 86_400 }, 600, 144],
      [{ kind: "clock", intervalSec: 60 }, 0.1 * 60, 10],
      [{ kind: "clock", intervalSec: 300 }, 300, 1],
    ];
    for (const [p, dtSec, steps] of cases) {
      it(`${JSON.stringify(p)} on ${dtSec} s steps is ${steps} steps`, () => assert.equal(clockIntervalSteps(p, dtSec), steps));
    }
    it("throws a ScenarioError with the fix for an interval between steps, and for both or neither", () => {
      assert.throws(() => clockIntervalSteps({ kind: "clock", intervalSec: 1000 }, 300), (e: Error) => e instanceof ScenarioError && /1000 s is not a whole number of the grid's 300 s steps.*900 s \(3 steps\) or 1200 s \(4 steps\)/.test(e.message));
      assert.throws(() => clockIntervalSteps({ kind: "clock", intervalSec: 3600, intervalSteps: 12 }, 300), /exactly one of intervalSec .* not both/);
      assert.throws(() => clockIntervalSteps({ kind: "clock" }, 300), /exactly one of intervalSec .* not neither/);
    });
  });

  describe("labels", () => {
    const labels: Array<[SimPolicy, string]> = [
      [{ kind: "clock", intervalSteps: 12 }, "clock 12 steps"],
      [{ kind: "clock", intervalSteps: 1 }, "clock 1 step"],
      [{ kind: "clock", intervalSec: 3600 }, "clock 1h"],
      [{ kind: "clock", intervalSec: 86_400 }, "clock 1d"],
      [{ kind: "clock", intervalSec: 900 }, "clock 15m"],
      [{ kind: "clock", name: "N=30", intervalSteps: 4 }, "N=30"],
    ];
    for (const [p, label] of labels) it(`${JSON.stringify(p)} → ${label}`, () => assert.equal(policyLabel(p), label));
  });

  describe("sweeps and frontiers with clocks in steps", () => {
    it("runs sweep.clock and sweep.clockSteps together, once per interval, shortest first", () => {
      const s = parseScenario(base({ sweep: { clock: [3600, 900], clockSteps: [12, 1, 48] } }), "t");
      assert.deepEqual(sweepPolicies(s).map(policyLabel), ["clock 1 step", "clock 15m", "clock 1h", "clock 48 steps"]);
    });
    it("by default rounds the day-to-15-minute clocks to whole steps on a grid they do not divide", () => {
      assert.deepEqual(sweepPolicies(parseScenario(base({ stepMinutes: 7, policies: [{ kind: "clock", intervalSteps: 2 }] }), "t")).map(policyLabel), [
        "clock 2 steps",
        "clock 4 steps",
        "clock 9 steps",
        "clock 17 steps",
        "clock 34 steps",
        "clock 103 steps",
        "clock 206 steps",
      ]);
      assert.deepEqual(sweepPolicies(parseScenario(base(), "t")).map(policyLabel), ["clock 15m", "clock 30m", "clock 1h", "clock 2h", "clock 4h", "clock 12h", "clock 1d"]);
    });
    it("places a clock in steps on the frontier at its interval in seconds", () => {
      const summary = (name: string, te: number) => ({ name, trackingErrorStd: te, costUsd: 1 / te }) as PolicySummary;
      const policies: SimPolicy[] = [{ kind: "clock", intervalSteps: 12 }, { kind: "clock", intervalSec: 900 }];
      const [clock] = frontiers(policies, [summary("clock 12 steps", 2), summary("clock 15m", 1)], 300);
      assert.deepEqual(clock!.points.map((p) => [p.name, p.parameter]), [["clock 15m", 900], ["clock 12 steps", 3600]]);
    });
  });
});
