import { strict as assert } from "node:assert";
import { parseDecimalUnits } from "../../keeper/lib/decimal-units";

describe("parseDecimalUnits: decimal text to exact base units", () => {
  const cases: [string, number, bigint | RegExp][] = [
    ["1", 9, 1_000_000_000n],
    ["0.1", 9, 100_000_000n], // 0.1 * 1e9 in floating point is 100000000.00000001
    ["2.000000001", 9, 2_000_000_001n],
    ["1000.25", 6, 1_000_250_000n],
    [" 7.5 ", 6, 7_500_000n],
    ["123456789012345678901234567890", 9, 123456789012345678901234567890_000_000_000n],
    ["0.000001", 6, 1n],
    ["0.0000001", 6, /has 7 decimals; the token has 6/],
    ["0", 9, /must be more than 0/],
    ["0.000", 9, /must be more than 0/],
    ["-1", 9, /is not a positive decimal/],
    ["NaN", 9, /is not a positive decimal/],
    ["Infinity", 9, /is not a positive decimal/],
    ["1e3", 9, /is not a positive decimal/],
    [".5", 9, /is not a positive decimal/],
    ["5.", 9, /is not a positive decimal/],
    ["1,5", 9, /is not a positive decimal/],
    ["0x10", 9, /is not a positive decimal/],
    ["", 9, /is not a positive decimal/],
  ];
  for (const [text, decimals, want] of cases) {
    it(`${JSON.stringify(text)} at ${decimals} decimals: ${typeof want === "bigint" ? want : want.source}`, () => {
      const got = parseDecimalUnits(text, decimals);
      if (typeof want === "bigint") assert.equal(got, want);
      else {
        assert.equal(typeof got, "object");
        assert.match((got as { error: string }).error, want);
      }
    });
  }
});
