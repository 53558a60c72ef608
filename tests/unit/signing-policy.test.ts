import { strict as assert } from "node:assert";
import { ComputeBudgetProgram, Connection, Keypair, PublicKey, SystemProgram, TransactionInstruction } from "@solana/web3.js";
import fc from "fast-check";
import {
  MAINNET,
  type MarketSymbol,
  NATIVE_MINT,
  PROGRAM_IDS,
  associatedTokenAddress,
  closePositionRequest2,
  closePositionRequest3,
  createAtaIdempotent,
  createDecreasePositionMarketRequest,
  createIncreasePositionMarketRequest,
  wrapSolInstructions,
} from "../../programs-client";
import { configSchema } from "../../keeper/app/config";
import type { KeeperEvent } from "../../keeper/mandate/events";
import { buildRequest, needsSwap, requestAddresses } from "../../keeper/execution/request-builder";
import { simulateAndSign } from "../../keeper/execution/transaction";
import { KeeperMetrics } from "../../keeper/ops/metrics";
import { type SigningPolicy, type SigningRefusalCode, SigningPolicyError, checkSigningPolicy, signingPolicyFor } from "../../keeper/risk/signing-policy";
import type { Order } from "../../keeper/strategy/orders";

const wallet = Keypair.fromSeed(Uint8Array.from({ length: 32 }, (_, i) => i + 1));
const W = wallet.publicKey;
const stranger = Keypair.fromSeed(new Uint8Array(32).fill(200)).publicKey;
const SOL = MAINNET.custodies.SOL;
const USDC = MAINNET.custodies.USDC;

/** The policy the keeper signs under with the config's defaults. */
const execution = configSchema.parse({ rpc: { url: "http://127.0.0.1:8899" } }).execution;
const policy: SigningPolicy = signingPolicyFor(W, execution);
/** What the fee tracker bids at most by default, with a typical request's limit. */
const budget = [ComputeBudgetProgram.setComputeUnitLimit({ units: 200_000 }), ComputeBudgetProgram.setComputeUnitPrice({ microLamports: execution.priorityFee.capMicroLamports })];

