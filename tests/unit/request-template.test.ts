import { strict as assert } from "node:assert";
import { Keypair, type PublicKey, SystemProgram, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import {
  MAINNET,
  MARKET_SYMBOLS,
  type MarketSymbol,
  NATIVE_MINT,
  createDecreasePositionMarketRequest,
  createIncreasePositionMarketRequest,
  encodeDecreaseRequestData,
  encodeIncreaseRequestData,
  positionPda,
} from "../../programs-client";
import { nodeSigner } from "../../keeper/execution/ed25519";
import { CounterSource, RequestPdas } from "../../keeper/execution/request-pdas";
import { type RequestFill, requestInstructions, requestTemplate, signRequest } from "../../keeper/execution/request-template";
import { type SigningPolicy, type SigningRefusalCode, SigningPolicyError } from "../../keeper/risk/signing-policy";
import { RequestPdaMemo } from "../../keeper/risk/template-policy";

const wallet = Keypair.fromSeed(Uint8Array.from({ length: 32 }, (_, i) => 7 * i + 3));
const W = wallet.publicKey;
const stranger = Keypair.fromSeed(new Uint8Array(32).fill(201)).publicKey;
const policy: SigningPolicy = { wallet: W, referral: null, maxComputeUnitPriceMicroLamports: 5_000_000, maxComputeUnitLimit: 1_400_000, maxPriorityFeeLamports: 1_000_000 };
const USDC = MAINNET.custodies.USDC;
const BLOCKHASH = bs58.encode(Uint8Array.from({ length: 32 }, (_, i) => 255 - i));

/** Every kind a mandate sends: increase or decrease, hedge or collateral only, long or short, wrapped SOL, a swap. */
interface Kind {
  name: string;
  market: MarketSymbol;
  side: "long" | "short";
  change: "increase" | "decrease";
  mint: PublicKey;
  wrapLamports: bigint | null;
  sizeUsd6: bigint;
  minimumOut: bigint | null;
  entirePosition: boolean | null;
}

const kinds: Kind[] = MARKET_SYMBOLS.flatMap((market): Kind[] => {
  const own = MAINNET.custodies[market].mint;
  const base = { market, wrapLamports: null, minimumOut: null, entirePosition: null, sizeUsd6: 1_500_000_000n };
  const k: Kind[] = [
    { ...base, name: `${market} increase long`, side: "long", change: "increase", mint: own },
    { ...base, name: `${market} increase long funded in USDC (swap)`, side: "long", change: "increase", mint: USDC.mint, minimumOut: 12_345n },
    { ...base, name: `${market} increase short`, side: "short", change: "increase", mint: USDC.mint },
    { ...base, name: `${market} deposit long`, side: "long", change: "increase", mint: own, sizeUsd6: 0n },
    { ...base, name: `${market} decrease long`, side: "long", change: "decrease", mint: own },
    { ...base, name: `${market} decrease short, entire position`, side: "short", change: "decrease", mint: USDC.mint, entirePosition: true },
    { ...base, name: `${market} withdraw short`, side: "short", change: "decrease", mint: USDC.mint, sizeUsd6: 0n },
  ];
  if (own.equals(NATIVE_MINT)) {
    k.push({ ...base, name: `${market} increase long wrapping SOL`, side: "long", change: "increase", mint: own, wrapLamports: 2_500_000_000n });
    k.push({ ...base, name: `${market} deposit long wrapping SOL`, side: "long", change: "increase", mint: own, wrapLamports: 1n, sizeUsd6: 0n });
  }
  return k;
});

function accounts(k: Kind) {
  const custody = MAINNET.custodies[k.market].custody;
  const collateralCustody = k.side === "short" ? USDC.custody : custody;
  return { owner: W, pool: MAINNET.pool, custody, collateralCustody, side: k.side };
}

/** The request built the ordinary way, by the instruction builder (PDAs derived inside), for `counter`. */
function built(k: Kind, counter: bigint) {
  const a = accounts(k);
  if (k.change === "increase") {
    const params = { sizeUsdDelta: k.sizeUsd6, collateralTokenDelta: 777_000n, side: k.side, priceSlippage: 150_000_000n, jupiterMinimumOut: k.minimumOut, counter };
    return { ...createIncreasePositionMarketRequest({ ...a, ...params, inputMint: k.mint }), data: encodeIncreaseRequestData(params) };
  }
  const params = { collateralUsdDelta: 5_000_000n, sizeUsdDelta: k.sizeUsd6, priceSlippage: 140_000_000n, jupiterMinimumOut: k.minimumOut, entirePosition: k.entirePosition, counter };
  return { ...createDecreasePositionMarketRequest({ ...a, ...params, desiredMint: k.mint }), data: encodeDecreaseRequestData(params) };
}

function setup(k: Kind) {
  const memo = new RequestPdaMemo();
  const template = requestTemplate(W, built(k, 1n), k.wrapLamports !== null, 50_000, policy);
  const pdas = new RequestPdas(memo, new CounterSource(() => 1_760_000_000_000), (work) => work());
  const slot = { position: positionPda(W, MAINNET.pool, accounts(k).custody, accounts(k).collateralCustody, k.side), change: k.change, mint: k.mint };
  return { memo, template, pdas, slot };
}

describe("request transactions from a template, signed with Node's Ed25519", () => {
  const sign = nodeSigner(wallet.secretKey);

  for (const k of kinds) {
    it(`${k.name}: the same bytes and signature as web3.js's VersionedTransaction + sign`, () => {
      const { memo, template, pdas, slot } = setup(k);
      for (const [units, microLamports] of [[63_211, 0], [1_400_000, 3], [200_000, 5_000_000 / 100]] as const) {
        const next = pdas.take(slot);
        const request = built(k, next.counter);
        assert.ok(request.positionRequest.equals(next.positionRequest), "the precomputed request PDA is the builder's");
        const fill: RequestFill = { blockhash: BLOCKHASH, units, microLamports, wrapLamports: k.wrapLamports, requestData: request.data, positionRequest: next.positionRequest, positionRequestAta: next.positionRequestAta };
        const ours = signRequest(template, fill, sign, memo);

        const instructions = requestInstructions(W, request.instruction, units, microLamports, k.wrapLamports);
        const theirs = new VersionedTransaction(new TransactionMessage({ payerKey: W, recentBlockhash: BLOCKHASH, instructions }).compileToV0Message());
        theirs.sign([wallet]);
        assert.deepEqual(Buffer.from(ours.bytes).toString("hex"), Buffer.from(theirs.serialize()).toString("hex"));
        assert.equal(ours.signature, bs58.encode(theirs.signatures[0]!));
      }
    });
  }

  it("refuses a key whose public half does not match its seed", () => {
    const bad = Uint8Array.from(wallet.secretKey);
    bad[40]! ^= 1;
    assert.throws(() => nodeSigner(bad), /does not match its seed/);
  });
});

describe("the signing policy on templated transactions", () => {
  const sign = nodeSigner(wallet.secretKey);
  const k = kinds.find((x) => x.wrapLamports !== null && x.change === "increase" && x.sizeUsd6 > 0n)!;

  function fillFor(s: ReturnType<typeof setup>, over: Partial<RequestFill> = {}): RequestFill {
    const next = s.pdas.take(s.slot);
    return { blockhash: BLOCKHASH, units: 100_000, microLamports: 10, wrapLamports: k.wrapLamports, requestData: built(k, next.counter).data, positionRequest: next.positionRequest, positionRequestAta: next.positionRequestAta, ...over };
  }

  function code(f: () => unknown): SigningRefusalCode {
    try {
      f();
    } catch (e) {
      if (e instanceof SigningPolicyError) return e.code;
      throw e;
    }
    assert.fail("expected a signing-policy refusal");
  }

  it("refuses a template holding a transfer to a stranger, a foreign fee payer, a stranger's referral", () => {
    const sample = built(k, 1n);
    const strangerTransfer = { ...sample, instruction: SystemProgram.transfer({ fromPubkey: W, toPubkey: stranger, lamports: 1n }) };
    // A template whose only instruction is a stranger's transfer: the full check runs on it.
    assert.equal(code(() => requestTemplate(W, { ...strangerTransfer, positionRequest: sample.positionRequest }, false, 50_000, policy)), "transfer-destination");
    assert.equal(code(() => requestTemplate(stranger, sample, false, 50_000, policy)), "fee-payer");
    const a = accounts(k);
    const referred = createIncreasePositionMarketRequest({ ...a, inputMint: k.mint, sizeUsdDelta: 1n, collateralTokenDelta: 1n, priceSlippage: 1n, jupiterMinimumOut: null, counter: 1n, referral: stranger });
    assert.equal(code(() => requestTemplate(W, referred, false, 50_000, policy)), "referral");
  });

  const perSend: { name: string; over: (s: ReturnType<typeof setup>) => Partial<RequestFill>; code: SigningRefusalCode }[] = [
    { name: "a compute-unit price above the cap", over: () => ({ microLamports: 5_000_001 }), code: "compute-unit-price" },
    { name: "a compute-unit limit above the cap", over: () => ({ units: 1_400_001 }), code: "compute-unit-limit" },
    { name: "a priority fee above the cap", over: () => ({ units: 1_000_000, microLamports: 5_000_000 }), code: "priority-fee" },
    { name: "a request PDA of another counter", over: (s) => ({ positionRequest: s.pdas.take(s.slot).positionRequest }), code: "request-accounts" },
    { name: "a request token account of another request", over: (s) => ({ positionRequestAta: s.pdas.take(s.slot).positionRequestAta }), code: "request-accounts" },
    { name: "a stranger as the request", over: () => ({ positionRequest: stranger }), code: "request-accounts" },
    { name: "decrease data in an increase's template", over: () => ({ requestData: encodeDecreaseRequestData({ collateralUsdDelta: 0n, sizeUsdDelta: 1n, priceSlippage: 1n, jupiterMinimumOut: null, entirePosition: null, counter: 5n }) }), code: "perps-instruction" },
    { name: "the other side's data on this side's position", over: () => ({ requestData: encodeIncreaseRequestData({ sizeUsdDelta: 1n, collateralTokenDelta: 1n, side: "short", priceSlippage: 1n, jupiterMinimumOut: null, counter: 9n }) }), code: "request-accounts" },
  ];
  for (const c of perSend) {
    it(`refuses a send with ${c.name} (${c.code}), and signs the same send without it`, () => {
      const s = setup(k);
      assert.equal(code(() => signRequest(s.template, fillFor(s, c.over(s)), sign, s.memo)), c.code);
      assert.ok(signRequest(s.template, fillFor(s), sign, s.memo).bytes.length > 0);
    });
  }

  it("a template whose varying key is not the request's PDA is refused", () => {
    const sample = built(k, 1n);
    assert.throws(() => requestTemplate(W, { ...sample, positionRequestAta: W }, false, 50_000, policy), /must be a varying key|may vary only|writable and not a signer/);
  });
});
