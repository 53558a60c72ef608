import { strict as assert } from "node:assert";
import { ComputeBudgetProgram, Keypair, PublicKey, SystemProgram, TransactionInstruction } from "@solana/web3.js";
import { MAINNET, closePositionRequest3, createIncreasePositionMarketRequest } from "../../programs-client";
import { oracleVetoes } from "../../keeper/risk/oracle-guard";
import { mandateVetoes, orderVetoes, type MandateLimits, type RiskState } from "../../keeper/risk/limits";
import { checkSigningPolicy, SigningPolicyError } from "../../keeper/risk/signing-policy";

const guard = { maxAgeSec: 20, maxConfBps: 50, maxDivergenceBps: 100 };
const good = { pythPriceUsd6: 150_000_000n, pythAgeSec: 2, pythConfBps: 5, dovesPriceUsd6: 150_100_000n, dovesAgeSec: 1 };

describe("oracle guard", () => {
  it("passes fresh, tight, agreeing prices", () => assert.deepEqual(oracleVetoes(good, guard), []));
  it("names every reason not to trade", () => {
    assert.deepEqual(oracleVetoes({ ...good, pythAgeSec: 45 }, guard), ["Pyth price 45s old > 20s"]);
    assert.deepEqual(oracleVetoes({ ...good, pythConfBps: 80 }, guard), ["Pyth confidence 80 bps > 50 bps"]);
    assert.deepEqual(oracleVetoes({ ...good, pythPriceUsd6: 153_000_000n }, guard), ["Pyth and Doves 193 bps apart > 100 bps"]);
    assert.deepEqual(oracleVetoes({ ...good, dovesPriceUsd6: null, dovesAgeSec: null }, guard), ["Doves price unreadable (Jupiter fills at it)"]);
  });
});

const limits: MandateLimits = {
  maxNetDeltaTokens: 50,
  maxNotionalUsd6: 100_000_000_000n,
  maxLeverageBps: 50_000n,
  maxTradesPerHour: 3,
  dailyFeeBudgetUsd6: 100_000_000n,
  maxConsecutiveFailures: 3,
  breakerCooldownSec: 300,
};
const state: RiskState = { killSwitch: false, recentTradeTimesSec: [], feesTodayUsd6: 0n, consecutiveFailures: 0, lastFailureSec: null };

