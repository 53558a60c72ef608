import { strict as assert } from "node:assert";
import { Draws, type PathModel, parsePriceCsv, simulatePath } from "../../keeper/sim/paths";
import { pathSeed } from "../../keeper/lib/random";

/** Terminal prices of `paths` paths of `model`, each path seeded from (seed, index). */
function terminal(model: PathModel, paths: number, steps: number, years: number, seed = 7): Float64Array {
  const out = new Float64Array(steps + 1);
  const st = new Float64Array(paths);
  for (let i = 0; i < paths; i++) {
    simulatePath(model, 100, { steps, dtYears: years / steps }, new Draws(pathSeed(seed, i)), out);
    st[i] = out[steps]!;
  }
  return st;
}

const mean = (x: Float64Array) => x.reduce((a, b) => a + b, 0) / x.length;
const variance = (x: Float64Array) => {
  const m = mean(x);
  return x.reduce((a, b) => a + (b - m) * (b - m), 0) / (x.length - 1);
};
const logs = (x: Float64Array) => x.map((s) => Math.log(s / 100));

/** |mean - expected| within 3 standard errors. */
function assertMean(x: Float64Array, expected: number, what: string) {
  const se = Math.sqrt(variance(x) / x.length);
  assert.ok(Math.abs(mean(x) - expected) <= 3 * se, `${what}: mean ${mean(x)} vs ${expected} (s.e. ${se})`);
}

describe("simulator paths", () => {
  const T = 30 / 365;

  it("exact log-GBM: E[S_T] = S_0 and Var[ln S_T] = σ²T", () => {
    const st = terminal({ kind: "gbm", sigma: 0.8 }, 20_000, 30, T);
    assertMean(st, 100, "GBM");
    const v = variance(logs(st));
    assert.ok(Math.abs(v / (0.64 * T) - 1) < 0.03, `Var ln S_T ${v} vs ${0.64 * T}`);
  });

  it("Merton: the jump drift is compensated, and the log variance adds λT(μ_J² + σ_J²)", () => {
    const model: PathModel = { kind: "merton", sigma: 0.5, jumpsPerYear: 20, jumpMeanLog: -0.05, jumpStdLog: 0.1 };
    const st = terminal(model, 20_000, 60, T);
    assertMean(st, 100, "Merton");
    const expected = 0.25 * T + 20 * T * (0.05 * 0.05 + 0.01);
    const v = variance(logs(st));
    assert.ok(Math.abs(v / expected - 1) < 0.05, `Var ln S_T ${v} vs ${expected}`);
  });

  for (const [name, model] of [
    ["QE quadratic branch", { kind: "heston", v0: 0.64, kappa: 2, theta: 0.5, xi: 0.6, rho: -0.7 }],
    ["QE exponential branch", { kind: "heston", v0: 0.04, kappa: 1, theta: 0.04, xi: 1.5, rho: -0.9 }],
  ] as [string, PathModel][]) {
    it(`Heston (${name}) is a martingale on the grid: E[S_T] = S_0`, () => {
      assertMean(terminal(model, 20_000, 40, 0.25), 100, name);
    });
  }

  it("each path depends only on (seed, index); replays are scaled to start at S_0", () => {
    const a = new Float64Array(11);
    const b = new Float64Array(11);
    simulatePath({ kind: "gbm", sigma: 0.8 }, 100, { steps: 10, dtYears: 1 / 365 }, new Draws(pathSeed(42, 5)), a);
    simulatePath({ kind: "gbm", sigma: 0.8 }, 100, { steps: 10, dtYears: 1 / 365 }, new Draws(pathSeed(42, 5)), b);
    assert.deepEqual(a, b);
    assert.notEqual(pathSeed(42, 5), pathSeed(42, 6));
    assert.notEqual(pathSeed(42, 5), pathSeed(43, 5));
    const { pricesUsd } = parsePriceCsv("timestamp,price\n1700000000,50\n1700000060,55\n2023-11-14T22:15:00Z,45\n", "p.csv");
    const out = new Float64Array(3);
    simulatePath({ kind: "replay", pricesUsd }, 100, { steps: 2, dtYears: 60 / 31_557_600 }, new Draws(1), out);
    assert.deepEqual(Array.from(out), [100, 110, 90]);
    assert.throws(() => parsePriceCsv("1,5\n1,6\n", "dup.csv"), /dup\.csv line 2: timestamps must increase/);
    assert.throws(() => parsePriceCsv("1,5\n2,-6\n", "neg.csv"), /neg\.csv line 2: expected "timestamp,price" with a price > 0/);
  });
});
