import { strict as assert } from "node:assert";
import { Keypair, type PublicKey, type TransactionInstruction } from "@solana/web3.js";
import {
  MAINNET,
  PROGRAM_IDS,
  associatedTokenAddress,
  closePositionRequest2,
  closePositionRequest3,
  createDecreasePositionMarketRequest,
  createIncreasePositionMarketRequest,
  decreasePosition4,
  eventAuthorityPda,
  increasePosition4,
  perpetualsPda,
  perpsInstructionName,
  positionPda,
  positionRequestPda,
  transferAuthorityPda,
} from "../../programs-client";

const SOL = MAINNET.custodies.SOL;
const USDC = MAINNET.custodies.USDC;
const owner = Keypair.generate().publicKey;

/** [pubkey, signer, writable] per account, for readable comparisons. */
const metas = (ix: TransactionInstruction) => ix.keys.map((k) => [k.pubkey.toBase58(), k.isSigner, k.isWritable]);
const m = (k: PublicKey, signer: boolean, writable: boolean) => [k.toBase58(), signer, writable];

function shortIncrease(counter = 42n) {
  return createIncreasePositionMarketRequest({
    owner,
    pool: MAINNET.pool,
    custody: SOL.custody,
    collateralCustody: USDC.custody,
    inputMint: USDC.mint,
    side: "short",
    sizeUsdDelta: 1_000_000_000n,
    collateralTokenDelta: 100_000_000n,
    priceSlippage: 80_000_000n,
    jupiterMinimumOut: null,
    counter,
  });
}

