import { strict as assert } from "node:assert";
import { ComputeBudgetProgram, Connection, type Keypair, PublicKey, Transaction, type TransactionInstruction, sendAndConfirmTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import { MAINNET, createDecreasePositionMarketRequest, createIncreasePositionMarketRequest } from "../../programs-client";
import { type LocalWorld, startLocalWorld } from "../../localnet/world";
import type { LiquidationOutcome } from "../../localnet/fill-keeper/fill-keeper";
import { fillOutcomeFor, fundedKeypair, rpc } from "../helpers/localnet";
import { type Value, anchorEventTag, keyValues, perpsOracle } from "./borsh-oracle";

// What the stand-in program writes (a PositionRequest, a Position, the fill's emit_cpi events) read back with the
// conformance oracle only: public IDL layouts, mainnet allocation sizes (sonarwatch), Anchor's tag.
const perps = perpsOracle();
const TAG = anchorEventTag();
const sonar = keyValues("sonarwatch-filters.txt");
const PERPS = new PublicKey("PERPHjGBqRHArX4DySjwM6UJHiR3sWAatqfdBS2qQJu");
const EVENT_AUTHORITY = PublicKey.findProgramAddressSync([Buffer.from(keyValues("anchor.txt").get("event_authority_seed")!)], PERPS)[0];
const { SOL, USDC } = MAINNET.custodies;
const USD = 1_000_000n;

type Obj = { [k: string]: Value };

/** The perps program's emit_cpi events in a confirmed transaction, decoded by the oracle, with their byte counts. */
async function eventsOf(connection: Connection, signature: string) {
  const tx = await connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
  assert.ok(tx?.meta, `getTransaction(${signature}) returned no transaction with meta`);
  const keys = [...tx.transaction.message.staticAccountKeys, ...(tx.meta.loadedAddresses?.writable ?? []), ...(tx.meta.loadedAddresses?.readonly ?? [])].map((k) => new PublicKey(k));
  const out: { name: string; value: Obj; consumed: number; length: number; accounts: string[] }[] = [];
  for (const group of tx.meta.innerInstructions ?? []) {
    for (const ix of group.instructions) {
      const data = Buffer.from(bs58.decode(ix.data));
      if (!keys[ix.programIdIndex]!.equals(PERPS) || !data.subarray(0, 8).equals(TAG)) continue;
      const e = perps.decodeEvent(data, TAG);
      out.push({ ...e, length: data.length, accounts: ix.accounts.map((i) => keys[i]!.toBase58()) });
    }
  }
  return out;
}

describe("conformance: the stand-in program's accounts and events, read with the public layouts", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  let connection: Connection;
  let wallet: Keypair;

  before(async () => {
    world = await startLocalWorld({ port: 0, slotMs: 100, fillKeeper: { delayMs: 100, paused: true }, priceDriver: { intervalMs: 300 } });
    connection = new Connection(world.url, "confirmed");
    wallet = await fundedKeypair(connection, 10);
    const r = await rpc(world.url, "surfnet_setTokenAccount", [wallet.publicKey.toBase58(), USDC.mint.toBase58(), { amount: 1_000_000_000 }]);
    if (r.error) throw new Error(`funding USDC: ${r.error.message}`);
  });
  after(async () => world?.close());

  const send = (ix: TransactionInstruction) =>
    sendAndConfirmTransaction(connection, new Transaction().add(ComputeBudgetProgram.setComputeUnitLimit({ units: 200_000 }), ix), [wallet]);
  const account = async (address: PublicKey, kind: "Position" | "PositionRequest") => {
    const a = await connection.getAccountInfo(address);
    assert.ok(a, `${kind} ${address.toBase58()} does not exist`);
    assert.equal(a.owner.toBase58(), PERPS.toBase58());
    const { value, consumed } = perps.decodeAccount(kind, a.data);
    return { value, consumed, length: a.data.length, tail: a.data.subarray(consumed) };
  };
  /** Let the fill keeper act on one request, and return its fill signature. */
  const fill = async (request: PublicKey) => {
    const outcome = fillOutcomeFor(world, request);
    world.fills!.knobs.paused = false;
    const o = await outcome;
    world.fills!.knobs.paused = true;
    assert.equal(o.result, "filled", `request ${request.toBase58()} was ${o.result} (error ${o.errorCode})`);
    assert.ok(o.signature, "the fill keeper reported no signature");
    return o.signature;
  };

  /** A production indexer's getProgramAccounts (vectors/sonarwatch-filters.txt) for the wallet, over the localnet's RPC. */
  const sonarwatchQuery = async (kind: "Position" | "PositionRequest") => {
    const found = await connection.getProgramAccounts(PERPS, {
      filters: [{ memcmp: { offset: Number(sonar.get(`${kind}.ownerOffset`)), bytes: wallet.publicKey.toBase58() } }, { dataSize: Number(sonar.get(`${kind}.dataSize`)) }],
    });
    return found.map((a) => a.pubkey.toBase58());
  };

  let position: PublicKey;

  it(`a short's increase request is a ${sonar.get("PositionRequest.dataSize")}-byte PositionRequest whose fields read as requested`, async () => {
    const req = createIncreasePositionMarketRequest({ owner: wallet.publicKey, pool: MAINNET.pool, custody: SOL.custody, collateralCustody: USDC.custody, inputMint: USDC.mint, side: "short", sizeUsdDelta: 1000n * USD, collateralTokenDelta: 100n * USD, priceSlippage: 140n * USD, jupiterMinimumOut: null, counter: 11n });
    await send(req.instruction);
    position = req.position;
    const r = await account(req.positionRequest, "PositionRequest");
    assert.equal(r.length, Number(sonar.get("PositionRequest.dataSize")), "PositionRequest allocation");
    assert.ok(r.tail.every((b) => b === 0), "bytes after the Borsh fields are zero");
    const v = r.value;
    assert.deepEqual(
      [v.owner, v.pool, v.custody, v.position, v.mint, v.sizeUsdDelta, v.collateralDelta, v.requestChange, v.requestType, v.side, v.priceSlippage, v.jupiterMinimumOut, v.executed, v.counter],
      [wallet.publicKey.toBase58(), MAINNET.pool.toBase58(), SOL.custody.toBase58(), req.position.toBase58(), USDC.mint.toBase58(), 1000n * USD, 100n * USD, "Increase", "Market", "Short", 140n * USD, null, false, 11n],
    );

    assert.deepEqual(await sonarwatchQuery("PositionRequest"), [req.positionRequest.toBase58()], "sonarwatch's PositionRequest query over the localnet's RPC");

    const signature = await fill(req.positionRequest);
    assert.deepEqual(await sonarwatchQuery("Position"), [req.position.toBase58()], "sonarwatch's Position query over the localnet's RPC");
    const p = await account(req.position, "Position");
    assert.equal(p.length, Number(sonar.get("Position.dataSize")), "Position allocation");
    assert.ok(p.tail.every((b) => b === 0), "bytes after the Borsh fields are zero");
    assert.deepEqual(
      [p.value.owner, p.value.pool, p.value.custody, p.value.collateralCustody, p.value.side, p.value.sizeUsd],
      [wallet.publicKey.toBase58(), MAINNET.pool.toBase58(), SOL.custody.toBase58(), USDC.custody.toBase58(), "Short", 1000n * USD],
    );

    const events = await eventsOf(connection, signature);
    const inc = events.find((e) => e.name === "IncreasePositionEvent");
    assert.ok(inc, `no IncreasePositionEvent in fill ${signature}: ${events.map((e) => e.name).join(", ") || "no emit_cpi events"}`);
    assert.equal(inc.consumed, inc.length, "IncreasePositionEvent decodes to its last byte");
    assert.deepEqual(inc.accounts, [EVENT_AUTHORITY.toBase58()]);
    const e = inc.value;
    assert.deepEqual(
      [e.positionKey, e.positionRequestKey, e.owner, e.pool, e.positionSide, e.positionCustody, e.positionCollateralCustody, e.sizeUsdDelta, e.positionSizeUsd, e.price, e.positionRequestChange],
      [req.position.toBase58(), req.positionRequest.toBase58(), wallet.publicKey.toBase58(), MAINNET.pool.toBase58(), 2n, SOL.custody.toBase58(), USDC.custody.toBase58(), 1000n * USD, p.value.sizeUsd, p.value.price, 1n],
    );
    // The event's own arithmetic as on mainnet: feeUsd = positionFeeUsd (base + impact) + fundingFeeUsd (borrow).
    assert.equal(e.feeUsd, (e.positionFeeUsd as bigint) + (e.fundingFeeUsd as bigint));
  });

  it("closing it: the DecreasePositionEvent decodes to its last byte with the public layout and names the position", async () => {
    const req = createDecreasePositionMarketRequest({ owner: wallet.publicKey, pool: MAINNET.pool, custody: SOL.custody, collateralCustody: USDC.custody, side: "short", desiredMint: USDC.mint, collateralUsdDelta: 0n, sizeUsdDelta: 0n, priceSlippage: 160n * USD, jupiterMinimumOut: null, entirePosition: true, counter: 12n });
    await send(req.instruction);
    const r = await account(req.positionRequest, "PositionRequest");
    assert.deepEqual([r.length, r.value.requestChange, r.value.entirePosition], [Number(sonar.get("PositionRequest.dataSize")), "Decrease", true]);
    const signature = await fill(req.positionRequest);
    const events = await eventsOf(connection, signature);
    const dec = events.find((e) => e.name === "DecreasePositionEvent");
    assert.ok(dec, `no DecreasePositionEvent in fill ${signature}: ${events.map((e) => e.name).join(", ") || "no emit_cpi events"}`);
    assert.equal(dec.consumed, dec.length, "DecreasePositionEvent decodes to its last byte");
    const e = dec.value;
    assert.deepEqual([e.positionKey, e.positionRequestKey, e.owner, e.positionSide, e.positionSizeUsd, e.sizeUsdDelta], [position.toBase58(), req.positionRequest.toBase58(), wallet.publicKey.toBase58(), 2n, 0n, 1000n * USD]);
    assert.equal(e.feeUsd, (e.positionFeeUsd as bigint) + (e.fundingFeeUsd as bigint));
    const p = await account(position, "Position");
    assert.deepEqual([p.length, p.value.sizeUsd], [Number(sonar.get("Position.dataSize")), 0n]);
  });
});

