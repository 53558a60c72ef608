import { strict as assert } from "node:assert";
import { MAINNET } from "../../programs-client";
import { custodyAumUsd6, custodyExposure, jlpExposure } from "../../keeper/exposure/jlp";
import { bookGreeks, type OptionLeg } from "../../keeper/exposure/options-book";
import { parseBookFile, BookFileError } from "../../keeper/exposure/book-file";
import { valueExposure } from "../../keeper/exposure/mandate-exposure";
import { europeanGreeks } from "../../keeper/exposure/black";
import { makeCustody, makePool } from "../helpers/synthetic";

describe("JLP delta (hedging-math.md §4)", () => {
  // owned - locked = 7e6 SOL, guaranteedUsd = 2.5e8, G = 1.2e8 at A = 150, P = 160.
  const sol = makeCustody(MAINNET.custodies.SOL);
  const custody = {
    ...sol,
    decimals: 9,
    isStable: false,
    assets: { ...sol.assets, owned: 8_000_000n * 10n ** 9n, locked: 1_000_000n * 10n ** 9n, guaranteedUsd: 250_000_000n * 10n ** 6n, globalShortSizes: 120_000_000n * 10n ** 6n, globalShortAveragePrices: 150_000_000n },
  };
  it("AUM_SOL = 1.378e9 and δ = 7.8e6 SOL", () => {
    assert.equal(custodyAumUsd6({ custody, priceUsd6: 160_000_000n }), 1_378_000_000n * 10n ** 6n);
    assert.equal(custodyExposure({ custody, priceUsd6: 160_000_000n }).poolDeltaTokens, 7_800_000);
  });
  it("δ equals a ±1% finite difference of AUM", () => {
    const up = custodyAumUsd6({ custody, priceUsd6: 161_600_000n });
    const down = custodyAumUsd6({ custody, priceUsd6: 158_400_000n });
    assert.equal(Number(up - down) / 1e6 / 3.2, 7_800_000);
  });
  it("a holding's delta is its share of the pool's, and the AUM gap is reported", () => {
    const usdc = { ...makeCustody(MAINNET.custodies.USDC), isStable: true, decimals: 6 };
    usdc.assets = { ...usdc.assets, owned: 500_000_000n * 10n ** 6n };
    const pool = { ...makePool(), aumUsd: (1_378_000_000n + 500_000_000n) * 10n ** 6n };
    const e = jlpExposure({ jlpAmount: 1_000n, jlpSupply: 1_000_000n }, pool, new Map([
      ["sol", { custody, priceUsd6: 160_000_000n }],
      ["usdc", { custody: usdc, priceUsd6: 1_000_000n }],
    ]));
    assert.equal(e.deltaTokens.get("sol"), 7_800);
    assert.equal(e.deltaTokens.get("usdc"), 0);
    assert.equal(e.aumGapBps, 0);
    const off = jlpExposure({ jlpAmount: 1n, jlpSupply: 1n }, { ...pool, aumUsd: pool.aumUsd / 2n }, new Map([["sol", { custody, priceUsd6: 160_000_000n }]]));
    assert.ok(off.aumGapBps > 4000, `gap ${off.aumGapBps}`);
  });
});

describe("options book", () => {
  const now = 1_700_000_000;
  const expiry = now + 30 * 86400;
  const straddle: OptionLeg[] = [
    { underlying: "SOL", kind: "call", strike: 150, expirySec: expiry, quantity: 100, impliedVol: 0.6 },
    { underlying: "SOL", kind: "put", strike: 150, expirySec: expiry, quantity: 100, impliedVol: 0.6 },
    { underlying: "ETH", kind: "call", strike: 3000, expirySec: expiry, quantity: -5, impliedVol: 0.5 },
    { underlying: "SOL", kind: "call", strike: 150, expirySec: now - 1, quantity: 1000, impliedVol: 0.6 },
  ];
  it("sums the live legs of one underlying", () => {
    const g = bookGreeks(straddle, "SOL", 150, now);
    const call = europeanGreeks({ kind: "call", spot: 150, strike: 150, years: 30 / 365, rate: 0, carry: 0, vol: 0.6 });
    assert.equal(g.legs, 2);
    assert.ok(Math.abs(g.delta - 100 * (2 * call.delta - 1)) < 1e-9);
    assert.ok(Math.abs(g.gamma - 200 * call.gamma) < 1e-12);
    assert.ok(Math.abs(g.years - 30 / 365) < 1e-12 && g.vol === 0.6);
  });
  it("hedge ratio scales every part; wallets, JLP and offsets add", () => {
    const e = valueExposure({ market: "SOL", spotUsd: 150, nowSec: now, legs: straddle, walletTokens: 10, jlpTokens: 2, offsetTokens: -1, hedgeRatio: 0.5, jlpDeltaVarianceRate: 0 });
    assert.ok(Math.abs(e.greeks.delta - 0.5 * (e.options.delta + 11)) < 1e-12);
    assert.ok(Math.abs(e.greeks.gamma - 0.5 * e.options.gamma) < 1e-15);
  });
  it("reads CSV and JSON books and names every bad field", () => {
    const csv = "underlying,kind,strike,expiry,quantity,impliedVol\nSOL,call,150,2026-12-25T08:00:00Z,10,0.7\n# comment\nsol,PUT,140,1798185600,-3,0.8\n";
    const legs = parseBookFile(csv, "book.csv");
    assert.deepEqual(legs[0], { underlying: "SOL", kind: "call", strike: 150, expirySec: Date.parse("2026-12-25T08:00:00Z") / 1000, quantity: 10, impliedVol: 0.7 });
    assert.equal(legs[1]!.kind, "put");
    assert.deepEqual(parseBookFile(JSON.stringify({ legs: [{ ...legs[0], expiry: legs[0]!.expirySec }] }), "book.json")[0], legs[0]);
    assert.throws(
      () => parseBookFile("underlying,kind,strike,expiry,quantity,impliedVol\nDOGE,call,-1,soon,x,80\n", "b.csv"),
      (e: unknown) => e instanceof BookFileError && /b.csv row 2: underlying "DOGE"/.test(e.message) && /strike "-1"/.test(e.message) && /expiry "soon"/.test(e.message) && /impliedVol "80"/.test(e.message),
    );
    assert.throws(() => parseBookFile("underlying,kind\n", "b.csv"), /header lacks strike, expiry, quantity, impliedVol/);
  });
});
