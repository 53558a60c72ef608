import { strict as assert } from "node:assert";
import { ComputeBudgetProgram, type Connection, type Keypair, type PublicKey, SendTransactionError, Transaction, type TransactionInstruction, sendAndConfirmTransaction } from "@solana/web3.js";
import { MAINNET, POSITION_ACCOUNT_SIZE, closePositionRequest3, customErrorCode, increasePosition4, createDecreasePositionMarketRequest, createIncreasePositionMarketRequest, decodeAccount } from "../../programs-client";
import { SwapQuoteError, jupiterQuoter } from "../../keeper/execution/swap-quote";
import type { LocalWorld } from "../../localnet/world";
import { fillOutcomeFor, fundedKeypair, perpsWorldWithWallet, rpc, tokenBalance, usdcShortRequest } from "../helpers/localnet";
import { eventOf } from "./stand-in-model";
import { main } from "../../keeper/cli/main";

const { SOL, USDC } = MAINNET.custodies;
const USD = 1_000_000n;

describe("localnet: a short SOL position opened, decreased and closed, and a long funded in USDC, through the stand-in program and the fill keeper", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  let connection: Connection;
  let wallet: Keypair;
  let counter = 0n;
  let borrowPaid = 0n;

  before(async () => {
    ({ world, connection, wallet } = await perpsWorldWithWallet());
  });
  after(async () => world.close());

  const usdc = () => tokenBalance(connection, USDC.mint, wallet.publicKey);
  const position = async (address: PublicKey) => {
    const a = await connection.getAccountInfo(address);
    const p = a && decodeAccount("Position", a.data, a.owner);
    if (!p?.ok) throw new Error(`position ${address.toBase58()} unreadable`);
    return p.value;
  };
  const outcomeFor = (request: PublicKey) => fillOutcomeFor(world, request);
  const send = (ix: TransactionInstruction) =>
    sendAndConfirmTransaction(
      connection,
      new Transaction().add(ComputeBudgetProgram.setComputeUnitLimit({ units: 200_000 }), ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1_000 }), ix),
      [wallet],
    );
  const increase = (sizeUsd: bigint, collateralUsdc: bigint, minPrice: bigint) =>
    usdcShortRequest(wallet.publicKey, { sizeUsd6: sizeUsd, collateralUsdc6: collateralUsdc, minPriceUsd6: minPrice, counter: ++counter });
  const decrease = (sizeUsd: bigint, collateralUsd: bigint, maxPrice: bigint, entire: boolean) =>
    createDecreasePositionMarketRequest({
      owner: wallet.publicKey,
      pool: MAINNET.pool,
      custody: SOL.custody,
      collateralCustody: USDC.custody,
      side: "short",
      desiredMint: USDC.mint,
      collateralUsdDelta: collateralUsd,
      sizeUsdDelta: sizeUsd,
      priceSlippage: maxPrice,
      jupiterMinimumOut: null,
      entirePosition: entire ? true : null,
      counter: ++counter,
    });

  const quoter = () => jupiterQuoter({ basePath: `${world.url}/swap/v1`, timeoutMs: 2_000 });
  const longInUsdc = (sizeUsd: bigint, usdcIn: bigint, jupiterMinimumOut: bigint | null) =>
    createIncreasePositionMarketRequest({
      owner: wallet.publicKey,
      pool: MAINNET.pool,
      custody: SOL.custody,
      collateralCustody: SOL.custody,
      inputMint: USDC.mint,
      side: "long",
      sizeUsdDelta: sizeUsd,
      collateralTokenDelta: usdcIn,
      priceSlippage: 160n * USD,
      jupiterMinimumOut,
      counter: ++counter,
    });

  it("opens: $1000 short at $150 with 100 USDC, fee 6 bps + impact taken from the collateral", async () => {
    const req = increase(1000n * USD, 100n * USD, 140n * USD);
    const filled = outcomeFor(req.positionRequest);
    await send(req.instruction);
    assert.equal(await usdc(), 900n * USD, "collateral moved into the request's token account");
    assert.equal((await filled).result, "filled");
    const p = await position(req.position);
    assert.equal(p.sizeUsd, 1000n * USD);
    assert.equal(p.price, 150n * USD);
    // 100 USDC - divCeil(1000e6 x (6 bps + divCeil(1000e6 x 1e4, 3.75e15) = 1 bps), 1e4) = 0.7; no borrow on a new position
    assert.equal(p.collateralUsd, 99_300_000n);
    assert.equal(p.side, "short");
    assert.equal(await connection.getAccountInfo(req.positionRequest), null, "request closed");
    assert.equal(await connection.getAccountInfo(req.positionRequestAta), null, "request token account closed");
    assert.equal((await connection.getAccountInfo(req.position))!.data.length, POSITION_ACCOUNT_SIZE, "allocated as on mainnet");
  });

  it("`positions --owner` lists the stand-in's mainnet-sized position", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(["positions", "--owner", wallet.publicKey.toBase58(), "--rpc", world.url, "--json"], (l) => out.push(l), (l) => err.push(l));
    assert.equal(code, 0, err.join("\n"));
    const listed = JSON.stringify(JSON.parse(out.join("\n")));
    assert.match(listed, /"side":"short"/);
    assert.match(listed, /"sizeUsd":"1000000000"/);
  });

  it("decreases by $400 and withdraws $30 of collateral, minus the closing fee", async () => {
    const before = await usdc();
    const req = decrease(400n * USD, 30n * USD, 160n * USD, false);
    const filled = outcomeFor(req.positionRequest);
    await send(req.instruction);
    const o = await filled;
    assert.equal(o.result, "filled");
    const p = await position(req.position);
    assert.equal(p.sizeUsd, 600n * USD);
    assert.equal(p.collateralUsd, 69_300_000n);
    // 30 USDC - 400 x 7 bps (6 base + 1 impact: 0.28) - the whole position's borrow since the open (a few usd6 at
    // most; stand-in-borrow.test.ts checks it against the rate); no PnL at an unchanged price
    const event = await eventOf(connection, o.signature!, "DecreasePositionEvent");
    assert.equal(event.positionFeeUsd, 280_000n);
    assert.ok((event.fundingFeeUsd as bigint) < 10n, `borrow ${event.fundingFeeUsd}`);
    assert.equal((await usdc()) - before, 29_720_000n - (event.fundingFeeUsd as bigint));
    borrowPaid += event.fundingFeeUsd as bigint;
    assert.equal(await connection.getAccountInfo(req.positionRequest), null);
  });

  it("closes the entire position and returns the rest of the collateral", async () => {
    const before = await usdc();
    const req = decrease(0n, 0n, 160n * USD, true);
    const filled = outcomeFor(req.positionRequest);
    await send(req.instruction);
    const o = await filled;
    assert.equal(o.result, "filled");
    const p = await position(req.position);
    assert.equal(p.sizeUsd, 0n);
    assert.equal(p.collateralUsd, 0n);
    const event = await eventOf(connection, o.signature!, "DecreasePositionEvent");
    assert.equal(event.positionFeeUsd, 420_000n); // 600 x 7 bps
    borrowPaid += event.fundingFeeUsd as bigint;
    assert.equal((await usdc()) - before, 68_880_000n - (event.fundingFeeUsd as bigint));
    // In all: 1,000 USDC in, 998.6 back less the borrow; 1.4 paid in position fees.
    assert.equal(await usdc(), 998_600_000n - borrowPaid);
  });

  it("a fill beyond priceSlippage fails with 6021; the request is closed and the USDC refunded", async () => {
    const before = await usdc();
    const req = increase(500n * USD, 50n * USD, 160n * USD); // a short opened no lower than $160, price is $150
    const outcome = outcomeFor(req.positionRequest);
    await send(req.instruction);
    const o = await outcome;
    assert.equal(o.result, "rejected");
    assert.equal(o.errorCode, 6021);
    assert.equal(await usdc(), before);
    assert.equal(await connection.getAccountInfo(req.positionRequest), null);
    assert.equal((await position(req.position)).sizeUsd, 0n);
  });

  it("the owner cannot cancel a live request (6042) but can once it has expired, and gets the USDC back; a stranger cannot fill it (6034)", async () => {
    const before = await usdc();
    world.fills!.setKnobs({ paused: true });
    const req = increase(200n * USD, 20n * USD, 140n * USD);
    await send(req.instruction);
    const stranger = await fundedKeypair(connection, 1);
    const fill = increasePosition4({
      keeper: stranger.publicKey,
      pool: MAINNET.pool,
      positionRequest: req.positionRequest,
      requestMint: USDC.mint,
      position: req.position,
      custody: { custody: SOL.custody, dovesPriceAccount: SOL.dovesAg, pythnetPriceAccount: SOL.pythPriceUpdate },
      collateralCustody: { custody: USDC.custody, dovesPriceAccount: USDC.dovesAg, pythnetPriceAccount: USDC.pythPriceUpdate, tokenAccount: USDC.tokenAccount },
    });
    await assert.rejects(sendAndConfirmTransaction(connection, new Transaction().add(fill), [stranger]), (e: unknown) => {
      assert.ok(e instanceof SendTransactionError);
      assert.equal(customErrorCode(null, e.logs), 6034);
      return true;
    });
    const cancel = closePositionRequest3({ owner: wallet.publicKey, pool: MAINNET.pool, position: req.position, positionRequest: req.positionRequest, mint: USDC.mint, custody: SOL.custody });
    await assert.rejects(send(cancel), (e: unknown) => e instanceof SendTransactionError && customErrorCode(null, e.logs) === 6042);
    assert.equal((await rpc(world.url, "surfnet_timeTravel", [{ absoluteTimestamp: Number(world.chain.nowSec()) * 1000 + 46_000 }])).error, undefined);
    world.prices.tick(); // restamp the oracles at the new time, for the tests that follow
    await send(cancel);
    assert.equal(await usdc(), before);
    assert.equal(await connection.getAccountInfo(req.positionRequest), null);
    world.fills!.setKnobs({ paused: false });
  });

  it("the quote API prices USDC -> SOL from the oracles less the pool's 10 bps swap fee, through @jup-ag/api", async () => {
    // $150 in, $0.15 fee, $149.85 / $150 = 0.999 SOL; 50 bps slippage leaves 0.994005.
    assert.deepEqual(await quoter().quote(USDC.mint, SOL.mint, 150n * USD, 50), { inAmount: 150n * USD, outAmount: 999_000_000n, minimumOut: 994_005_000n });
  });

  it("the quote API answers bad input with a 400 that the client reports", async () => {
    await assert.rejects(quoter().quote(USDC.mint, MAINNET.pool, 1n * USD, 50), (e: Error) => e instanceof SwapQuoteError && /HTTP 400 .*COULD_NOT_FIND_ANY_ROUTE/.test(e.message));
    const res = await fetch(`${world.url}/swap/v1/quote?inputMint=${USDC.mint.toBase58()}&outputMint=${SOL.mint.toBase58()}&amount=1.5`);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /amount must be a positive integer/);
  });

  it("fills at the quoted output: 150 USDC become 0.999 SOL of collateral ($149.85), less the opening fee", async () => {
    const q = await quoter().quote(USDC.mint, SOL.mint, 150n * USD, 50);
    const before = await usdc();
    const req = longInUsdc(300n * USD, 150n * USD, q.minimumOut);
    const outcome = outcomeFor(req.positionRequest);
    await send(req.instruction);
    assert.equal((await outcome).result, "filled");
    assert.equal(before - (await usdc()), 150n * USD);
    const a = await connection.getAccountInfo(req.position);
    const p = decodeAccount("Position", a!.data, a!.owner);
    assert.ok(p.ok);
    assert.equal(p.value.side, "long");
    assert.ok(p.value.collateralCustody.equals(SOL.custody));
    assert.equal(p.value.sizeUsd, 300n * USD);
    // 149.85 - 300 x 7 bps (6 base + 1 impact: 0.21)
    assert.equal(p.value.collateralUsd, 149_640_000n);
  });

  it("a swap returning less than jupiterMinimumOut fails with 6020 and the USDC is refunded", async () => {
    const before = await usdc();
    const req = longInUsdc(300n * USD, 150n * USD, 999_000_001n);
    const outcome = outcomeFor(req.positionRequest);
    await send(req.instruction);
    const o = await outcome;
    assert.equal(o.result, "rejected");
    assert.equal(o.errorCode, 6020);
    assert.equal(await usdc(), before);
  });

  it("a long funded in USDC without jupiterMinimumOut is refused at creation (6028)", async () => {
    const req = longInUsdc(300n * USD, 150n * USD, null);
    await assert.rejects(send(req.instruction), (e: Error) => e instanceof SendTransactionError && customErrorCode(null, e.logs) === 6028);
  });
  it("a request left past pool.maxRequestExecutionSec fails with 6035 and is refunded", async () => {
    const before = await usdc();
    world.fills!.setKnobs({ paused: true });
    const req = increase(500n * USD, 50n * USD, 140n * USD);
    await send(req.instruction);
    assert.equal(await usdc(), before - 50n * USD);
    const outcome = outcomeFor(req.positionRequest);
    const r = await rpc(world.url, "surfnet_timeTravel", [{ absoluteTimestamp: Number(world.chain.nowSec()) * 1000 + 60_000 }]);
    assert.equal(r.error, undefined);
    world.fills!.setKnobs({ paused: false });
    const o = await outcome;
    assert.equal(o.result, "rejected");
    assert.equal(o.errorCode, 6035);
    assert.equal(await usdc(), before);
    assert.equal(await connection.getAccountInfo(req.positionRequest), null);
  });
});
