import { strict as assert } from "node:assert";
import { bookGreeks, type OptionLeg } from "../../keeper/exposure/options-book";
import { sharedBookGreeks } from "../../keeper/exposure/shared-greeks";

const NOW = 1_760_000_000;
const book = (quantity: number): OptionLeg[] => [
  { underlying: "SOL", kind: "call", strike: 150, expirySec: NOW + 30 * 86_400, quantity, impliedVol: 0.6 },
  { underlying: "SOL", kind: "put", strike: 140, expirySec: NOW + 60 * 86_400, quantity: -2, impliedVol: 0.7 },
  { underlying: "ETH", kind: "call", strike: 4000, expirySec: NOW + 30 * 86_400, quantity: 1, impliedVol: 0.5 },
];

describe("greeks shared among mandates holding the same book", () => {
  const cases: { name: string; other: OptionLeg[]; market: "SOL" | "ETH"; spot: number; now: number; shared: boolean }[] = [
    { name: "the same legs in another array, same price and second", other: book(3), market: "SOL", spot: 151.25, now: NOW, shared: true },
    { name: "another quantity", other: book(4), market: "SOL", spot: 151.25, now: NOW, shared: false },
    { name: "another price", other: book(3), market: "SOL", spot: 151.26, now: NOW, shared: false },
    { name: "another second", other: book(3), market: "SOL", spot: 151.25, now: NOW + 1, shared: false },
    { name: "another market", other: book(3), market: "ETH", spot: 151.25, now: NOW, shared: false },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.shared ? "one valuation" : "its own valuation"}, equal to bookGreeks`, () => {
      const first = sharedBookGreeks(book(3), "SOL", 151.25, NOW);
      const second = sharedBookGreeks(c.other, c.market, c.spot, c.now);
      assert.deepEqual(first, bookGreeks(book(3), "SOL", 151.25, NOW));
      assert.deepEqual(second, bookGreeks(c.other, c.market, c.spot, c.now));
      assert.equal(first === second, c.shared);
      assert.ok(Object.isFrozen(second), "a shared valuation cannot be changed by one mandate under another");
    });
  }
});