describe("mandate limits", () => {
  it("kill switch, trades per hour, fee budget", () => {
    assert.deepEqual(mandateVetoes(state, limits, 10_000), []);
    assert.deepEqual(mandateVetoes({ ...state, killSwitch: true }, limits, 10_000), ["kill switch engaged"]);
    assert.match(mandateVetoes({ ...state, recentTradeTimesSec: [6500, 7000, 9000] }, limits, 10_000)[0]!, /3 trades in the last hour/);
    assert.deepEqual(mandateVetoes({ ...state, recentTradeTimesSec: [6000, 7000, 9000] }, limits, 10_000), []);
    assert.match(mandateVetoes({ ...state, feesTodayUsd6: 100_000_000n }, limits, 10_000)[0]!, /daily fee budget spent/);
  });
  it("the circuit breaker opens after N failures and half-opens after its cooldown", () => {
    const failing = { ...state, consecutiveFailures: 3, lastFailureSec: 10_000 };
    assert.match(mandateVetoes(failing, limits, 10_100)[0]!, /circuit breaker open/);
    assert.deepEqual(mandateVetoes(failing, limits, 10_300), []);
    assert.deepEqual(mandateVetoes({ ...failing, consecutiveFailures: 2 }, limits, 10_100), []);
  });
  it("order limits: delta that grows past the cap, notional, leverage, fee, collateral the wallet lacks", () => {
    const funding = { token: "USDC", neededBase: 3_000_000_000n, availableBase: 3_000_000_000n, fix: "fund the hedging wallet with USDC" };
    const order = { nowSec: 0, netDeltaBeforeTokens: 80, netDeltaAfterTokens: 10, sizeAfterUsd6: 10_000_000_000n, collateralAfterUsd6: 3_000_000_000n, estimatedFeeUsd6: 6_000_000n, funding };
    assert.deepEqual(orderVetoes(order, state, limits), []);
    assert.equal(orderVetoes({ ...order, netDeltaBeforeTokens: 10, netDeltaAfterTokens: -60 }, state, limits).length, 1);
    assert.deepEqual(orderVetoes({ ...order, netDeltaAfterTokens: 60 }, state, limits), [], "a trade that reduces |delta| is allowed even above the cap");
    assert.match(orderVetoes({ ...order, sizeAfterUsd6: 200_000_000_000n, collateralAfterUsd6: 100_000_000_000n }, state, limits)[0]!, /max notional/);
    assert.match(orderVetoes({ ...order, collateralAfterUsd6: 1_000_000_000n }, state, limits)[0]!, /leverage after 100000 bps/);
    assert.match(orderVetoes(order, { ...state, feesTodayUsd6: 95_000_000n }, limits)[0]!, /exceed today's budget/);
    assert.deepEqual(orderVetoes({ ...order, funding: null }, state, limits), [], "a decrease posts nothing");
    assert.deepEqual(orderVetoes({ ...order, funding: { ...funding, availableBase: 2_999_999_999n } }, state, limits), [
      "the wallet can post 2999999999 base units of USDC, the order needs 3000000000: fund the hedging wallet with USDC",
    ]);
  });
});

describe("signing policy", () => {
  const wallet = Keypair.generate().publicKey;
  const sol = MAINNET.custodies.SOL;
  const request = createIncreasePositionMarketRequest({
    owner: wallet,
    pool: MAINNET.pool,
    custody: sol.custody,
    collateralCustody: MAINNET.custodies.USDC.custody,
    inputMint: MAINNET.custodies.USDC.mint,
    side: "short",
    sizeUsdDelta: 1_000_000_000n,
    collateralTokenDelta: 100_000_000n,
    priceSlippage: 140_000_000n,
    jupiterMinimumOut: null,
    counter: 1n,
  }).instruction;
  const budget = [ComputeBudgetProgram.setComputeUnitLimit({ units: 100_000 }), ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1000 })];

  it("signs compute budget + a request owned by the wallet, and wrapping its own SOL", () => {
    checkSigningPolicy([...budget, request], wallet, wallet);
    checkSigningPolicy([SystemProgram.transfer({ fromPubkey: wallet, toPubkey: Keypair.generate().publicKey, lamports: 5 })], wallet, wallet);
  });
  it("signs the owner's cancel of its own request (closePositionRequest3 with no keeper), not one for another owner", () => {
    const cancel = (owner: PublicKey) =>
      closePositionRequest3({ owner, pool: MAINNET.pool, position: sol.custody, positionRequest: sol.custody, mint: MAINNET.custodies.USDC.mint, custody: sol.custody });
    checkSigningPolicy([...budget, cancel(wallet)], wallet, wallet);
    assert.throws(() => checkSigningPolicy([cancel(Keypair.generate().publicKey)], wallet, wallet), /closePositionRequest3 names owner .* not the mandate wallet/);
  });
  it("refuses a foreign program", () => {
    const foreign = new TransactionInstruction({ programId: new PublicKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"), keys: [], data: Buffer.from("hi") });
    assert.throws(() => checkSigningPolicy([...budget, request, foreign], wallet, wallet), (e: unknown) => e instanceof SigningPolicyError && /instruction 3 .* outside the allow-list/.test(e.message));
  });
  it("refuses a request for another owner, another signer, a transfer from elsewhere, a foreign fee payer", () => {
    const other = Keypair.generate().publicKey;
    assert.throws(() => checkSigningPolicy([request], other, other), /asks .* to sign/);
    assert.throws(() => checkSigningPolicy([SystemProgram.transfer({ fromPubkey: other, toPubkey: wallet, lamports: 5 })], wallet, wallet), SigningPolicyError);
    assert.throws(() => checkSigningPolicy([request], other, wallet), /fee payer/);
    const withForeignSigner = new TransactionInstruction({ ...request, keys: [...request.keys, { pubkey: other, isSigner: true, isWritable: false }] });
    assert.throws(() => checkSigningPolicy([withForeignSigner], wallet, wallet), /asks .* to sign/);
  });
  it("refuses System instructions other than transfers and perps instructions the keeper never sends", () => {
    assert.throws(() => checkSigningPolicy([SystemProgram.assign({ accountPubkey: wallet, programId: wallet })], wallet, wallet), /System Assign/);
    const fill = new TransactionInstruction({ ...request, data: Buffer.alloc(16, 7) });
    assert.throws(() => checkSigningPolicy([fill], wallet, wallet), /never sends/);
  });
});
