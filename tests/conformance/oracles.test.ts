import { strict as assert } from "node:assert";
import { Keypair, PublicKey } from "@solana/web3.js";
import { PROGRAM_IDS, decodeAccount, decodeOracleAccount, oracleFromPriceUpdate } from "../../programs-client";
import { DUMPS, loadDump, requireReference } from "../helpers/reference";
import { type Value, dovesOracle, loadVector, pythOracle, readVectorText } from "./borsh-oracle";
import { diffValues } from "./compare";
import { VIXEN } from "./mainnet-vectors";

// Pyth's PriceUpdateV2 (layout from pyth-crosschain's receiver SDK) and Doves' AgPriceFeed (julianfssen's Doves IDL).
const pyth = pythOracle();
const doves = dovesOracle();
const LEN = loadVector<{ LEN: number }>("pyth-price-update-v2.layout.json").LEN;
const SOL_FEED = /sol_usd_feed_id=([0-9a-f]+)/.exec(readVectorText("pda-seeds.txt"))![1]!;
const RECEIVER = new PublicKey("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");
const DOVES = new PublicKey("DoVEsk76QybCEHQGzkvYPWLQu9gzNoZZZt3TPiL597e");

const priceMessage = (price: bigint, exponent: bigint): { [k: string]: Value } => ({
  feedId: SOL_FEED,
  price,
  conf: 7_151_281n,
  exponent,
  publishTime: 1_777_300_000n,
  prevPublishTime: 1_777_299_999n,
  emaPrice: price - 12_345n,
  emaConf: 8_000_000n,
});
const update = (verificationLevel: Value, price = 14_321_098_765n): { [k: string]: Value } => ({
  writeAuthority: Keypair.generate().publicKey.toBase58(),
  verificationLevel,
  priceMessage: priceMessage(price, -8n),
  postedSlot: 401_338_012n,
});

describe("conformance: Pyth PriceUpdateV2 and Doves AgPriceFeed", () => {
  it(`PriceUpdateV2::LEN ${LEN} = the largest Borsh encoding (Partial) + the discriminator`, () => {
    assert.equal(8 + pyth.borshMaxSize({ defined: "PriceUpdateV2" })!, LEN);
  });

  for (const [label, level, used] of [
    ["Full (one tag byte)", "Full", LEN - 1],
    ["Partial { numSignatures: 5 } (tag + count)", { Partial: { numSignatures: 5n } }, LEN],
  ] as const) {
    it(`PriceUpdateV2 ${label}: programs-client decodes a ${LEN}-byte account field for field`, () => {
      const value = update(level as Value);
      const bytes = pyth.encodeAccount("PriceUpdateV2", value, LEN);
      assert.equal(pyth.decodeAccount("PriceUpdateV2", bytes).consumed, used);
      const d = decodeAccount("PriceUpdateV2", bytes, RECEIVER);
      assert.ok(d.ok, d.ok ? "" : d.error.message);
      assert.deepEqual(diffValues(value, d.value), []);
    });
  }

  it("the keeper takes a Full update's price and refuses a Partial one unless allowed", () => {
    const full = decodeAccount("PriceUpdateV2", pyth.encodeAccount("PriceUpdateV2", update("Full"), LEN), RECEIVER);
    const partial = decodeAccount("PriceUpdateV2", pyth.encodeAccount("PriceUpdateV2", update({ Partial: { numSignatures: 5n } }), LEN), RECEIVER);
    assert.ok(full.ok && partial.ok);
    const p = oracleFromPriceUpdate(full.value);
    assert.ok(p.ok);
    assert.deepEqual([p.value.price, p.value.exponent, p.value.conf], [14_321_098_765n, -8, 7_151_281n]);
    assert.equal(oracleFromPriceUpdate(partial.value).ok, false);
    assert.equal(oracleFromPriceUpdate(partial.value, { allowPartial: true }).ok, true);
  });

  it("AgPriceFeed: a value encoded from the public Doves IDL decodes in programs-client field for field (negative expo)", () => {
    const value: { [k: string]: Value } = {
      mint: "So11111111111111111111111111111111111111112",
      edgeFeed: Keypair.generate().publicKey.toBase58(),
      clFeed: Keypair.generate().publicKey.toBase58(),
      pythFeed: Keypair.generate().publicKey.toBase58(),
      pythFeedId: SOL_FEED,
      price: 143_210_987n,
      expo: -6n,
      timestamp: 1_777_300_001n,
      config: { maxAgPriceAgeSec: 5n, maxPriceFeedAgeSec: 10n, maxPriceDiffBps: 150n },
      bump: 254n,
    };
    const bytes = doves.encodeAccount("agPriceFeed", value, 394, "AgPriceFeed");
    const d = decodeAccount("AgPriceFeed", bytes, DOVES);
    assert.ok(d.ok, d.ok ? "" : d.error.message);
    assert.deepEqual(diffValues(value, d.value), []);
    const o = decodeOracleAccount(DOVES, bytes);
    assert.ok(o.ok);
    assert.deepEqual([o.value.price, o.value.exponent, o.value.publishTime], [143_210_987n, -6, 1_777_300_001n]);
  });

  describe("mainnet dumps in ../shared/reference", function () {
    before(requireReference);
    it("SOL PriceUpdateV2: the SOL custody's oracle account, owned by the receiver, LEN bytes, the SOL/USD feed; both decoders agree", () => {
      const dump = loadDump(DUMPS.solPythPriceUpdate);
      assert.equal(dump.pubkey.toBase58(), VIXEN.custody.fields["oracle.oracleAccount"]);
      assert.equal(dump.owner.toBase58(), PROGRAM_IDS.pythReceiver.toBase58());
      assert.equal(dump.data.length, LEN);
      const oracle = pyth.decodeAccount("PriceUpdateV2", dump.data);
      assert.equal((oracle.value.priceMessage as { [k: string]: Value }).feedId, SOL_FEED);
      const d = decodeAccount("PriceUpdateV2", dump.data, dump.owner);
      assert.ok(d.ok, d.ok ? "" : d.error.message);
      assert.deepEqual(diffValues(oracle.value, d.value), []);
    });

    it("SOL AgPriceFeed: the SOL custody's dovesAgOracle, owned by Doves; both decoders agree", () => {
      const dump = loadDump(DUMPS.solAgPriceFeed);
      assert.equal(dump.pubkey.toBase58(), VIXEN.custody.fields.dovesAgOracle);
      assert.equal(dump.owner.toBase58(), DOVES.toBase58());
      const oracle = doves.decodeAccount("agPriceFeed", dump.data, "AgPriceFeed");
      assert.ok(oracle.consumed <= dump.data.length);
      assert.equal(oracle.value.mint, "So11111111111111111111111111111111111111112");
      const d = decodeAccount("AgPriceFeed", dump.data, dump.owner);
      assert.ok(d.ok, d.ok ? "" : d.error.message);
      assert.deepEqual(diffValues(oracle.value, d.value), []);
    });
  });
});
