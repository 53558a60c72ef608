import { strict as assert } from "node:assert";
import { MAINNET } from "../../programs-client";
import { eventOf, readCustody, standInWorld } from "./stand-in-model";

const { SOL } = MAINNET.custodies;
const USD = 1_000_000n;

/**
 * The imbalance part of the price-impact fee (julianfssen/jupiter-perps-anchor-idl-parsing
 * src/examples/price-impact-fee.ts getAdditivePriceImpactFeeBps): SOL's custody with its threshold lowered to $100
 * (mainnet's is $1.5M) so that small trades cross it. Base 6 bps, linear 1 bps (ceil), feeFactor 1, exponent 1:
 *   add = ceil(|60-s flow| / $100); fee = divCeil(amount x min(6 + 1 + add, maxFeeBps), 1e4); impact = fee - floor(amount x 6 / 1e4)
 */
const STEPS: { what: string; change: "increase" | "decrease"; sizeUsd: bigint; maxFeeBps?: bigint; travelSec?: number; flowUsd: bigint; feeBps: bigint }[] = [
  { what: "first $1000 into an empty window: flow $1000, 6 + 1 + 10 bps", change: "increase", sizeUsd: 1000n, flowUsd: 1000n, feeBps: 17n },
  { what: "another $1000 in the same minute: flow $2000, 6 + 1 + 20", change: "increase", sizeUsd: 1000n, flowUsd: 2000n, feeBps: 27n },
  { what: "a $500 decrease counts against it: flow $1500, 6 + 1 + 15", change: "decrease", sizeUsd: 500n, flowUsd: 1500n, feeBps: 22n },
  { what: "maxFeeBps 20 caps base + linear + imbalance: flow $2500, 32 capped to 20", change: "increase", sizeUsd: 1000n, maxFeeBps: 20n, flowUsd: 2500n, feeBps: 20n },
  { what: "a minute later the window has emptied: flow $1000, 17 bps", change: "increase", sizeUsd: 1000n, travelSec: 61, flowUsd: 1000n, feeBps: 17n },
];

describe("stand-in perps program: the price-impact fee's imbalance part over the 60-s open-interest window, with its cap", function () {
  this.timeout(60_000);
  let t: Awaited<ReturnType<typeof standInWorld>>;
  before(async () => {
    t = await standInWorld();
    await t.setParams({ custody: SOL.custody.toBase58(), deltaImbalanceThresholdDecimal: String(100n * USD) });
  });
  after(async () => t.world.close());

  for (const step of STEPS) {
    it(step.what, async () => {
      if (step.maxFeeBps !== undefined) await t.setParams({ custody: SOL.custody.toBase58(), maxFeeBps: String(step.maxFeeBps) });
      if (step.travelSec !== undefined) await t.travel(step.travelSec);
      const amount = step.sizeUsd * USD;
      const req = step.change === "increase" ? t.increase("short", amount, 100n * USD) : t.decrease("short", amount, 0n);
      const outcome = await t.fill(req);
      assert.equal(outcome.result, "filled", `error ${outcome.errorCode}`);
      const event = await eventOf(t.connection, outcome.signature!, step.change === "increase" ? "IncreasePositionEvent" : "DecreasePositionEvent");
      const fee = (amount * step.feeBps + 9_999n) / 10_000n;
      assert.equal(event.positionFeeUsd, fee);
      assert.equal(event.priceImpactFeeUsd, fee - (amount * 6n) / 10_000n);
      const buffer = (await readCustody(t.connection, SOL.custody)).priceImpactBuffer;
      assert.equal(
        buffer.openInterest.reduce((a, b) => a + b, 0n),
        step.flowUsd * USD,
        "the custody's 60 buckets hold the minute's signed flow",
      );
    });
  }
});
