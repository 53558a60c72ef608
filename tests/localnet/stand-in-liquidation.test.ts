import { strict as assert } from "node:assert";
import { ComputeBudgetProgram, type Keypair, type PublicKey, SendTransactionError, Transaction, sendAndConfirmTransaction } from "@solana/web3.js";
import { MAINNET, customErrorCode, liquidateFullPosition4 } from "../../programs-client";
import type { LiquidationOutcome } from "../../localnet/fill-keeper/fill-keeper";
import { loadFillKeeper } from "../../localnet/fill-keeper/key";
import { setOraclePrices } from "../../localnet/fixtures/load";
import { DEFAULT_PRICES_USD } from "../../localnet/fixtures/params";
import { fundedKeypair } from "../helpers/localnet";
import { borrowFeeUsd, eventOf, perpsUnits, readCustody, readPosition, standInWorld } from "./stand-in-model";

const { SOL } = MAINNET.custodies;
const USD = 1_000_000n;
const SOL_UNIT = 1_000_000_000n;
const solOracles = { custody: SOL.custody, dovesPriceAccount: SOL.dovesAg, pythnetPriceAccount: SOL.pythPriceUpdate };

describe("stand-in perps program: liquidateFullPosition4, and the fill keeper as liquidator", function () {
  this.timeout(60_000);
  let t: Awaited<ReturnType<typeof standInWorld>>;
  let oracleTimer: NodeJS.Timeout | undefined;
  let position: PublicKey;
  const liquidation = (signer: Keypair, target: PublicKey) =>
    sendAndConfirmTransaction(
      t.connection,
      new Transaction().add(
        ComputeBudgetProgram.setComputeUnitLimit({ units: 400_000 }),
        liquidateFullPosition4({ signer: signer.publicKey, pool: MAINNET.pool, position: target, custody: solOracles, collateralCustody: { ...solOracles, tokenAccount: SOL.tokenAccount } }),
      ),
      [signer],
    );
  const failsWith = (code: number) => (e: unknown) => e instanceof SendTransactionError && customErrorCode(null, e.logs) === code;

  before(async () => {
    t = await standInWorld({ liquidate: false });
  });
  after(async () => {
    clearInterval(oracleTimer);
    await t.world.close();
  });

  // $15,000 long on 0.5 SOL ($75): 7 bps open fee leaves $64.50. Maintenance: $15,000 / 500 = $30 plus the close
  // fee floor($15,000 x 7 bps) = $10.50 and the borrow, so it liquidates once the loss passes about $24 ($149.76).
  it("refuses to liquidate a position that covers its margin (6063), and any signer but a keeper (6034)", async () => {
    const open = t.increase("long", 15_000n * USD, SOL_UNIT / 2n);
    assert.equal((await t.fill(open)).result, "filled");
    position = open.position;
    assert.equal((await readPosition(t.connection, position)).collateralUsd, 64_500_000n);
    await assert.rejects(liquidation(loadFillKeeper(), position), failsWith(6063));
    await assert.rejects(liquidation(await fundedKeypair(t.connection, 1), position), failsWith(6034));
  });

  it("at $149.50 the position is below its margin: a liquidation pause (6027) holds it, then the fill keeper liquidates it and the event says what happened", async () => {
    // The price driver holds SOL at $150; take over the oracles at $149.50 (the others unchanged, all kept fresh).
    t.world.prices.stop();
    const prices = { ...DEFAULT_PRICES_USD, SOL: 149.5 };
    setOraclePrices(t.world.chain, prices);
    oracleTimer = setInterval(() => setOraclePrices(t.world.chain, prices), 300);
    await t.setParams({ custody: SOL.custody.toBase58(), permissions: { allowLiquidatePosition: false } });
    await assert.rejects(liquidation(loadFillKeeper(), position), failsWith(6027));
    await t.setParams({ custody: SOL.custody.toBase58(), permissions: { allowLiquidatePosition: true } });

    const before = await readPosition(t.connection, position);
    const done = new Promise<LiquidationOutcome>((resolve) => t.world.fills!.once("liquidation", resolve));
    t.world.fills!.setKnobs({ liquidate: true });
    const liquidated = await done;
    assert.ok(liquidated.position.equals(position));
    const after = await readPosition(t.connection, position);
    assert.deepEqual([after.sizeUsd, after.collateralUsd, after.lockedAmount], [0n, 0n, 0n]);
    const custody = await readCustody(t.connection, SOL.custody);
    assert.equal(custody.assets.locked, 0n, "the locked SOL is released");
    const borrow = borrowFeeUsd(15_000n * USD, custody.fundingRateState.cumulativeInterestRate, before.cumulativeInterestSnapshot);
    const event = await eventOf(t.connection, liquidated.signature, "LiquidateFullPositionEvent");
    const tx = await t.connection.getTransaction(liquidated.signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    const units = perpsUnits(tx!.meta!.logMessages!);
    console.log(`      liquidateFullPosition4 with its event CPI: ${units} compute units`);
    assert.ok(units < 100_000, `a liquidation takes ${units} CU`);
    assert.deepEqual(event, {
      positionKey: position.toBase58(),
      positionSide: 1,
      positionCustody: SOL.custody.toBase58(),
      positionCollateralCustody: SOL.custody.toBase58(),
      positionCollateralMint: SOL.mint.toBase58(),
      positionMint: SOL.mint.toBase58(),
      positionSizeUsd: 15_000n * USD,
      hasProfit: false,
      pnlDelta: 50n * USD, // $15,000 x $0.50 / $150
      owner: t.wallet.publicKey.toBase58(),
      pool: MAINNET.pool.toBase58(),
      transferAmountUsd: 0n,
      transferToken: 0n,
      price: 149_500_000n,
      feeUsd: 10_500_000n + borrow,
      liquidationFeeUsd: 0n,
      openTime: event.openTime,
      positionFeeUsd: 10_500_000n,
      fundingFeeUsd: borrow,
      priceImpactFeeUsd: 1_500_000n,
      originalPositionCollateralUsd: 64_500_000n,
      positionCollateralUsd: 0n,
      positionOpenTime: before.openTime,
      positionPrice: 150n * USD,
    });
  });
});
