import { strict as assert } from "node:assert";
import { Connection, Keypair, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import { ComputeUnitCalibrator } from "../../keeper/execution/cu-calibrator";
import { buildRequest } from "../../keeper/execution/request-builder";
import { type RequestExtras, RequestSigner } from "../../keeper/execution/request-signer";
import { requestInstructions } from "../../keeper/execution/request-template";
import { SigningPolicyError, signingPolicyFor } from "../../keeper/risk/signing-policy";
import type { Order } from "../../keeper/strategy/orders";

const payer = Keypair.fromSeed(new Uint8Array(32).fill(77));
const referral = Keypair.fromSeed(new Uint8Array(32).fill(78)).publicKey;
const policy = signingPolicyFor(payer.publicKey, { referral: referral.toBase58(), signing: { maxComputeUnitPriceMicroLamports: 5_000_000, maxComputeUnitLimit: 1_400_000, maxPriorityFeeLamports: 10_000_000 } });
const cu = { margin: 1.2, minUnits: 50_000, maxUnits: 1_400_000, defaultUnits: 300_000, window: 4 };
const blockhash = { blockhash: bs58.encode(new Uint8Array(32).fill(3)), lastValidBlockHeight: 99, fetchedAtMs: 0 };
const increase = (collateralToken: "underlying" | "usdc"): Order => ({ kind: "increase", side: "long", sizeUsdDelta6: 100_000_000n, collateralUsd6: 40_000_000n, collateralTokenAmount: 250_000_000n, collateralToken, priceSlippageUsd6: 160_000_000n, deltaTokens: 0.6 });
const decrease: Order = { kind: "decrease", side: "short", sizeUsdDelta6: 100_000_000n, collateralUsdDelta6: 0n, entirePosition: false, priceSlippageUsd6: 140_000_000n, deltaTokens: 0.6 };

describe("RequestSigner: a decided order to signed bytes without RPC", () => {
  // Never called: nothing here calibrates, so every kind is on the default.
  const units = new ComputeUnitCalibrator(new Connection("http://127.0.0.1:1"), cu);

  const cases: { name: string; order: Order; extras: RequestExtras; kind: string }[] = [
    { name: "a SOL long wrapping SOL, with the configured referral", order: increase("underlying"), extras: { purpose: "hedge", jupiterMinimumOut: null, wrapLamports: 5_000n }, kind: "increase+wrap" },
    { name: "a SOL long funded in USDC (swap)", order: increase("usdc"), extras: { purpose: "hedge", jupiterMinimumOut: 1_234n, wrapLamports: null }, kind: "increase+swap" },
    { name: "a collateral withdrawal from the short", order: { ...decrease, sizeUsdDelta6: 0n, collateralUsdDelta6: 5_000_000n }, extras: { purpose: "collateral", jupiterMinimumOut: null, wrapLamports: null }, kind: "withdraw" },
  ];
  for (const c of cases) {
    it(`${c.name}: web3.js's bytes for the reserved counter, at the kind's limit`, () => {
      const signer = new RequestSigner(payer, policy, units, () => 1_760_000_000_000);
      signer.prepare("SOL", c.order, c.extras.wrapLamports !== null);
      const r = signer.reserve("SOL", c.order, c.extras.wrapLamports !== null);
      const signed = signer.sign(r, c.extras, blockhash, 1_000);
      assert.equal(signed.kind, c.kind);
      assert.equal(signed.computeUnitLimit, cu.defaultUnits);
      const built = buildRequest(payer.publicKey, "SOL", c.order, r.counter, c.extras.jupiterMinimumOut, referral);
      assert.ok(built.positionRequest.equals(r.positionRequest) && built.position.equals(r.position));
      const tx = new VersionedTransaction(new TransactionMessage({ payerKey: payer.publicKey, recentBlockhash: blockhash.blockhash, instructions: requestInstructions(payer.publicKey, built.instruction, cu.defaultUnits, 1_000, c.extras.wrapLamports) }).compileToV0Message());
      tx.sign([payer]);
      assert.equal(Buffer.from(signed.bytes).toString("base64"), Buffer.from(tx.serialize()).toString("base64"));
      assert.ok(!r.writable.some((k) => k.equals(r.positionRequest)), "the fee market is not read on the fresh request account");
    });
  }

  it("a shape the signing policy refuses still reserves (its intent can be journaled as failed) and refuses at each sign", () => {
    const strangersPolicy = { ...policy, wallet: referral };
    const signer = new RequestSigner(payer, strangersPolicy, units);
    signer.prepare("SOL", decrease, false);
    const r = signer.reserve("SOL", decrease, false);
    for (let i = 0; i < 2; i++) {
      assert.throws(() => signer.sign(r, { purpose: "hedge", jupiterMinimumOut: null, wrapLamports: null }, blockhash, 0), (e: unknown) => e instanceof SigningPolicyError && e.code === "fee-payer");
    }
  });

  it("refuses a swap's minimum output on a request that swaps nothing, and wrapping it was not reserved for", () => {
    const signer = new RequestSigner(payer, policy, units);
    const r = signer.reserve("SOL", increase("underlying"), false);
    assert.throws(() => signer.sign(r, { purpose: "hedge", jupiterMinimumOut: 5n, wrapLamports: null }, blockhash, 0), /jupiterMinimumOut must be set exactly when/);
    assert.throws(() => signer.sign(r, { purpose: "hedge", jupiterMinimumOut: null, wrapLamports: 5n }, blockhash, 0), /reserved without SOL wrapping/);
  });
});
