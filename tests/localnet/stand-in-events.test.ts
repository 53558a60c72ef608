import { strict as assert } from "node:assert";
import { type Keypair, SendTransactionError, Transaction, TransactionInstruction, sendAndConfirmTransaction } from "@solana/web3.js";
import { MAINNET, PROGRAM_IDS, customErrorCode, eventAuthorityPda } from "../../programs-client";
import { fundedKeypair } from "../helpers/localnet";
import { eventsOf, perpsUnits, positionFeeUsd, readCustody, standInWorld } from "./stand-in-model";

const { SOL } = MAINNET.custodies;
const USD = 1_000_000n;
const SOL_UNIT = 1_000_000_000n;

describe("stand-in perps program: mainnet account sizes and emit_cpi events", function () {
  this.timeout(60_000);
  let t: Awaited<ReturnType<typeof standInWorld>>;
  before(async () => {
    t = await standInWorld();
  });
  after(async () => t.world.close());

  it("allocates a PositionRequest 312 bytes and a Position 216, as mainnet (8 + the Rust struct's size_of)", async () => {
    t.world.fills!.setKnobs({ paused: true });
    const req = t.increase("long", 1500n * USD, SOL_UNIT);
    await t.send(req.instruction);
    assert.equal((await t.connection.getAccountInfo(req.positionRequest))!.data.length, 312);
    assert.equal((await t.connection.getAccountInfo(req.position))!.data.length, 216);
    const outcome = new Promise((resolve) => t.world.fills!.once("outcome", resolve));
    t.world.fills!.setKnobs({ paused: false });
    await outcome;
  });

  it("a fill emits IncreasePositionEvent and the close ClosePositionRequestEvent, each a self-CPI signed by the event authority, every field what happened", async () => {
    const custody = await readCustody(t.connection, SOL.custody);
    const req = t.increase("long", 3000n * USD, 2n * SOL_UNIT);
    const outcome = await t.fill(req);
    assert.equal(outcome.result, "filled");
    const events = await eventsOf(t.connection, outcome.signature!);
    assert.deepEqual(
      events.map((e) => e.name),
      ["IncreasePositionEvent", "ClosePositionRequestEvent"],
    );
    for (const e of events) assert.ok(e.authority.equals(eventAuthorityPda()), `${e.name} signed by ${e.authority.toBase58()}`);
    const inc = events[0]!.data;
    // Public fee code: divCeil(3000e6 x (6 + divCeil(3000e6 x 1e4, 3.75e15) = 1) bps, 1e4); impact 1 bps.
    const fee = positionFeeUsd(custody, 6n, 3000n * USD);
    assert.deepEqual([fee.positionFeeUsd, fee.priceImpactFeeUsd], [2_100_000n, 300_000n]);
    const tx = await t.connection.getTransaction(outcome.signature!, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    const fundingFeeUsd = inc.fundingFeeUsd as bigint; // the first fill's $1500 since its open; checked in stand-in-borrow
    assert.deepEqual(inc, {
      positionKey: req.position.toBase58(),
      positionSide: 1,
      positionCustody: SOL.custody.toBase58(),
      positionCollateralCustody: SOL.custody.toBase58(),
      positionSizeUsd: 4500n * USD,
      positionMint: SOL.mint.toBase58(),
      positionRequestKey: req.positionRequest.toBase58(),
      positionRequestMint: SOL.mint.toBase58(),
      positionRequestChange: 1,
      positionRequestType: 0,
      positionRequestCollateralDelta: 2n * SOL_UNIT,
      owner: t.wallet.publicKey.toBase58(),
      pool: MAINNET.pool.toBase58(),
      sizeUsdDelta: 3000n * USD,
      collateralUsdDelta: 300n * USD,
      collateralTokenDelta: 2n * SOL_UNIT,
      price: 150n * USD,
      priceSlippage: 1_000_000_000n,
      feeToken: ((2_100_000n + fundingFeeUsd) * SOL_UNIT) / (150n * USD),
      feeUsd: 2_100_000n + fundingFeeUsd,
      openTime: inc.openTime,
      referral: null,
      positionFeeUsd: 2_100_000n,
      fundingFeeUsd,
      priceImpactFeeUsd: 300_000n,
    });
    assert.ok(Math.abs(Number(inc.openTime as bigint) - tx!.blockTime!) <= 2, `request opened at ${inc.openTime}, filled at ${tx!.blockTime}`);
    assert.deepEqual(events[1]!.data, {
      entirePosition: null,
      executed: true,
      requestChange: 1,
      requestType: 0,
      side: 1,
      positionRequestKey: req.positionRequest.toBase58(),
      owner: t.wallet.publicKey.toBase58(),
      mint: SOL.mint.toBase58(),
      amount: 0n,
      openTime: inc.openTime,
    });
    const units = perpsUnits(tx!.meta!.logMessages!);
    console.log(`      increasePosition4 with its event CPI: ${units} compute units`);
    assert.ok(units < 100_000, `a fill takes ${units} CU, within the fill keeper's 400,000 limit with room`);
  });

  it("a close emits DecreasePositionEvent whose amounts add up as mainnet's do (transfer = collateral + PnL - feeUsd)", async () => {
    const req = t.decrease("long", 0n, 0n, true);
    const outcome = await t.fill(req);
    assert.equal(outcome.result, "filled");
    const [dec, close] = await eventsOf(t.connection, outcome.signature!);
    assert.equal(dec!.name, "DecreasePositionEvent");
    const d = dec!.data;
    assert.equal(d.positionSizeUsd, 0n);
    assert.equal(d.sizeUsdDelta, 4500n * USD);
    assert.equal(d.positionFeeUsd, 3_150_000n); // 4500 x 7 bps
    assert.equal(d.priceImpactFeeUsd, 450_000n);
    assert.equal(d.feeUsd, (d.positionFeeUsd as bigint) + (d.fundingFeeUsd as bigint));
    assert.equal(d.pnlDelta, 0n);
    assert.equal(d.positionCollateralUsd, 0n);
    assert.equal(d.transferAmountUsd, (d.originalPositionCollateralUsd as bigint) - (d.feeUsd as bigint));
    assert.equal(d.transferToken, ((d.transferAmountUsd as bigint) * SOL_UNIT) / (150n * USD));
    assert.equal(d.positionPrice, 150n * USD);
    assert.equal(d.positionRequestChange, 2);
    assert.equal(close!.name, "ClosePositionRequestEvent");
    assert.equal(close!.data.entirePosition, true);
    assert.equal(close!.data.amount, d.transferToken, "the payout passes through the request's token account to the owner");
    const tx = await t.connection.getTransaction(outcome.signature!, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    const units = perpsUnits(tx!.meta!.logMessages!);
    console.log(`      decreasePosition4 with its event CPI: ${units} compute units`);
    assert.ok(units < 100_000, `a close takes ${units} CU`);
  });

  it("refuses an event self-call that its event authority did not sign (2002), or from another account (2006)", async () => {
    const stranger: Keypair = await fundedKeypair(t.connection, 1);
    const forged = Buffer.concat([Buffer.from("e445a52e51cb9a1d", "hex"), Buffer.from("f5715534d6bb9984", "hex"), Buffer.alloc(64)]);
    const attempt = (key: typeof stranger.publicKey, signer: boolean) =>
      sendAndConfirmTransaction(t.connection, new Transaction().add(new TransactionInstruction({ programId: PROGRAM_IDS.perpetuals, keys: [{ pubkey: key, isSigner: signer, isWritable: false }], data: forged })), [stranger]);
    await assert.rejects(attempt(eventAuthorityPda(), false), (e: unknown) => e instanceof SendTransactionError && customErrorCode(null, e.logs) === 2002);
    await assert.rejects(attempt(stranger.publicKey, true), (e: unknown) => e instanceof SendTransactionError && customErrorCode(null, e.logs) === 2006);
  });
});