function refusal(f: () => void): SigningPolicyError {
  try {
    f();
  } catch (e) {
    if (e instanceof SigningPolicyError) return e;
    throw new Error(`expected a SigningPolicyError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
  }
  throw new Error("expected a refusal, but the transaction passed the signing policy");
}

function assertRefused(instructions: TransactionInstruction[], code: SigningRefusalCode, message: RegExp, p: SigningPolicy = policy, feePayer: PublicKey = W) {
  const e = refusal(() => checkSigningPolicy(instructions, feePayer, p));
  assert.equal(e.code, code, e.message);
  assert.match(e.message, message);
}

const increase = (o: Partial<Order & { kind: "increase" }>): Order => ({
  kind: "increase",
  side: "short",
  sizeUsdDelta6: 1_500_000_000n,
  collateralUsd6: 500_000_000n,
  collateralTokenAmount: 500_000_000n,
  collateralToken: "underlying",
  priceSlippageUsd6: 140_000_000n,
  deltaTokens: -10,
  ...o,
});
const decrease = (o: Partial<Order & { kind: "decrease" }>): Order => ({
  kind: "decrease",
  side: "long",
  sizeUsdDelta6: 1_500_000_000n,
  collateralUsdDelta6: 500_000_000n,
  entirePosition: false,
  priceSlippageUsd6: 140_000_000n,
  deltaTokens: -10,
  ...o,
});

/** One of the keeper's transactions as mandate/submit.ts builds it: the request, wrapping SOL first when it posts SOL. */
function keeperRequest(market: MarketSymbol, order: Order, counter: bigint, cuPrice = execution.priorityFee.capMicroLamports, units = 200_000): TransactionInstruction[] {
  const addresses = requestAddresses(W, market, order, counter);
  const built = buildRequest(W, market, order, counter, order.kind === "increase" && needsSwap(addresses) ? 12_345n : null);
  const wrap = order.kind === "increase" && built.mint.equals(NATIVE_MINT) ? wrapSolInstructions(W, order.collateralTokenAmount) : [];
  return [ComputeBudgetProgram.setComputeUnitLimit({ units }), ComputeBudgetProgram.setComputeUnitPrice({ microLamports: cuPrice }), ...wrap, built.instruction];
}

/** The owner cancel mandate/cancel.ts sends for an overdue request. */
function keeperCancel(market: MarketSymbol, order: Order, counter: bigint): TransactionInstruction[] {
  const a = requestAddresses(W, market, order, counter);
  return [...budget, closePositionRequest3({ owner: W, pool: MAINNET.pool, position: a.position, positionRequest: a.positionRequest, mint: a.mint, custody: MAINNET.custodies[market].custody })];
}

const OWN: Record<string, TransactionInstruction[]> = {
  "increase short posting USDC": keeperRequest("SOL", increase({}), 1n),
  "increase long posting SOL, wrapped first": keeperRequest("SOL", increase({ side: "long", collateralTokenAmount: 3_000_000_000n, deltaTokens: 10 }), 2n),
  "increase long ETH funded in USDC, with jupiterMinimumOut": keeperRequest("ETH", increase({ side: "long", collateralToken: "usdc", deltaTokens: 1 }), 3n),
  "decrease of a long, proceeds in SOL": keeperRequest("SOL", decrease({}), 4n),
  "entire close of a BTC short, proceeds in USDC": keeperRequest("BTC", decrease({ side: "short", entirePosition: true, deltaTokens: 0.1 }), 5n),
  "closePositionRequest3 owner cancel of an increase": keeperCancel("SOL", increase({}), 6n),
  "closePositionRequest3 owner cancel of a decrease": keeperCancel("ETH", decrease({}), 7n),
};

describe("signing policy: the keeper's own transactions", () => {
  for (const [name, ixs] of Object.entries(OWN)) it(`signs ${name}`, () => checkSigningPolicy(ixs, W, policy));

  it("signs closePositionRequest2 for the wallet's own request", () => {
    const a = requestAddresses(W, "SOL", increase({}), 8n);
    checkSigningPolicy([closePositionRequest2({ owner: W, pool: MAINNET.pool, position: a.position, positionRequest: a.positionRequest, mint: a.mint })], W, policy);
  });

  it("signs a request naming the configured referral", () => {
    const referral = Keypair.fromSeed(new Uint8Array(32).fill(7)).publicKey;
    const withReferral = createIncreasePositionMarketRequest({ ...increaseArgs(), referral }).instruction;
    checkSigningPolicy([withReferral], W, { ...policy, referral });
  });

  it("any order the builders make, for any market, side, funding, counter and fee under the caps, passes (seeded)", () => {
    const market = fc.constantFrom<MarketSymbol>("SOL", "ETH", "BTC");
    const amounts = { sizeUsdDelta6: fc.bigInt(1n, 10n ** 12n), priceSlippageUsd6: fc.bigInt(1n, 10n ** 11n), deltaTokens: fc.double({ min: -1e4, max: 1e4, noNaN: true }) };
    const order: fc.Arbitrary<Order> = fc.oneof(
      fc.record({
        kind: fc.constant("increase" as const),
        side: fc.constantFrom("long" as const, "short" as const),
        collateralUsd6: fc.bigInt(1n, 10n ** 12n),
        collateralTokenAmount: fc.bigInt(1n, 10n ** 12n),
        collateralToken: fc.constantFrom("underlying" as const, "usdc" as const),
        ...amounts,
      }),
      fc.record({ kind: fc.constant("decrease" as const), side: fc.constantFrom("long" as const, "short" as const), collateralUsdDelta6: fc.bigInt(0n, 10n ** 12n), entirePosition: fc.boolean(), ...amounts }),
    );
    const fee = fc.integer({ min: 0, max: execution.signing.maxComputeUnitPriceMicroLamports }).chain((price) =>
      fc.tuple(fc.constant(price), fc.integer({ min: 1, max: Math.min(1_400_000, Math.floor((execution.signing.maxPriorityFeeLamports * 1e6) / Math.max(price, 1))) })),
    );
    fc.assert(
      fc.property(market, order, fc.bigInt(0n, 2n ** 64n - 1n), fee, fc.boolean(), (m, o, counter, [price, units], cancel) => {
        checkSigningPolicy(cancel ? keeperCancel(m, o, counter) : keeperRequest(m, o, counter, price, units), W, policy);
      }),
      { seed: 1414, numRuns: 150 },
    );
  });
});

function increaseArgs() {
  return {
    owner: W,
    pool: MAINNET.pool,
    custody: SOL.custody,
    collateralCustody: USDC.custody,
    inputMint: USDC.mint,
    side: "short" as const,
    sizeUsdDelta: 1_000_000_000n,
    collateralTokenDelta: 100_000_000n,
    priceSlippage: 140_000_000n,
    jupiterMinimumOut: null,
    counter: 1n,
  };
}

function decreaseArgs() {
  return {
    owner: W,
    pool: MAINNET.pool,
    custody: SOL.custody,
    collateralCustody: USDC.custody,
    side: "short" as const,
    desiredMint: USDC.mint,
    collateralUsdDelta: 0n,
    sizeUsdDelta: 1_000_000_000n,
    priceSlippage: 160_000_000n,
    jupiterMinimumOut: null,
    entirePosition: null,
    counter: 9n,
  };
}

function closeArgs() {
  const a = requestAddresses(W, "SOL", increase({}), 6n);
  return { owner: W, pool: MAINNET.pool, position: a.position, positionRequest: a.positionRequest, mint: a.mint };
}

describe("signing policy: each thing it signed when tried is refused, with a reason and a code", () => {
  it("a System transfer of 90 SOL from the wallet to a stranger", () => {
    assertRefused([...budget, SystemProgram.transfer({ fromPubkey: W, toPubkey: stranger, lamports: 90_000_000_000 })], "transfer-destination", /destination of a System transfer of 90000000000 lamports \(only the wallet's own wSOL account, to wrap SOL\) is /);
  });
  it("a transfer to the wallet's own account that is not its wSOL ATA, and one from another account", () => {
    assertRefused([SystemProgram.transfer({ fromPubkey: W, toPubkey: associatedTokenAddress(USDC.mint, W), lamports: 5 })], "transfer-destination", /System transfer/);
    assertRefused([SystemProgram.transfer({ fromPubkey: W, toPubkey: associatedTokenAddress(NATIVE_MINT, stranger), lamports: 5 })], "transfer-destination", /System transfer/);
    assertRefused([SystemProgram.transfer({ fromPubkey: stranger, toPubkey: associatedTokenAddress(NATIVE_MINT, W), lamports: 5 })], "foreign-signer", /asks .* to sign/);
  });
  it("a decrease whose receivingAccount is a stranger's token account, or the wallet's account of another mint", () => {
    const toStranger = createDecreasePositionMarketRequest({ ...decreaseArgs(), receivingAccount: associatedTokenAddress(USDC.mint, stranger) }).instruction;
    assertRefused([...budget, toStranger], "receiving-account", /receivingAccount, where the proceeds go/);
    const otherMint = createDecreasePositionMarketRequest({ ...decreaseArgs(), receivingAccount: associatedTokenAddress(SOL.mint, W) }).instruction;
    assertRefused([otherMint], "receiving-account", /receivingAccount/);
  });
  it("a closePositionRequest3 or closePositionRequest2 whose ownerAta is not the wallet's ATA of the request's mint", () => {
    const ownerAta = associatedTokenAddress(USDC.mint, stranger);
    assertRefused([closePositionRequest3({ ...closeArgs(), ownerAta, custody: SOL.custody })], "owner-ata", /closePositionRequest3's ownerAta, where the request's funds return/);
    assertRefused([closePositionRequest2({ ...closeArgs(), ownerAta })], "owner-ata", /closePositionRequest2's ownerAta/);
  });
  it("a referral other than none or the configured one", () => {
    const referral = createIncreasePositionMarketRequest({ ...increaseArgs(), referral: stranger }).instruction;
    assertRefused([referral], "referral", /names referral .*; only none \(execution.referral is not set\)/);
    const configured = Keypair.fromSeed(new Uint8Array(32).fill(7)).publicKey;
    assertRefused([referral], "referral", new RegExp(`only none or the configured ${configured.toBase58()}`), { ...policy, referral: configured });
    const decreaseReferral = createDecreasePositionMarketRequest({ ...decreaseArgs(), referral: stranger }).instruction;
    assertRefused([decreaseReferral], "referral", /createDecreasePositionMarketRequest names referral/);
  });
  it("a compute-unit price of 1e12 micro-lamports, a limit above the cap, a total fee above the cap, duplicates", () => {
    const request = createIncreasePositionMarketRequest(increaseArgs()).instruction;
    const limit = ComputeBudgetProgram.setComputeUnitLimit({ units: 200_000 });
    assertRefused([limit, ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1e12 }), request], "compute-unit-price", /bids 1000000000000 micro-lamports per CU, above the cap of 5000000/);
    assertRefused([ComputeBudgetProgram.setComputeUnitLimit({ units: 400_001 }), request], "compute-unit-limit", /asks for 400001 CU, above the cap of 400000/, { ...policy, maxComputeUnitLimit: 400_000 });
    // 5e6 µlamports x 1.4M CU = 7,000,000 lamports: under the default cap, over a cap of 0.001 SOL.
    const dear = [ComputeBudgetProgram.setComputeUnitLimit({ units: 1_400_000 }), ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 5_000_000 }), request];
    checkSigningPolicy(dear, W, policy);
    assertRefused(dear, "priority-fee", /priority fee of 7000000 lamports \(5000000 micro-lamports x 1400000 CU\) is above the cap of 1000000/, { ...policy, maxPriorityFeeLamports: 1_000_000 });
    // Without a limit the runtime grants 200k CU per instruction: the fee is judged on that.
    assertRefused([ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 5_000_000 }), request], "priority-fee", /1000000 lamports \(5000000 micro-lamports x 200000 CU\)/, { ...policy, maxPriorityFeeLamports: 999_999 });
    assertRefused([limit, limit, request], "compute-budget", /sets the compute-unit limit a second time/);
    const price = ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1 });
    assertRefused([price, price, request], "compute-budget", /sets the compute-unit price a second time/);
    assertRefused([ComputeBudgetProgram.requestHeapFrame({ bytes: 64 * 1024 }), request], "compute-budget", /RequestHeapFrame; only SetComputeUnitLimit and SetComputeUnitPrice/);
  });
  it("malformed System and ComputeBudget instructions are policy refusals, not plain Errors", () => {
    const system = (data: number[], keys = [W, associatedTokenAddress(NATIVE_MINT, W)]) =>
      new TransactionInstruction({ programId: SystemProgram.programId, keys: keys.map((pubkey, i) => ({ pubkey, isSigner: i === 0, isWritable: true })), data: Buffer.from(data) });
    assertRefused([system([2, 0])], "malformed", /System instruction that does not decode/);
    assertRefused([system([99, 0, 0, 0])], "malformed", /System instruction that does not decode/);
    assertRefused([system([])], "malformed", /does not decode/);
    assertRefused([system([2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], [W])], "malformed", /System transfer has 1 accounts, expected 2/);
    assertRefused([system([2, 0, 0, 0, 1, 0, 0])], "malformed", /System transfer that does not decode/);
    const cb = (data: number[]) => new TransactionInstruction({ programId: ComputeBudgetProgram.programId, keys: [], data: Buffer.from(data) });
    assertRefused([cb([3, 1])], "malformed", /ComputeBudget instruction that does not decode/);
    assertRefused([cb([77])], "malformed", /ComputeBudget instruction that does not decode/);
    const perps = createIncreasePositionMarketRequest(increaseArgs()).instruction;
    assertRefused([new TransactionInstruction({ ...perps, data: perps.data.subarray(0, 12) })], "malformed", /createIncreasePositionMarketRequest/);
    assertRefused([new TransactionInstruction({ ...perps, keys: perps.keys.slice(0, 5) })], "malformed", /has 5 accounts, expected 16/);
  });
  it("the wallet check: a fee payer or signer other than the mandate's wallet", () => {
    const request = createIncreasePositionMarketRequest(increaseArgs()).instruction;
    assertRefused([request], "fee-payer", /fee payer .* is not the mandate wallet/, policy, stranger);
    const strangers = createIncreasePositionMarketRequest({ ...increaseArgs(), owner: stranger }).instruction;
    assertRefused([strangers], "foreign-signer", /asks .* to sign/);
    const unsigned = new TransactionInstruction({ ...strangers, keys: strangers.keys.map((k) => ({ ...k, isSigner: false })) });
    assertRefused([unsigned], "perps-owner", /createIncreasePositionMarketRequest's owner is .*, expected /);
  });
  it("the perps accounts that must be the wallet's: fundingAccount, position, request and its ATA; an owner cancel with a keeper", () => {
    assertRefused([createIncreasePositionMarketRequest({ ...increaseArgs(), fundingAccount: associatedTokenAddress(USDC.mint, stranger) }).instruction], "funding-account", /fundingAccount \(the wallet's ATA of the input mint\)/);
    const inc = createIncreasePositionMarketRequest(increaseArgs()).instruction;
    const swapped = (name: number, key: PublicKey) => new TransactionInstruction({ ...inc, keys: inc.keys.map((k, i) => (i === name ? { ...k, pubkey: key } : k)) });
    assertRefused([swapped(4, stranger)], "request-accounts", /position \(the wallet's short PDA/);
    assertRefused([swapped(5, stranger)], "request-accounts", /positionRequest \(PDA of the position and counter 1\)/);
    assertRefused([closePositionRequest3({ ...closeArgs(), keeper: stranger, custody: SOL.custody })], "foreign-signer", /asks .* to sign/);
    const withKeeper = closePositionRequest3({ ...closeArgs(), keeper: stranger, custody: SOL.custody });
    withKeeper.keys[0]!.isSigner = false;
    assertRefused([withKeeper], "keeper-slot", /keeper \(an owner cancel names none\)/);
    assertRefused([closePositionRequest3({ ...closeArgs(), position: stranger, custody: SOL.custody })], "request-accounts", /position .* is not one of the wallet's positions/);
  });
  it("SPL Token and ATA instructions on anything but the wallet's own accounts", () => {
    const [create, , sync] = wrapSolInstructions(W, 5n) as [TransactionInstruction, TransactionInstruction, TransactionInstruction];
    const tokenTransfer = new TransactionInstruction({ programId: PROGRAM_IDS.token, keys: [associatedTokenAddress(USDC.mint, W), associatedTokenAddress(USDC.mint, stranger), W].map((pubkey) => ({ pubkey, isSigner: pubkey.equals(W), isWritable: true })), data: Buffer.from([3, 1, 0, 0, 0, 0, 0, 0, 0]) });
    assertRefused([tokenTransfer], "token-instruction", /SPL Token instruction 3 .* only SyncNative and CloseAccount/);
    assertRefused([new TransactionInstruction({ ...sync, keys: [{ ...sync.keys[0]!, pubkey: associatedTokenAddress(NATIVE_MINT, stranger) }] })], "token-account", /SyncNative updates/);
    const close = (destination: PublicKey) => new TransactionInstruction({ programId: PROGRAM_IDS.token, keys: [associatedTokenAddress(NATIVE_MINT, W), destination, W].map((pubkey) => ({ pubkey, isSigner: pubkey.equals(W), isWritable: true })), data: Buffer.from([9]) });
    checkSigningPolicy([close(W)], W, policy);
    assertRefused([close(stranger)], "transfer-destination", /where CloseAccount sends the lamports/);
    assertRefused([createAtaIdempotent(W, stranger, USDC.mint)], "ata-create", /the created ATA's owner/);
    checkSigningPolicy([create, createAtaIdempotent(W, W, USDC.mint)], W, policy);
  });
  it("other programs, other System instructions, perps instructions the keeper never sends", () => {
    const memo = new TransactionInstruction({ programId: new PublicKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"), keys: [], data: Buffer.from("hi") });
    assertRefused([...budget, memo], "foreign-program", /instruction 2 .* outside the allow-list/);
    assertRefused([SystemProgram.assign({ accountPubkey: W, programId: stranger })], "system-instruction", /System Assign/);
    const inc = createIncreasePositionMarketRequest(increaseArgs()).instruction;
    assertRefused([new TransactionInstruction({ ...inc, data: Buffer.alloc(16, 7) })], "perps-instruction", /never sends/);
  });
});

describe("signing policy: random foreign destinations and authorities are never signed (seeded)", () => {
  const own = Object.entries(OWN);

  it("every account slot of every instruction of every keeper transaction, replaced by a stranger, is refused", () => {
    let cases = 0;
    for (const [name, ixs] of own) {
      ixs.forEach((ix, i) => {
        ix.keys.forEach((_, slot) => {
          const tampered = ixs.map((x, j) => (j === i ? new TransactionInstruction({ ...x, keys: x.keys.map((k, s) => (s === slot ? { ...k, pubkey: stranger } : k)) }) : x));
          const e = refusal(() => checkSigningPolicy(tampered, W, policy));
          assert.ok(e.message.length > 0, `${name}, instruction ${i}, slot ${slot}`);
          cases++;
        });
      });
    }
    assert.ok(cases > 100, `${cases} slots tried`);
  });

  it("random strangers in random slots, random programs, random transfers and fee payers: none is signed", () => {
    const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => new PublicKey(b));
    const tamper = fc.oneof(
      // One slot, or several slots of one instruction, replaced, each by its own stranger.
      fc.record({ kind: fc.constant("slots" as const), ix: fc.nat(), slots: fc.uniqueArray(fc.nat(20), { minLength: 1, maxLength: 1 }), keys: fc.array(key, { minLength: 1, maxLength: 1 }) }),
      fc.record({ kind: fc.constant("slots" as const), ix: fc.nat(), slots: fc.uniqueArray(fc.nat(20), { minLength: 2, maxLength: 4 }), keys: fc.array(key, { minLength: 4, maxLength: 4 }) }),
      fc.record({ kind: fc.constant("program" as const), ix: fc.nat(), keys: fc.array(key, { minLength: 1, maxLength: 1 }) }),
      fc.record({ kind: fc.constant("transfer" as const), lamports: fc.bigInt(1n, 10n ** 12n), keys: fc.array(key, { minLength: 1, maxLength: 1 }) }),
      fc.record({ kind: fc.constant("payer" as const), keys: fc.array(key, { minLength: 1, maxLength: 1 }) }),
    );
    fc.assert(
      fc.property(fc.nat(own.length - 1), tamper, (t, x) => {
        const ixs = own[t]![1];
        const mine = (k: PublicKey) => ixs.some((ix) => ix.programId.equals(k) || ix.keys.some((m) => m.pubkey.equals(k))) || k.equals(W);
        fc.pre(x.keys.every((k) => !mine(k)));
        let tampered = ixs;
        let payer = W;
        if (x.kind === "program") {
          const i = x.ix % ixs.length;
          tampered = ixs.map((ix, j) => (j === i ? new TransactionInstruction({ ...ix, programId: x.keys[0]! }) : ix));
        } else if (x.kind === "slots") {
          const withKeys = ixs.flatMap((ix, j) => (ix.keys.length > 0 ? [j] : []));
          const i = withKeys[x.ix % withKeys.length]!;
          const slots = [...new Set(x.slots.map((s) => s % ixs[i]!.keys.length))];
          tampered = ixs.map((ix, j) => (j === i ? new TransactionInstruction({ ...ix, keys: ix.keys.map((k, s) => (slots.includes(s) ? { ...k, pubkey: x.keys[slots.indexOf(s)]! } : k)) }) : ix));
        } else if (x.kind === "transfer") tampered = [...ixs, SystemProgram.transfer({ fromPubkey: W, toPubkey: x.keys[0]!, lamports: x.lamports })];
        else payer = x.keys[0]!;
        refusal(() => checkSigningPolicy(tampered, payer, policy));
      }),
      { seed: 14, numRuns: 1000 },
    );
  });
});

describe("signing policy where the keeper signs (transaction.ts) and where it reports", () => {
  // Never contacted: the policy refuses before anything is simulated.
  const unreachable = new Connection("http://127.0.0.1:9");
  const blockhash = { blockhash: "11111111111111111111111111111111", lastValidBlockHeight: 1, fetchedAtMs: 0 };
  const cu = { margin: 1.2, minUnits: 50_000 };

  it("checks against the mandate's wallet, not whichever key is paying", async () => {
    const other = Keypair.generate();
    const request = createIncreasePositionMarketRequest({ ...increaseArgs(), owner: other.publicKey }).instruction;
    await assert.rejects(simulateAndSign(unreachable, [request], other, blockhash, 1000, cu, policy), (e: unknown) => e instanceof SigningPolicyError && e.code === "fee-payer");
  });
  it("refuses the 90 SOL transfer before simulating", async () => {
    const theft = SystemProgram.transfer({ fromPubkey: W, toPubkey: stranger, lamports: 90_000_000_000 });
    await assert.rejects(simulateAndSign(unreachable, [theft], wallet, blockhash, 1000, cu, policy), (e: unknown) => e instanceof SigningPolicyError && e.code === "transfer-destination");
  });
  it("a refusal on the event stream is counted in gk_signing_refusals_total by mandate and reason", async () => {
    const metrics = new KeeperMetrics();
    const veto = (reason: string): KeeperEvent => ({ kind: "veto", mandate: "desk", market: "SOL", reasons: ["refusing to sign: ..."], signingRefusal: reason });
    metrics.observe(veto("transfer-destination"));
    metrics.observe(veto("transfer-destination"));
    metrics.observe(veto("referral"));
    metrics.observe({ kind: "veto", mandate: "desk", market: "SOL", reasons: ["kill switch engaged"] });
    const text = await metrics.registry.metrics();
    assert.match(text, /gk_signing_refusals_total\{mandate="desk",reason="transfer-destination"\} 2/);
    assert.match(text, /gk_signing_refusals_total\{mandate="desk",reason="referral"\} 1/);
    assert.match(text, /gk_vetoes_total\{mandate="desk",market="SOL"\} 4/);
  });
});
