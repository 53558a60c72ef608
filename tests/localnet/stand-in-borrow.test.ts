import { strict as assert } from "node:assert";
import type { PublicKey } from "@solana/web3.js";
import { MAINNET } from "../../programs-client";
import { borrowFeeUsd, cumulativeInterestAt, eventOf, hourlyBorrowRate, readCustody, readPosition, standInWorld } from "./stand-in-model";

const { SOL } = MAINNET.custodies;
const USD = 1_000_000n;
const SOL_UNIT = 1_000_000_000n;
const HOUR = 3600;

describe("stand-in perps program: borrow accrues on the custody's jump-rate curve and fills settle it", function () {
  this.timeout(60_000);
  let t: Awaited<ReturnType<typeof standInWorld>>;
  let position: PublicKey;
  before(async () => {
    t = await standInWorld();
  });
  after(async () => t.world.close());

  it("locks a long's size in SOL, accrues 10 time-travelled hours at the curve's rate, and the next fill settles exactly that out of collateral", async () => {
    const fixture = await readCustody(t.connection, SOL.custody);
    // Nothing locked yet: utilisation 0, so the curve's minimum, 1000 bps: floor(floor(1000 x 1e9 / 1e4) / 8760).
    assert.equal(hourlyBorrowRate(fixture), 11_415n);
    const open = t.increase("long", 1500n * USD, SOL_UNIT);
    assert.equal((await t.fill(open)).result, "filled");
    const c0 = await readCustody(t.connection, SOL.custody);
    assert.equal(c0.fundingRateState.cumulativeInterestRate, cumulativeInterestAt(fixture, c0.fundingRateState.lastUpdate), "the open accrued the months since the fixture's lastUpdate at that rate");
    position = open.position;
    const p0 = await readPosition(t.connection, position);
    // $1500 at $150 locks 10 SOL; the fixtures start with nothing locked.
    assert.equal(p0.lockedAmount, 10n * SOL_UNIT);
    assert.equal(c0.assets.locked, 10n * SOL_UNIT);
    assert.equal(p0.cumulativeInterestSnapshot, c0.fundingRateState.cumulativeInterestRate);
    // util = floor(10e9 x 1e9 / 4,971,666,500,441,095) = 2011; yearly = divCeil((3500 - 1000) x 2011, 8e8) + 1000 = 1001 bps;
    // hourly = floor(floor(1001 x 1e9 / 1e4) / 8760) = 11,426 (1e9 = 100 %).
    assert.equal(hourlyBorrowRate(c0), 11_426n);

    await t.travel(10 * HOUR);
    const add = t.increase("long", 100n * USD, SOL_UNIT / 10n);
    const filled = await t.fill(add);
    assert.equal(filled.result, "filled");
    const c1 = await readCustody(t.connection, SOL.custody);
    const p1 = await readPosition(t.connection, position);
    const at = c1.fundingRateState.lastUpdate;
    assert.ok(at >= c0.fundingRateState.lastUpdate + BigInt(10 * HOUR), "the fill touched the custody after the travel");
    assert.equal(c1.fundingRateState.cumulativeInterestRate, cumulativeInterestAt(c0, at), "custody counter advanced by divCeil(hourly x dt, 3600)");
    const borrow = borrowFeeUsd(1500n * USD, c1.fundingRateState.cumulativeInterestRate, p0.cumulativeInterestSnapshot);
    assert.ok(borrow > 170_000n && borrow < 175_000n, `about 10 h x 11,426e-9 x $1500 = $0.171, got ${borrow}`);
    const event = await eventOf(t.connection, filled.signature!, "IncreasePositionEvent");
    assert.equal(event.fundingFeeUsd, borrow);
    assert.equal(event.positionFeeUsd, 70_000n); // $100 x 7 bps
    assert.equal(event.feeUsd, 70_000n + borrow);
    // Settled out of collateral: + 0.1 SOL ($15) - fee - borrow; the snapshot restarts at the custody's counter.
    assert.equal(p1.collateralUsd, p0.collateralUsd + 15n * USD - 70_000n - borrow);
    assert.equal(p1.cumulativeInterestSnapshot, c1.fundingRateState.cumulativeInterestRate);
    assert.equal(c1.assets.locked, 10n * SOL_UNIT + (100n * USD * SOL_UNIT) / (150n * USD));
  });

  it("a close settles the borrow since the last fill on the whole size and releases the locked SOL", async () => {
    const c1 = await readCustody(t.connection, SOL.custody);
    const p1 = await readPosition(t.connection, position);
    await t.travel(3 * HOUR);
    const close = t.decrease("long", 0n, 0n, true);
    const filled = await t.fill(close);
    assert.equal(filled.result, "filled");
    const c2 = await readCustody(t.connection, SOL.custody);
    assert.equal(c2.fundingRateState.cumulativeInterestRate, cumulativeInterestAt(c1, c2.fundingRateState.lastUpdate));
    const event = await eventOf(t.connection, filled.signature!, "DecreasePositionEvent");
    assert.equal(event.fundingFeeUsd, borrowFeeUsd(1600n * USD, c2.fundingRateState.cumulativeInterestRate, p1.cumulativeInterestSnapshot));
    assert.equal(event.transferAmountUsd, p1.collateralUsd - (event.feeUsd as bigint));
    assert.equal(c2.assets.locked, 0n);
    assert.equal((await readPosition(t.connection, close.position)).lockedAmount, 0n);
  });
});
