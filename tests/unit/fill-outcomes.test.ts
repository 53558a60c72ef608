import { strict as assert } from "node:assert";
import { BorshCoder } from "@coral-xyz/anchor";
import { Keypair, PublicKey } from "@solana/web3.js";
import { EVENT_IX_TAG, MAINNET, type PerpsEvent, decodeEventInstruction } from "../../programs-client";
import { toAnchor } from "../../programs-client/convert";
import { PERPETUALS_IDL } from "../../programs-client/idl";
import { closedBehindOurBack, readFill, readLiquidation, seenPosition } from "../../keeper/mandate/chain-outcomes";
import { type JournalRecord, restoreState } from "../../keeper/mandate/records";
import { buildReport, formatReport } from "../../keeper/app/report";
import { fillFromEvents, slippageBps } from "../../keeper/market/fill-report";
import type { TransactionHistory } from "../../keeper/market/transaction-history";

const types = new BorshCoder(PERPETUALS_IDL).types;
const key = () => Keypair.generate().publicKey;
const { SOL, USDC } = MAINNET.custodies;

/** An event as the program emits it (tag + discriminator + Borsh), decoded back through the keeper's decoder. */
function emitted(name: string, fields: Record<string, unknown>): PerpsEvent {
  const disc = Buffer.from(PERPETUALS_IDL.events!.find((e) => e.name === name)!.discriminator);
  const bytes = Buffer.concat([EVENT_IX_TAG, disc, types.encode(name, toAnchor(PERPETUALS_IDL, { defined: { name } }, fields))]);
  return decodeEventInstruction(bytes)!;
}

function decreaseEvent(request: PublicKey, position: PublicKey) {
  return emitted("DecreasePositionEvent", {
    positionKey: position, positionSide: 2, positionCustody: SOL.custody, positionCollateralCustody: USDC.custody,
    positionSizeUsd: 2_000_000_000n, positionMint: SOL.mint, positionRequestKey: request, positionRequestMint: USDC.mint,
    positionRequestChange: 2, positionRequestType: 0, hasProfit: false, pnlDelta: 1_500_000n, owner: key(), pool: MAINNET.pool,
    sizeUsdDelta: 1_000_000_000n, transferAmountUsd: 98_000_000n, transferToken: 98_000_000n, price: 150_250_000n,
    priceSlippage: 160_000_000n, feeUsd: 770_000n, openTime: 1_777_275_000n, referral: null, positionFeeUsd: 700_000n,
    fundingFeeUsd: 70_000n, priceImpactFeeUsd: 100_000n, originalPositionCollateralUsd: 300_000_000n,
    positionCollateralUsd: 200_000_000n, positionOpenTime: 1_777_000_000n, positionPrice: 150_000_000n,
  });
}

function liquidationEvent(position: PublicKey, positionOpenTime = 1_777_000_000n, positionSizeUsd = 5_000_000_000n) {
  return emitted("LiquidateFullPositionEvent", {
    positionKey: position, positionSide: 1, positionCustody: SOL.custody, positionCollateralCustody: SOL.custody,
    positionCollateralMint: SOL.mint, positionMint: SOL.mint, positionSizeUsd, hasProfit: false,
    pnlDelta: 490_000_000n, owner: key(), pool: MAINNET.pool, transferAmountUsd: 0n, transferToken: 0n, price: 135_300_000n,
    feeUsd: 4_000_000n, liquidationFeeUsd: 1_000_000n, openTime: 1_777_275_000n, positionFeeUsd: 3_000_000n,
    fundingFeeUsd: 1_000_000n, priceImpactFeeUsd: 500_000n, originalPositionCollateralUsd: 500_000_000n,
    positionCollateralUsd: 0n, positionOpenTime, positionPrice: 150_000_000n,
  });
}

/** Transaction history in memory, newest signature first, as getSignaturesForAddress answers. */
class MemoryHistory implements TransactionHistory {
  readonly byAddress = new Map<string, string[]>();
  readonly events_ = new Map<string, PerpsEvent[] | null>();
  calls = 0;
  fail: Error | null = null;
  add(address: PublicKey, signature: string, events: PerpsEvent[] | null) {
    this.byAddress.set(address.toBase58(), [signature, ...(this.byAddress.get(address.toBase58()) ?? [])]);
    this.events_.set(signature, events);
  }
  async signaturesFor(address: PublicKey, limit: number) {
    this.calls++;
    if (this.fail) throw this.fail;
    return (this.byAddress.get(address.toBase58()) ?? []).slice(0, limit);
  }
  async events(signature: string) {
    return this.events_.get(signature) ?? null;
  }
}

const noSleep = { sleep: async () => {} };

