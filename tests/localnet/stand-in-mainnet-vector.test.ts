import { strict as assert } from "node:assert";
import { PublicKey } from "@solana/web3.js";
import { MAINNET, POSITION_ACCOUNT_SIZE, PROGRAM_IDS, encodeAccount } from "../../programs-client";
import { setOraclePrices } from "../../localnet/fixtures/load";
import { DEFAULT_PRICES_USD } from "../../localnet/fixtures/params";
import { eventOf, readCustody, standInWorld } from "./stand-in-model";

const { SOL } = MAINNET.custodies;

/**
 * A real mainnet DecreasePositionEvent: the full close of a $3,285.36 SOL long in transaction
 * 3MnCnWjL83RBYGe8ADwhxFHTvbXmDEPyi2mxHQ2211kmQ4NAqBFvhjPexgiCy8o6mGPztnZwjbcxRi4WMGZDeah8, decoded from
 * rpcpool/yellowstone-vixen @f3207ee3d215858b7262eabd171e31894cf1cc3e
 * tests/proc-macro/fixtures/3MnCnWjL83RBYGe8ADwhxFHTvbXmDEPyi2mxHQ2211kmQ4NAqBFvhjPexgiCy8o6mGPztnZwjbcxRi4WMGZDeah8_tx.json
 * (inner instruction e445a52e51cb9a1d 409c2b4a6d83107f ..., 383 bytes, read with the public IDL's layout).
 * transferToken is left out: that close was a TP/SL whose payout was priced off its trigger price.
 */
const MAINNET_CLOSE = {
  entryPrice: 84_500_000n, // positionPrice
  price: 84_650_000n,
  sizeUsdDelta: 3_285_360_000n,
  originalPositionCollateralUsd: 82_192_851n,
  positionOpenTime: 1_770_648_474n,
  // what the program charged
  hasProfit: true,
  pnlDelta: 5_832_000n,
  positionFeeUsd: 2_299_752n,
  priceImpactFeeUsd: 328_536n,
  fundingFeeUsd: 23_826n,
  feeUsd: 2_323_578n,
  transferAmountUsd: 85_701_273n,
  positionCollateralUsd: 0n,
  positionSizeUsd: 0n,
};
/** Borrow-rate growth since the position's snapshot that gives its fundingFeeUsd: divCeil(7,252 x 3,285.36e6, 1e9) = 23,826. */
const RATE_SINCE_SNAPSHOT = 7_252n;

describe("stand-in perps program: reproduces a real mainnet DecreasePositionEvent's amounts", function () {
  this.timeout(60_000);
  let t: Awaited<ReturnType<typeof standInWorld>>;
  let oracleTimer: NodeJS.Timeout | undefined;
  before(async () => {
    t = await standInWorld();
  });
  after(async () => {
    clearInterval(oracleTimer);
    await t.world.close();
  });

  it("the same position closed at the same price pays the same fee, impact, borrow, PnL and transfer", async () => {
    const { world, wallet } = t;
    // The mainnet position, as this wallet's SOL long; SOL at the close's price, kept fresh.
    world.prices.stop();
    const prices = { ...DEFAULT_PRICES_USD, SOL: Number(MAINNET_CLOSE.price) / 1e6 };
    setOraclePrices(world.chain, prices);
    oracleTimer = setInterval(() => setOraclePrices(world.chain, prices), 300);
    // Freeze the custody's borrow counter (lastUpdate ahead of the clock), so the position owes exactly the vector's borrow.
    const custody = await readCustody(t.connection, SOL.custody);
    custody.fundingRateState.lastUpdate = world.chain.nowSec() + 86_400n;
    const custodyAccount = world.chain.getAccount(SOL.custody)!;
    world.chain.setAccount(SOL.custody, { ...custodyAccount, data: encodeAccount("Custody", custody, custodyAccount.data.length) });
    const seeds = [Buffer.from("position"), wallet.publicKey.toBuffer(), MAINNET.pool.toBuffer(), SOL.custody.toBuffer(), SOL.custody.toBuffer(), Buffer.from([1])];
    const [position, bump] = PublicKey.findProgramAddressSync(seeds, PROGRAM_IDS.perpetuals);
    world.chain.setAccount(position, {
      owner: PROGRAM_IDS.perpetuals,
      lamports: 10_000_000,
      data: encodeAccount(
        "Position",
        {
          owner: wallet.publicKey,
          pool: MAINNET.pool,
          custody: SOL.custody,
          collateralCustody: SOL.custody,
          openTime: MAINNET_CLOSE.positionOpenTime,
          updateTime: MAINNET_CLOSE.positionOpenTime,
          side: "long",
          price: MAINNET_CLOSE.entryPrice,
          sizeUsd: MAINNET_CLOSE.sizeUsdDelta,
          collateralUsd: MAINNET_CLOSE.originalPositionCollateralUsd,
          realisedPnlUsd: 0n,
          cumulativeInterestSnapshot: custody.fundingRateState.cumulativeInterestRate - RATE_SINCE_SNAPSHOT,
          lockedAmount: 0n,
          bump,
        },
        POSITION_ACCOUNT_SIZE,
      ),
    });

    const close = t.decrease("long", 0n, 0n, true);
    assert.ok(close.position.equals(position));
    const outcome = await t.fill(close);
    assert.equal(outcome.result, "filled", `error ${outcome.errorCode}`);
    const e = await eventOf(t.connection, outcome.signature!, "DecreasePositionEvent");
    const { entryPrice, ...expected } = MAINNET_CLOSE;
    const got = Object.fromEntries(Object.keys(expected).map((k) => [k, e[k]]));
    assert.deepEqual(got, expected);
    assert.equal(e.positionPrice, entryPrice);
  });
});
