import { strict as assert } from "node:assert";
import {
  type AccountKind,
  MAINNET,
  decodeAccount,
  decodeMint,
  decodeTokenAccount,
  detectAccount,
  encodeAccount,
  oracleFromAgPriceFeed,
  oracleFromPriceUpdate,
  priceUsd6,
} from "../../programs-client";
import { DUMPS, loadDump, requireReference } from "../helpers/reference";

function decodeDump<K extends AccountKind>(kind: K, rel: string) {
  const dump = loadDump(rel);
  const d = decodeAccount(kind, dump.data, dump.owner);
  if (!d.ok) throw d.error;
  return { dump, value: d.value };
}

describe("decoders over real mainnet dumps", function () {
  before(requireReference);

  it("SOL custody: decimals 9, 6 bps, Pyth and Doves oracles, limits", () => {
    const { value: c } = decodeDump("Custody", DUMPS.solCustody);
    assert.equal(c.decimals, 9);
    assert.equal(c.increasePositionBps, 6n);
    assert.equal(c.decreasePositionBps, 6n);
    assert.equal(c.oracle.oracleAccount.toBase58(), "7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE");
    assert.equal(c.dovesAgOracle.toBase58(), "FYq2BWQ1V5P1WFBqr3qB2Kb5yHVvSv7upzKodgQE5zXh");
    assert.equal(c.dovesOracle.toBase58(), MAINNET.custodies.SOL.dovesEdge.toBase58());
    assert.equal(c.maxPositionSizeUsd, 10_000_000_000_000n);
    assert.equal(c.pricing.tradeImpactFeeScalar, 3_750_000_000_000_000n);
    assert.equal(c.pricing.maxLeverage, 5_000_000n);
    assert.equal(c.priceImpactBuffer.maxFeeBps, 50n);
    assert.equal(c.oracle.oracleType, "pyth");
    assert.ok(c.mint.equals(MAINNET.custodies.SOL.mint));
  });

  it("JLP pool: 5 custodies, maxRequestExecutionSec 45, AUM", () => {
    const { value: p } = decodeDump("Pool", DUMPS.pool);
    assert.equal(p.name, "Pool");
    assert.equal(p.custodies.length, 5);
    assert.deepEqual(
      p.custodies.map((c) => c.toBase58()),
      Object.values(MAINNET.custodies).map((c) => c.custody.toBase58()),
    );
    assert.equal(p.maxRequestExecutionSec, 45n);
    assert.equal(p.aumUsd, 921_723_508_552_819n);
  });

  it("Perpetuals: one pool, the mainnet admin", () => {
    const { value: p } = decodeDump("Perpetuals", DUMPS.perpetuals);
    assert.deepEqual(p.pools.map((k) => k.toBase58()), [MAINNET.pool.toBase58()]);
    assert.equal(p.admin.toBase58(), "CvQZZ23qYDWF2RUpxYJ8y9K4skmuvYEEjH7fK58jtipQ");
  });

  it("Doves SOL feed: price 8540079622, expo -8", () => {
    const { value: f } = decodeDump("AgPriceFeed", DUMPS.solAgPriceFeed);
    assert.equal(f.price, 8_540_079_622n);
    assert.equal(f.expo, -8);
    assert.equal(f.timestamp, 1_777_275_320n);
    assert.deepEqual(f.config, { maxAgPriceAgeSec: 10, maxPriceFeedAgeSec: 60, maxPriceDiffBps: 50n });
    assert.equal(priceUsd6(oracleFromAgPriceFeed(f)), 85_400_796n);
  });

  it("Pyth SOL PriceUpdateV2: price 21568137069, expo -8, publish_time 1735984087, Full", () => {
    const { value: u } = decodeDump("PriceUpdateV2", DUMPS.solPythPriceUpdate);
    assert.equal(u.verificationLevel, "full");
    assert.equal(u.priceMessage.price, 21_568_137_069n);
    assert.equal(u.priceMessage.conf, 20_134_469n);
    assert.equal(u.priceMessage.exponent, -8);
    assert.equal(u.priceMessage.publishTime, 1_735_984_087n);
    assert.equal(u.postedSlot, 311_798_332n);
    assert.equal(u.priceMessage.feedId.toString("hex"), MAINNET.custodies.SOL.pythFeedIdHex);
    const o = oracleFromPriceUpdate(u, { feedIdHex: MAINNET.custodies.SOL.pythFeedIdHex });
    assert.ok(o.ok);
    assert.equal(priceUsd6(o.value), 215_681_371n);
  });

  it("SPL token dumps: the SOL custody vault and the JLP mint", () => {
    const vault = decodeTokenAccount(loadDump(DUMPS.solVault).data);
    assert.ok(vault.ok);
    assert.ok(vault.value.mint.equals(MAINNET.custodies.SOL.mint));
    const mint = decodeMint(loadDump(DUMPS.jlpMint).data);
    assert.ok(mint.ok);
    assert.equal(mint.value.decimals, MAINNET.jlpDecimals);
  });

  const roundTrips: [AccountKind, string][] = [
    ["Perpetuals", DUMPS.perpetuals],
    ["Pool", DUMPS.pool],
    ["Custody", DUMPS.solCustody],
    ["AgPriceFeed", DUMPS.solAgPriceFeed],
    ["PriceUpdateV2", DUMPS.solPythPriceUpdate],
  ];
  for (const [kind, rel] of roundTrips) {
    it(`${kind}: re-encoding the decoded account gives the same bytes`, () => {
      const { dump, value } = decodeDump(kind, rel);
      // The accounts are allocated larger than their structs; the program leaves the rest zero.
      assert.ok(encodeAccount(kind, value, dump.data.length).equals(dump.data));
    });
  }

  it("detects every dump's kind from owner and discriminator", () => {
    for (const [kind, rel] of roundTrips) {
      const dump = loadDump(rel);
      const d = detectAccount(dump.owner, dump.data);
      assert.ok(d.ok, rel);
      assert.equal(d.value.kind, kind);
    }
  });

  it("a dump under the wrong owner or cut short is a typed error", () => {
    const dump = loadDump(DUMPS.solCustody);
    const wrongOwner = decodeAccount("Custody", dump.data, MAINNET.pool);
    assert.ok(!wrongOwner.ok && wrongOwner.error.reason === "wrong-owner");
    const short = decodeAccount("Custody", dump.data.subarray(0, 500), dump.owner);
    assert.ok(!short.ok && short.error.reason === "too-short");
    const asPool = decodeAccount("Pool", dump.data, dump.owner);
    assert.ok(!asPool.ok && asPool.error.reason === "wrong-discriminator");
  });
});