describe("conformance: the stand-in's liquidation, read with the public layouts", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  after(async () => world?.close());

  it("a 20x short liquidated by the fill keeper after a 10% rally: a LiquidateFullPositionEvent that decodes to its last byte, the position emptied", async () => {
    const JUMP_AT_SEC = 8;
    world = await startLocalWorld({ port: 0, slotMs: 100, fillKeeper: { delayMs: 100 }, priceDriver: { intervalMs: 200 }, scenarios: { SOL: { kind: "jump", startUsd: 150, atSec: JUMP_AT_SEC, jumpPct: 10 } } });
    const connection = new Connection(world.url, "confirmed");
    const wallet = await fundedKeypair(connection, 10);
    const funded = await rpc(world.url, "surfnet_setTokenAccount", [wallet.publicKey.toBase58(), USDC.mint.toBase58(), { amount: 1_000_000_000 }]);
    if (funded.error) throw new Error(`funding USDC: ${funded.error.message}`);
    const req = createIncreasePositionMarketRequest({ owner: wallet.publicKey, pool: MAINNET.pool, custody: SOL.custody, collateralCustody: USDC.custody, inputMint: USDC.mint, side: "short", sizeUsdDelta: 1000n * USD, collateralTokenDelta: 50n * USD, priceSlippage: 140n * USD, jupiterMinimumOut: null, counter: 1n });
    const liquidated = new Promise<LiquidationOutcome>((resolve) => {
      const on = (o: LiquidationOutcome) => {
        if (!o.position.equals(req.position)) return;
        world.fills!.off("liquidation", on);
        resolve(o);
      };
      world.fills!.on("liquidation", on);
    });
    const filled = fillOutcomeFor(world, req.positionRequest);
    await sendAndConfirmTransaction(connection, new Transaction().add(ComputeBudgetProgram.setComputeUnitLimit({ units: 200_000 }), req.instruction), [wallet]);
    assert.equal((await filled).result, "filled");
    assert.ok(world.prices.elapsedSec() < JUMP_AT_SEC, `the short must open before the rally at ${JUMP_AT_SEC} s (opened at ${world.prices.elapsedSec().toFixed(1)} s)`);

    const { signature } = await liquidated;
    const events = await eventsOf(connection, signature);
    const liq = events.find((e) => e.name === "LiquidateFullPositionEvent");
    assert.ok(liq, `no LiquidateFullPositionEvent in ${signature}: ${events.map((e) => e.name).join(", ") || "no emit_cpi events"}`);
    assert.equal(liq.consumed, liq.length, "LiquidateFullPositionEvent decodes to its last byte");
    assert.deepEqual(liq.accounts, [EVENT_AUTHORITY.toBase58()]);
    const e = liq.value;
    assert.deepEqual(
      [e.positionKey, e.owner, e.pool, e.positionSide, e.positionCustody, e.positionCollateralCustody, e.positionSizeUsd, e.hasProfit],
      [req.position.toBase58(), wallet.publicKey.toBase58(), MAINNET.pool.toBase58(), 2n, SOL.custody.toBase58(), USDC.custody.toBase58(), 1000n * USD, false],
    );
    assert.ok((e.price as bigint) >= 160n * USD, `liquidated after the rally, at ${e.price}`);
    const a = await connection.getAccountInfo(req.position);
    assert.ok(a, "the position account is kept");
    assert.equal(a.data.length, Number(sonar.get("Position.dataSize")));
    assert.equal(perps.decodeAccount("Position", a.data).value.sizeUsd, 0n);
  });
});
