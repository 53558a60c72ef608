import { strict as assert } from "node:assert";
import { type AccountMeta, Keypair, PublicKey, type TransactionInstruction } from "@solana/web3.js";
import {
  MAINNET,
  type MarketSymbol,
  closePositionRequest2,
  closePositionRequest3,
  createDecreasePositionMarketRequest,
  createIncreasePositionMarketRequest,
  decreasePosition4,
  increasePosition4,
  increasePositionWithInternalSwap,
  liquidateFullPosition4,
} from "../../programs-client";
import { buildRequest } from "../../keeper/execution/request-builder";
import type { Order } from "../../keeper/strategy/orders";
import { type Value, keyValues, perpsOracle, readVectorText, snakeCase } from "./borsh-oracle";
import { TX_CLOSE, VIXEN, ixAt } from "./mainnet-vectors";

// Every instruction the keeper (and the localnet fill keeper) builds, rebuilt from the public IDL alone: data =
// sighash("global", snake_name) ++ Borsh params, metas in the IDL's order with its isSigner/isMut. The addresses
// (PDAs, ATAs) are derived here from the public seed rules, not taken from programs-client.
const perps = perpsOracle();
const PERPS = new PublicKey("PERPHjGBqRHArX4DySjwM6UJHiR3sWAatqfdBS2qQJu");
const TOKEN = new PublicKey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
const ATA_PROGRAM = new PublicKey("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
const SYSTEM = new PublicKey("11111111111111111111111111111111");
const pda = (seeds: Buffer[], program = PERPS) => PublicKey.findProgramAddressSync(seeds, program)[0];
const EVENT_AUTHORITY = pda([Buffer.from(keyValues("anchor.txt").get("event_authority_seed")!)]);
const PERPETUALS = pda([Buffer.from("perpetuals")]);
const TRANSFER_AUTHORITY = pda([Buffer.from("transfer_authority")]);
const POOL = new PublicKey(VIXEN.pool.address);
const ata = (mint: PublicKey, owner: PublicKey) => pda([owner.toBuffer(), TOKEN.toBuffer(), mint.toBuffer()], ATA_PROGRAM);
const u8 = (n: number) => Buffer.from([n]);
const u64le = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
const positionOf = (owner: PublicKey, custody: PublicKey, collateral: PublicKey, side: "long" | "short") =>
  pda([Buffer.from("position"), owner.toBuffer(), POOL.toBuffer(), custody.toBuffer(), collateral.toBuffer(), u8(side === "long" ? 1 : 2)]);
const requestOf = (position: PublicKey, counter: bigint, change: "increase" | "decrease") =>
  pda([Buffer.from("position_request"), position.toBuffer(), u64le(counter), u8(change === "increase" ? 1 : 2)]);
const common = { perpetuals: PERPETUALS, tokenProgram: TOKEN, associatedTokenProgram: ATA_PROGRAM, systemProgram: SYSTEM, eventAuthority: EVENT_AUTHORITY, program: PERPS };

const metas = (keys: AccountMeta[]) => keys.map((k) => `${k.pubkey.toBase58()} ${k.isSigner ? "s" : "-"}${k.isWritable ? "w" : "-"}`);
function assertSame(client: TransactionInstruction, name: string, accounts: Record<string, PublicKey | undefined>, args: Record<string, Value>) {
  const oracle = perps.buildInstruction(name, accounts, args, PERPS);
  assert.equal(client.programId.toBase58(), PERPS.toBase58());
  const names = perps.instruction(name).accounts.map((a) => a.name);
  const c = metas(client.keys);
  const o = metas(oracle.keys);
  assert.deepEqual(c.map((m, i) => `${names[i] ?? "(extra)"} ${m}`), o.map((m, i) => `${names[i]} ${m}`), `${name}: account metas differ from the public IDL's`);
  assert.equal(client.data.toString("hex"), oracle.data.toString("hex"), `${name}: data differs`);
}

const owner = Keypair.generate().publicKey;
const keeper = Keypair.generate().publicKey;
const C = MAINNET.custodies;
const custodyAddr = (s: keyof typeof C) => new PublicKey(VIXEN.pool.fields[`custodies.${["SOL", "ETH", "BTC", "USDC", "USDT"].indexOf(s)}`] as string);
const mintOf = { SOL: new PublicKey("So11111111111111111111111111111111111111112"), ETH: C.ETH.mint, BTC: C.BTC.mint, USDC: new PublicKey("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v") };

describe("conformance: instructions built from the public IDL", () => {
  const increases = [
    { label: "long SOL, SOL collateral", market: "SOL", side: "long", input: "SOL", counter: 0n, size: 1_500_000_000n, coll: 3_000_000_000n, slip: 151_500_000n, minOut: null, referral: undefined },
    { label: "short ETH, USDC collateral, referral", market: "ETH", side: "short", input: "USDC", counter: 1_733_000_000_123n, size: 25_000_000_000n, coll: 8_333_333_333n, slip: 2_900_000_000n, minOut: null, referral: Keypair.generate().publicKey },
    { label: "long BTC funded in USDC (swap)", market: "BTC", side: "long", input: "USDC", counter: 0xffff_ffff_ffff_fffen, size: 0xffff_ffff_ffff_ffffn, coll: 1n, slip: 0n, minOut: 123_456n, referral: undefined },
  ] as const;
  for (const t of increases) {
    it(`createIncreasePositionMarketRequest: ${t.label}`, () => {
      const custody = custodyAddr(t.market);
      const collateral = t.side === "long" ? custody : custodyAddr("USDC");
      const inputMint = mintOf[t.input];
      const r = createIncreasePositionMarketRequest({ owner, pool: POOL, custody, collateralCustody: collateral, inputMint, side: t.side, sizeUsdDelta: t.size, collateralTokenDelta: t.coll, priceSlippage: t.slip, jupiterMinimumOut: t.minOut, counter: t.counter, referral: t.referral });
      const position = positionOf(owner, custody, collateral, t.side);
      const positionRequest = requestOf(position, t.counter, "increase");
      assert.deepEqual([r.position, r.positionRequest, r.positionRequestAta].map(String), [position, positionRequest, ata(inputMint, positionRequest)].map(String));
      assertSame(
        r.instruction,
        "createIncreasePositionMarketRequest",
        { ...common, owner, fundingAccount: ata(inputMint, owner), pool: POOL, position, positionRequest, positionRequestAta: ata(inputMint, positionRequest), custody, collateralCustody: collateral, inputMint, referral: t.referral },
        { params: { sizeUsdDelta: t.size, collateralTokenDelta: t.coll, side: t.side === "long" ? "Long" : "Short", priceSlippage: t.slip, jupiterMinimumOut: t.minOut, counter: t.counter } },
      );
    });
  }

  const decreases = [
    { label: "long SOL partial, SOL out", market: "SOL", side: "long", out: "SOL", entire: false, counter: 7n, size: 700_000_000n, coll: 0n, slip: 140_000_000n, minOut: null },
    { label: "short BTC entire, USDC out", market: "BTC", side: "short", out: "USDC", entire: true, counter: 0n, size: 0n, coll: 0n, slip: 99_000_000_000n, minOut: null },
    { label: "short ETH, entirePosition null, minimum out", market: "ETH", side: "short", out: "USDC", entire: null, counter: 42n, size: 1_000_000n, coll: 500_000n, slip: 3_000_000_000n, minOut: 9n },
  ] as const;
  for (const t of decreases) {
    it(`createDecreasePositionMarketRequest: ${t.label}`, () => {
      const custody = custodyAddr(t.market);
      const collateral = t.side === "long" ? custody : custodyAddr("USDC");
      const desiredMint = mintOf[t.out];
      const r = createDecreasePositionMarketRequest({ owner, pool: POOL, custody, collateralCustody: collateral, side: t.side, desiredMint, collateralUsdDelta: t.coll, sizeUsdDelta: t.size, priceSlippage: t.slip, jupiterMinimumOut: t.minOut, entirePosition: t.entire, counter: t.counter });
      const position = positionOf(owner, custody, collateral, t.side);
      const positionRequest = requestOf(position, t.counter, "decrease");
      assertSame(
        r.instruction,
        "createDecreasePositionMarketRequest",
        { ...common, owner, receivingAccount: ata(desiredMint, owner), pool: POOL, position, positionRequest, positionRequestAta: ata(desiredMint, positionRequest), custody, collateralCustody: collateral, desiredMint, referral: undefined },
        { params: { collateralUsdDelta: t.coll, sizeUsdDelta: t.size, priceSlippage: t.slip, jupiterMinimumOut: t.minOut, entirePosition: t.entire, counter: t.counter } },
      );
    });
  }

  const position = positionOf(owner, custodyAddr("SOL"), custodyAddr("SOL"), "long");
  const positionRequest = requestOf(position, 3n, "increase");
  const closeAccounts = (k: PublicKey | undefined) => ({ ...common, keeper: k, owner, ownerAta: ata(mintOf.SOL, owner), pool: POOL, positionRequest, positionRequestAta: ata(mintOf.SOL, positionRequest), position, mint: mintOf.SOL });
  for (const k of [keeper, undefined]) {
    const who = k ? "by a keeper" : "by the owner (keeper left out: the program id in its slot)";
    it(`closePositionRequest2 ${who}`, () => {
      assertSame(closePositionRequest2({ keeper: k, owner, pool: POOL, position, positionRequest, mint: mintOf.SOL }), "closePositionRequest2", closeAccounts(k), {});
    });
    it(`closePositionRequest3 ${who}`, () => {
      const custody = custodyAddr("SOL");
      assertSame(closePositionRequest3({ keeper: k, owner, pool: POOL, position, positionRequest, mint: mintOf.SOL, custody }), "closePositionRequest3", { ...closeAccounts(k), custody }, {});
    });
  }

  it("closePositionRequest2 rebuilt from mainnet transaction 3MnCnWjL's accounts is byte for byte the mainnet instruction", () => {
    const a = VIXEN.closePositionRequest2Accounts.accounts;
    const pk = (s: string) => new PublicKey(s);
    const ix = closePositionRequest2({ keeper: pk(a.keeper), owner: pk(a.owner), pool: pk(a.pool), position: pk(a.position), positionRequest: pk(a.positionRequest), mint: pk(a.mint) });
    const mainnet = ixAt(TX_CLOSE, 2, 0);
    assert.deepEqual(ix.keys.map((k) => k.pubkey.toBase58()), mainnet.accounts);
    assert.equal(ix.data.toString("hex"), mainnet.dataHex);
  });

  const oracles = (s: "SOL" | "USDC") => ({ custody: custodyAddr(s), dovesPriceAccount: C[s].dovesAg, pythnetPriceAccount: C[s].pythPriceUpdate });
  const fill = (s: "SOL" | "USDC") => ({
    ...common,
    keeper,
    pool: POOL,
    positionRequest,
    positionRequestAta: ata(mintOf.SOL, positionRequest),
    position,
    custody: custodyAddr("SOL"),
    custodyDovesPriceAccount: C.SOL.dovesAg,
    custodyPythnetPriceAccount: C.SOL.pythPriceUpdate,
    collateralCustody: custodyAddr(s),
    collateralCustodyDovesPriceAccount: C[s].dovesAg,
    collateralCustodyPythnetPriceAccount: C[s].pythPriceUpdate,
    collateralCustodyTokenAccount: C[s].tokenAccount,
  });
  const fillArgs = { keeper, pool: POOL, positionRequest, requestMint: mintOf.SOL, position, custody: oracles("SOL"), collateralCustody: { ...oracles("SOL"), tokenAccount: C.SOL.tokenAccount } };
  it("increasePosition4 (the localnet fill keeper's)", () => {
    assertSame(increasePosition4(fillArgs), "increasePosition4", fill("SOL"), { params: {} });
  });
  it("increasePositionWithInternalSwap (the localnet fill keeper's)", () => {
    const ix = increasePositionWithInternalSwap({ ...fillArgs, receivingCustody: { ...oracles("USDC"), tokenAccount: C.USDC.tokenAccount } });
    assertSame(ix, "increasePositionWithInternalSwap", { ...fill("SOL"), receivingCustody: custodyAddr("USDC"), receivingCustodyDovesPriceAccount: C.USDC.dovesAg, receivingCustodyPythnetPriceAccount: C.USDC.pythPriceUpdate, receivingCustodyTokenAccount: C.USDC.tokenAccount }, { params: {} });
  });
  it("decreasePosition4 (the localnet fill keeper's)", () => {
    assertSame(decreasePosition4({ ...fillArgs, owner }), "decreasePosition4", { ...fill("SOL"), owner, transferAuthority: TRANSFER_AUTHORITY }, { params: {} });
  });

  it("liquidateFullPosition4 (the localnet fill keeper's, as liquidator)", () => {
    const signer = Keypair.generate().publicKey;
    const ix = liquidateFullPosition4({ signer, pool: POOL, position, custody: oracles("SOL"), collateralCustody: { ...oracles("USDC"), tokenAccount: C.USDC.tokenAccount } });
    assertSame(
      ix,
      "liquidateFullPosition4",
      {
        ...common,
        signer,
        pool: POOL,
        position,
        custody: custodyAddr("SOL"),
        custodyDovesPriceAccount: C.SOL.dovesAg,
        custodyPythnetPriceAccount: C.SOL.pythPriceUpdate,
        collateralCustody: custodyAddr("USDC"),
        collateralCustodyDovesPriceAccount: C.USDC.dovesAg,
        collateralCustodyPythnetPriceAccount: C.USDC.pythPriceUpdate,
        collateralCustodyTokenAccount: C.USDC.tokenAccount,
      },
      { params: {} },
    );
  });

  // The keeper's own request builder (keeper/execution/request-builder.ts): what the runner signs.
  const orders: [MarketSymbol, Order, bigint | null][] = [
    ["SOL", { kind: "increase", side: "long", sizeUsdDelta6: 2_000_000_000n, collateralUsd6: 666_666_666n, collateralTokenAmount: 4_444_444_444n, collateralToken: "underlying", priceSlippageUsd6: 151_000_000n, deltaTokens: 13.3 }, null],
    ["ETH", { kind: "increase", side: "short", sizeUsdDelta6: 9_000_000_000n, collateralUsd6: 3_000_000_000n, collateralTokenAmount: 3_000_000_000n, collateralToken: "usdc", priceSlippageUsd6: 2_400_000_000n, deltaTokens: -3 }, null],
    ["BTC", { kind: "increase", side: "long", sizeUsdDelta6: 30_000_000_000n, collateralUsd6: 10_000_000_000n, collateralTokenAmount: 10_000_000_000n, collateralToken: "usdc", priceSlippageUsd6: 101_000_000_000n, deltaTokens: 0.3 }, 9_876_543n],
    ["SOL", { kind: "decrease", side: "long", sizeUsdDelta6: 1_000_000_000n, collateralUsdDelta6: 0n, entirePosition: false, priceSlippageUsd6: 149_000_000n, deltaTokens: -6.7 }, null],
    ["BTC", { kind: "decrease", side: "short", sizeUsdDelta6: 0n, collateralUsdDelta6: 0n, entirePosition: true, priceSlippageUsd6: 105_000_000_000n, deltaTokens: 0.1 }, null],
  ];
  for (const [market, order, minOut] of orders) {
    it(`keeper buildRequest: ${order.kind} ${order.side} ${market}${order.kind === "increase" ? ` posting ${order.collateralToken}` : order.entirePosition ? " entire" : ""}`, () => {
      const counter = 1_764_000_000_000n;
      const built = buildRequest(owner, market, order, counter, minOut);
      const custody = custodyAddr(market);
      const collateral = order.side === "short" ? custodyAddr("USDC") : custody;
      const position = positionOf(owner, custody, collateral, order.side as "long" | "short");
      const positionRequest = requestOf(position, counter, order.kind);
      // ETH/BTC mints are programs-client's; pda.test.ts proves each against its mainnet custody address.
      const mint = order.side === "short" || (order.kind === "increase" && order.collateralToken === "usdc") ? mintOf.USDC : C[market].mint;
      const side = order.side === "long" ? "Long" : "Short";
      if (order.kind === "increase") {
        assertSame(
          built.instruction,
          "createIncreasePositionMarketRequest",
          { ...common, owner, fundingAccount: ata(mint, owner), pool: POOL, position, positionRequest, positionRequestAta: ata(mint, positionRequest), custody, collateralCustody: collateral, inputMint: mint, referral: undefined },
          { params: { sizeUsdDelta: order.sizeUsdDelta6, collateralTokenDelta: order.collateralTokenAmount, side, priceSlippage: order.priceSlippageUsd6, jupiterMinimumOut: minOut, counter } },
        );
      } else {
        assertSame(
          built.instruction,
          "createDecreasePositionMarketRequest",
          { ...common, owner, receivingAccount: ata(mint, owner), pool: POOL, position, positionRequest, positionRequestAta: ata(mint, positionRequest), custody, collateralCustody: collateral, desiredMint: mint, referral: undefined },
          { params: { collateralUsdDelta: order.collateralUsdDelta6, sizeUsdDelta: order.sizeUsdDelta6, priceSlippage: order.priceSlippageUsd6, jupiterMinimumOut: minOut, entirePosition: order.entirePosition, counter } },
        );
      }
    });
  }

  for (const name of ["createIncreasePositionMarketRequest", "createDecreasePositionMarketRequest", "increasePosition4", "increasePositionWithInternalSwap", "decreasePosition4", "liquidateFullPosition4"]) {
    it(`${name}: the public IDL's account order is carbon's`, () => {
      const struct = name[0]!.toUpperCase() + name.slice(1);
      const line = readVectorText("carbon-jupiter-perpetuals.txt").split("\n").find((l) => l.startsWith(`accounts ${struct} `));
      assert.ok(line, `carbon vector has no accounts line for ${struct}`);
      assert.deepEqual(perps.instruction(name).accounts.map((a) => snakeCase(a.name)), line.split(" ").slice(2));
    });
  }
});