describe("instruction builders", () => {
  describe("reference test vectors (jupiter-perps.md §3)", () => {
    it("increase: short $1000, 100 USDC, slippage $80, counter 42", () => {
      assert.equal(
        shortIncrease().instruction.data.toString("hex"),
        "b855c71869ab9c38" + "00ca9a3b00000000" + "00e1f50500000000" + "02" + "00b4c40400000000" + "00" + "2a00000000000000",
      );
    });

    it("decrease: entire position, slippage $95, counter 7", () => {
      const { instruction } = createDecreasePositionMarketRequest({
        owner,
        pool: MAINNET.pool,
        custody: SOL.custody,
        collateralCustody: USDC.custody,
        side: "short",
        desiredMint: USDC.mint,
        collateralUsdDelta: 0n,
        sizeUsdDelta: 0n,
        priceSlippage: 95_000_000n,
        jupiterMinimumOut: null,
        entirePosition: true,
        counter: 7n,
      });
      assert.equal(
        instruction.data.toString("hex"),
        "4ac6c356c163014f" + "0000000000000000" + "0000000000000000" + "c095a90500000000" + "00" + "0101" + "0700000000000000",
      );
    });
  });

  it("createIncreasePositionMarketRequest: accounts in program order with its flags", () => {
    const r = shortIncrease();
    const position = positionPda(owner, MAINNET.pool, SOL.custody, USDC.custody, "short");
    const request = positionRequestPda(position, 42n, "increase");
    assert.equal(r.position.toBase58(), position.toBase58());
    assert.equal(r.positionRequest.toBase58(), request.toBase58());
    assert.equal(r.positionRequestAta.toBase58(), associatedTokenAddress(USDC.mint, request).toBase58());
    assert.ok(r.instruction.programId.equals(PROGRAM_IDS.perpetuals));
    assert.deepEqual(metas(r.instruction), [
      m(owner, true, true),
      m(associatedTokenAddress(USDC.mint, owner), false, true),
      m(perpetualsPda(), false, false),
      m(MAINNET.pool, false, false),
      m(position, false, true),
      m(request, false, true),
      m(r.positionRequestAta, false, true),
      m(SOL.custody, false, false),
      m(USDC.custody, false, false),
      m(USDC.mint, false, false),
      m(PROGRAM_IDS.perpetuals, false, false), // referral left out: the program id takes its slot
      m(PROGRAM_IDS.token, false, false),
      m(PROGRAM_IDS.associatedToken, false, false),
      m(PROGRAM_IDS.system, false, false),
      m(eventAuthorityPda(), false, false),
      m(PROGRAM_IDS.perpetuals, false, false),
    ]);
  });

  it("createDecreasePositionMarketRequest: position read-only, receiving account writable", () => {
    const referral = Keypair.generate().publicKey;
    const r = createDecreasePositionMarketRequest({
      owner,
      pool: MAINNET.pool,
      custody: SOL.custody,
      collateralCustody: SOL.custody,
      side: "long",
      desiredMint: SOL.mint,
      collateralUsdDelta: 0n,
      sizeUsdDelta: 500_000_000n,
      priceSlippage: 80_000_000n,
      jupiterMinimumOut: null,
      entirePosition: null,
      counter: 1n,
      referral,
    });
    const position = positionPda(owner, MAINNET.pool, SOL.custody, SOL.custody, "long");
    const request = positionRequestPda(position, 1n, "decrease");
    assert.deepEqual(metas(r.instruction), [
      m(owner, true, true),
      m(associatedTokenAddress(SOL.mint, owner), false, true),
      m(perpetualsPda(), false, false),
      m(MAINNET.pool, false, false),
      m(position, false, false),
      m(request, false, true),
      m(associatedTokenAddress(SOL.mint, request), false, true),
      m(SOL.custody, false, false),
      m(SOL.custody, false, false),
      m(SOL.mint, false, false),
      m(referral, false, false),
      m(PROGRAM_IDS.token, false, false),
      m(PROGRAM_IDS.associatedToken, false, false),
      m(PROGRAM_IDS.system, false, false),
      m(eventAuthorityPda(), false, false),
      m(PROGRAM_IDS.perpetuals, false, false),
    ]);
  });

  it("closePositionRequest3 by the owner: keeper slot holds the program id; v2 lacks the custody", () => {
    const { position, positionRequest } = shortIncrease();
    const args = { owner, pool: MAINNET.pool, position, positionRequest, mint: USDC.mint };
    const v3 = closePositionRequest3({ ...args, custody: SOL.custody });
    const expectedHead = [
      m(PROGRAM_IDS.perpetuals, false, false),
      m(owner, false, true),
      m(associatedTokenAddress(USDC.mint, owner), false, true),
      m(MAINNET.pool, false, true),
      m(positionRequest, false, true),
      m(associatedTokenAddress(USDC.mint, positionRequest), false, true),
      m(position, false, false),
    ];
    const tail = [
      m(USDC.mint, false, false),
      m(PROGRAM_IDS.token, false, false),
      m(PROGRAM_IDS.system, false, false),
      m(PROGRAM_IDS.associatedToken, false, false),
      m(eventAuthorityPda(), false, false),
      m(PROGRAM_IDS.perpetuals, false, false),
    ];
    assert.deepEqual(metas(v3), [...expectedHead, m(SOL.custody, false, true), ...tail]);
    assert.equal(v3.data.toString("hex"), "7a822112d32ca13a");
    const v2 = closePositionRequest2({ ...args, keeper: owner });
    assert.deepEqual(metas(v2)[0], m(owner, true, true));
    assert.deepEqual(metas(v2).slice(1), [...expectedHead.slice(1), ...tail]);
    assert.equal(v2.data.toString("hex"), "7944a21cd82fc842");
  });

  it("increasePosition4 and decreasePosition4: keeper signs, no params", () => {
    const keeper = Keypair.generate().publicKey;
    const { position, positionRequest } = shortIncrease();
    const fill = {
      keeper,
      pool: MAINNET.pool,
      positionRequest,
      requestMint: USDC.mint,
      position,
      custody: { custody: SOL.custody, dovesPriceAccount: SOL.dovesAg, pythnetPriceAccount: SOL.pythPriceUpdate },
      collateralCustody: { custody: USDC.custody, dovesPriceAccount: USDC.dovesAg, pythnetPriceAccount: USDC.pythPriceUpdate, tokenAccount: USDC.tokenAccount },
    };
    const inc = increasePosition4(fill);
    assert.equal(inc.data.toString("hex"), "439335172b391043");
    assert.deepEqual(metas(inc), [
      m(keeper, true, false),
      m(perpetualsPda(), false, false),
      m(MAINNET.pool, false, true),
      m(positionRequest, false, true),
      m(associatedTokenAddress(USDC.mint, positionRequest), false, true),
      m(position, false, true),
      m(SOL.custody, false, true),
      m(SOL.dovesAg, false, false),
      m(SOL.pythPriceUpdate, false, false),
      m(USDC.custody, false, true),
      m(USDC.dovesAg, false, false),
      m(USDC.pythPriceUpdate, false, false),
      m(USDC.tokenAccount, false, true),
      m(PROGRAM_IDS.token, false, false),
      m(eventAuthorityPda(), false, false),
      m(PROGRAM_IDS.perpetuals, false, false),
    ]);
    const dec = decreasePosition4({ ...fill, owner });
    assert.equal(dec.data.toString("hex"), "b9a172af609403aa");
    assert.deepEqual(metas(dec).slice(0, 4), [
      m(keeper, true, false),
      m(owner, false, true),
      m(transferAuthorityPda(), false, false),
      m(perpetualsPda(), false, false),
    ]);
    assert.deepEqual(metas(dec).slice(4), metas(inc).slice(2));
  });

  it("a different counter gives a different request address; the name lookup inverts the discriminator", () => {
    assert.notEqual(shortIncrease(1n).positionRequest.toBase58(), shortIncrease(2n).positionRequest.toBase58());
    assert.equal(perpsInstructionName(shortIncrease().instruction.data), "createIncreasePositionMarketRequest");
    assert.equal(perpsInstructionName(Buffer.alloc(8)), undefined);
    assert.throws(() => positionRequestPda(owner, -1n, "increase"), RangeError);
  });
});