function intentFor(request: PublicKey, position: PublicKey, expected: bigint | undefined): JournalRecord & { t: "intent" } {
  return {
    t: "intent", id: "m-SOL-1", mandate: "m", market: "SOL", counter: "1",
    order: { kind: "decrease", side: "short", sizeUsdDelta6: 1_000_000_000n, collateralUsdDelta6: 0n, priceSlippageUsd6: 160_000_000n, entirePosition: false, deltaTokens: 6.66 } as never,
    request: request.toBase58(), position: position.toBase58(), sizeBeforeUsd6: "3000000000", createdSec: 1_777_275_300, createdMs: 1_777_275_300_000,
    estimatedFeeUsd6: "600000", ...(expected === undefined ? {} : { expectedPriceUsd6: expected.toString() }),
  };
}

describe("fills and liquidations read from the program's events", () => {
  const request = key();
  const position = key();

  it("a fill is the Increase/DecreasePositionEvent of that request: price, fees and borrow as charged", () => {
    const other = decreaseEvent(key(), position);
    const mine = decreaseEvent(request, position);
    assert.equal(fillFromEvents([other], request, "s"), null, "another request's event is not our fill");
    assert.deepEqual(fillFromEvents([other, mine], request, "sig1"), {
      source: "event", signature: "sig1", priceUsd6: 150_250_000n, sizeUsdDelta6: 1_000_000_000n,
      positionFeeUsd6: 700_000n, priceImpactFeeUsd6: 100_000n, borrowFeeUsd6: 70_000n,
    });
  });

  it("slippage is signed by side: positive when the fill was worse for the wallet", () => {
    const table: [side: "long" | "short", kind: "increase" | "decrease", expected: bigint, fill: bigint, bps: number][] = [
      ["long", "increase", 100_000_000n, 100_100_000n, 10], // bought higher: worse
      ["long", "decrease", 100_000_000n, 100_100_000n, -10], // sold higher: better
      ["short", "increase", 100_000_000n, 99_900_000n, 10], // sold lower: worse
      ["short", "decrease", 100_000_000n, 99_900_000n, -10], // bought back lower: better
      ["long", "increase", 0n, 1n, 0],
    ];
    for (const [side, kind, expected, fill, bps] of table) assert.ok(Math.abs(slippageBps(side, kind, expected, fill) - bps) < 1e-9, `${side} ${kind}`);
  });

  it("readFill skips the keeper's own request transaction, waits for the fill to be indexed, then books the event", async () => {
    const h = new MemoryHistory();
    const intent = intentFor(request, position, 150_000_000n);
    h.add(request, "create", []);
    h.add(request, "fill", null); // listed, not yet served
    const open = { intent, sent: { t: "sent" as const, id: intent.id, signature: "create", txBase64: "", lastValidBlockHeight: 0 }, landedSlot: 1 };
    setTimeout(() => h.events_.set("fill", [decreaseEvent(request, position)]), 0);
    const { fill, fallbackReason } = await readFill(h, open, -1_000_000_000n, { limit: 10, attempts: 3, retryMs: 5 });
    assert.equal(fallbackReason, null);
    assert.equal(fill.signature, "fill");
    assert.equal(fill.priceUsd6, 150_250_000n);
  });

  it("without history, a fill is booked from the account diff with the estimated fee and says why", async () => {
    const h = new MemoryHistory();
    h.fail = new Error("method not found: getSignaturesForAddress");
    const open = { intent: intentFor(request, position, 150_000_000n), sent: null, landedSlot: 1 };
    const { fill, fallbackReason } = await readFill(h, open, -1_000_000_000n, { limit: 10, attempts: 3, retryMs: 0, ...noSleep });
    assert.deepEqual(fill, { source: "account", signature: null, priceUsd6: null, sizeUsdDelta6: 1_000_000_000n, positionFeeUsd6: 600_000n, priceImpactFeeUsd6: 0n, borrowFeeUsd6: 0n });
    assert.match(fallbackReason!, /history unavailable: method not found/);
    const empty = await readFill(new MemoryHistory(), open, 5n, { limit: 10, attempts: 2, retryMs: 0, ...noSleep });
    assert.match(empty.fallbackReason!, /no fill event for request .* in its last 10 transactions/);
  });

  it("the journal keeps the fill; restore and the report show price, slippage, fees and borrow from the event", () => {
    const intent = intentFor(request, position, 150_000_000n);
    const fill = { source: "event" as const, signature: "fill", priceUsd6: "150250000", sizeUsdDelta6: "1000000000", positionFeeUsd6: "700000", priceImpactFeeUsd6: "100000", borrowFeeUsd6: "70000" };
    const records: JournalRecord[] = [
      intent,
      { t: "outcome", id: intent.id, result: "filled", detail: "", atSec: 1_777_275_310, feeUsd6: "700000", fill },
      { t: "liquidated", mandate: "m", market: "SOL", position: position.toBase58(), side: "long", sizeUsd6: "5000000000", collateralUsd6: "500000000", priceUsd6: "135300000", feeUsd6: "4000000", signature: "liq", atSec: 1_777_275_400 },
    ];
    const state = restoreState(records, "m");
    assert.equal(state.lastFill.get("SOL")?.fill.priceUsd6, "150250000");
    assert.equal(state.feesByDayUsd6.get(Math.floor(1_777_275_310 / 86_400)), 700_000n, "the daily fee budget counts the program's fee");
    const deposit = { ...intent, id: "m-SOL-2", purpose: "collateral" as const, order: { kind: "increase", side: "short", sizeUsdDelta6: 0n, collateralUsd6: 250_000_000n, collateralTokenAmount: 250_000_000n, collateralToken: "usdc", priceSlippageUsd6: 140_000_000n, deltaTokens: 0 } as never };
    records.push(deposit, { t: "outcome", id: "m-SOL-2", result: "filled", detail: "", atSec: 1_777_275_320, feeUsd6: "0" });
    const sample = (minLiquidationSigmas: number, maxEffectiveLeverage: number) => ({
      t: "sample" as const, mandate: "m", market: "SOL" as const, fromMs: 0, toMs: 10_000, absNetDeltaTokenMs: 0, outsideBandMs: 0,
      pnl: { gammaUsd: 0, thetaUsd: 0, deltaUsd: 0, borrowUsd: 0 }, feesUsd: 0, fills: 0, minLiquidationSigmas, maxEffectiveLeverage,
    });
    const report = buildReport(records, [sample(4.2, 3.1), sample(2.5, 6.4)], "m", 0);
    assert.equal(report.markets[0]!.minLiquidationSigmas, 2.5, "the closest approach to liquidation");
    assert.equal(report.markets[0]!.maxEffectiveLeverage, 6.4);
    assert.equal(report.markets[0]!.collateralDepositedUsd, 250);
    assert.equal(report.trades[1]!.order, "deposit short collateral");
    const t = report.trades[0]!;
    assert.equal(t.fillPriceUsd, 150.25);
    assert.equal(t.expectedPriceUsd, 150);
    // Buying back a short 0.25 above the decision's price: 16.67 bps worse.
    assert.ok(Math.abs(t.slippageBps - 16.6667) < 1e-3, String(t.slippageBps));
    assert.equal(t.feeSource, "event");
    assert.equal(t.borrowSettledUsd, 0.07);
    assert.equal(report.markets[0]!.liquidations, 1);
    assert.equal(report.liquidations[0]!.collateralLostUsd, 500);
    assert.ok(formatReport(report).some((l) => l.includes("1 liquidations")));
  });

  it("a position read by address with size 0, or reopened, without a closing request of ours is a liquidation; a bad read is not", async () => {
    const a = key().toBase58();
    const b = key().toBase58();
    const c = key().toBase58();
    const life = (sizeUsd: bigint, openTime = 1_777_000_000n) => ({ side: "long" as const, sizeUsd, collateralUsd: 500_000_000n, openTime });
    const before = new Map([a, b, c].map((x) => [x, seenPosition(x, "SOL", life(5_000_000_000n))]));
    const reads = (entries: [string, ReturnType<typeof life> | null][]) => new Map(entries);
    assert.deepEqual(closedBehindOurBack(before, reads([[a, life(5_000_000_000n)], [b, life(5_000_000_000n)], [c, life(5_000_000_000n)]]), new Set()), [], "nothing closed");
    assert.deepEqual(closedBehindOurBack(before, reads([[a, null], [b, null]]), new Set()), [], "absent or unread: a bad read, never a close");
    const closed = closedBehindOurBack(before, reads([[a, life(0n)], [b, life(0n)], [c, life(2_000_000_000n, 1_777_000_500n)]]), new Set([b]));
    assert.deepEqual(closed.map((p) => p.address), [a, c], "a emptied, c reopened in between; b emptied by our own close");

    // The event of this life of the position, not an older liquidation of the same address.
    const position = new PublicKey(a);
    const h = new MemoryHistory();
    h.add(position, "old", [liquidationEvent(position, 1_776_000_000n, 9_000_000_000n)]);
    h.add(position, "liq", [liquidationEvent(position)]);
    h.add(position, "later", []);
    const seen = seenPosition(a, "SOL", life(5_000_000_000n, 1_777_000_000n));
    const { liquidation, error } = await readLiquidation(h, seen, { limit: 5, attempts: 1, retryMs: 0 });
    assert.equal(error, null);
    assert.deepEqual(liquidation, { signature: "liq", priceUsd6: 135_300_000n, sizeUsd6: 5_000_000_000n, collateralUsd6: 500_000_000n, feeUsd6: 4_000_000n, liquidationFeeUsd6: 1_000_000n, positionOpenTime: 1_777_000_000n });
    const older = await readLiquidation(new MemoryHistory(), seen, { limit: 5, attempts: 1, retryMs: 0 });
    assert.equal(older.liquidation, null);
    const onlyOld = new MemoryHistory();
    onlyOld.add(position, "old", [liquidationEvent(position, 1_776_000_000n, 9_000_000_000n)]);
    assert.equal((await readLiquidation(onlyOld, seen, { limit: 5, attempts: 1, retryMs: 0 })).liquidation, null, "an earlier life's liquidation is not this one");
  });
});
