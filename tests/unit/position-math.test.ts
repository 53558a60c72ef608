import { strict as assert } from "node:assert";
import fc from "fast-check";
import type { Side } from "../../programs-client";
import { formatUnits, leverageBps, positionDeltaBase, unrealisedPnlUsd6 } from "../../keeper/market/position-math";

describe("position maths", () => {
  // [side, sizeUsd6, entryUsd6, decimals, delta base units]
  const deltas: [Side, bigint, bigint, number, bigint][] = [
    ["short", 1_000_000_000n, 200_000_000n, 9, -5_000_000_000n], // $1000 short at $200 = -5 SOL
    ["long", 1_000_000_000n, 200_000_000n, 9, 5_000_000_000n],
    ["long", 100_000_000n, 3_000_000_000n, 8, 3_333_333n], // $100 of ETH at $3000: 0.03333333 ETH, truncated
    ["short", 100_000_000n, 3_000_000_000n, 8, -3_333_333n], // truncates toward zero on both sides
    ["long", 0n, 200_000_000n, 9, 0n],
    ["none", 1_000_000_000n, 200_000_000n, 9, 0n],
  ];
  for (const [side, sizeUsd, price, decimals, expected] of deltas) {
    it(`delta of a ${side} $${formatUnits(sizeUsd, 6)} at $${formatUnits(price, 6)} = ${formatUnits(expected, decimals)}`, () =>
      assert.equal(positionDeltaBase({ side, sizeUsd, price }, decimals), expected));
  }

  const pnls: [Side, bigint, bigint, bigint, bigint][] = [
    ["long", 1_000_000_000n, 200_000_000n, 220_000_000n, 100_000_000n], // +10% on $1000
    ["short", 1_000_000_000n, 200_000_000n, 220_000_000n, -100_000_000n],
    ["short", 1_000_000_000n, 200_000_000n, 180_000_000n, 100_000_000n],
    ["long", 1_000_000_000n, 300_000_000n, 299_999_999n, -3n], // -3.33 micro-dollars, truncated toward zero
  ];
  for (const [side, sizeUsd, price, mark, expected] of pnls) {
    it(`uPnL of a ${side} $${formatUnits(sizeUsd, 6)} from $${formatUnits(price, 6)} to $${formatUnits(mark, 6)} = ${formatUnits(expected, 6)}`, () =>
      assert.equal(unrealisedPnlUsd6({ side, sizeUsd, price }, mark), expected));
  }

  it("leverage in bps", () => {
    assert.equal(leverageBps({ sizeUsd: 1_000_000_000n, collateralUsd: 100_000_000n }), 100_000n);
    assert.equal(leverageBps({ sizeUsd: 1n, collateralUsd: 0n }), null);
  });

  it("long and short of the same size have opposite delta and PnL (property)", () => {
    const usd = fc.bigInt({ min: 1n, max: 10n ** 15n });
    fc.assert(
      fc.property(usd, usd, usd, fc.integer({ min: 0, max: 9 }), (sizeUsd, price, mark, decimals) => {
        assert.equal(positionDeltaBase({ side: "long", sizeUsd, price }, decimals), -positionDeltaBase({ side: "short", sizeUsd, price }, decimals));
        assert.equal(unrealisedPnlUsd6({ side: "long", sizeUsd, price }, mark), -unrealisedPnlUsd6({ side: "short", sizeUsd, price }, mark));
      }),
    );
  });

  it("formatUnits", () => {
    assert.equal(formatUnits(-1_500_000_000n, 9), "-1.5");
    assert.equal(formatUnits(0n, 6), "0");
    assert.equal(formatUnits(1n, 6), "0.000001");
    assert.equal(formatUnits(42n, 0), "42");
  });
});
