import { strict as assert } from "node:assert";
import { PublicKey } from "@solana/web3.js";
import fc from "fast-check";
import {
  MAINNET,
  PROGRAM_IDS,
  type OraclePrice,
  type Rounding,
  confRatioBps,
  decodeAccount,
  decodeOracleAccount,
  encodeAccount,
  oracleFromLegacyPyth,
  oracleFromPriceUpdate,
  priceAgeSec,
  scaleToUsd6,
} from "../../programs-client";
import { makePriceUpdate } from "../helpers/synthetic";

const SOL = MAINNET.custodies.SOL;

describe("oracle prices", () => {
  describe("scaleToUsd6 (exact integer conversion to USD x 1e6)", () => {
    const table: [bigint, number, Rounding, bigint][] = [
      [21_568_137_069n, -8, "nearest", 215_681_371n], // 215.68137069 -> 215.681371
      [21_568_137_049n, -8, "nearest", 215_681_370n],
      [21_568_137_050n, -8, "nearest", 215_681_371n], // half rounds away from zero
      [21_568_137_069n, -8, "floor", 215_681_370n],
      [21_568_137_061n, -8, "ceil", 215_681_371n],
      [-21_568_137_050n, -8, "nearest", -215_681_371n],
      [-21_568_137_069n, -8, "floor", -215_681_371n],
      [-21_568_137_069n, -8, "ceil", -215_681_370n],
      [8_540_079_622n, -8, "nearest", 85_400_796n],
      [123n, -6, "nearest", 123n],
      [5n, -3, "nearest", 5_000n],
      [7n, 2, "nearest", 700_000_000n],
      [1n, -12, "ceil", 1n],
      [1n, -12, "floor", 0n],
    ];
    for (const [value, expo, rounding, expected] of table) {
      it(`${value}e${expo} ${rounding} -> ${expected}`, () => assert.equal(scaleToUsd6(value, expo, rounding), expected));
    }

    it("floor <= nearest <= ceil, within one unit (property)", () => {
      fc.assert(
        fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.integer({ min: -18, max: 6 }), (v, e) => {
          const f = scaleToUsd6(v, e, "floor");
          const n = scaleToUsd6(v, e, "nearest");
          const c = scaleToUsd6(v, e, "ceil");
          assert.ok(f <= n && n <= c && c - f <= 1n);
        }),
      );
    });
  });

  it("conf/price in bps rounds up; Doves has none", () => {
    const p: OraclePrice = { price: 21_568_137_069n, conf: 20_134_469n, exponent: -8, publishTime: 0n, source: "pyth-v2" };
    assert.equal(confRatioBps(p), 10n); // 9.335 bps -> 10
    assert.equal(confRatioBps({ ...p, conf: null, source: "doves" }), null);
    assert.equal(priceAgeSec({ ...p, publishTime: 100n }, 130n), 30n);
  });

  it("PriceUpdateV2 at Partial verification: fields shift by one byte, and it is refused unless allowed", () => {
    const full = makePriceUpdate(21_568_137_069n, 20_134_469n, -8, 1_735_984_087n, SOL.pythFeedIdHex);
    const partial = { ...full, verificationLevel: { kind: "partial" as const, numSignatures: 13 } };
    const fullBytes = encodeAccount("PriceUpdateV2", full);
    const partialBytes = encodeAccount("PriceUpdateV2", partial);
    assert.equal(fullBytes.length, 133);
    assert.equal(partialBytes.length, 134);
    assert.equal(fullBytes[40], 1);
    assert.deepEqual([partialBytes[40], partialBytes[41]], [0, 13]);
    assert.equal(partialBytes.readBigInt64LE(74), 21_568_137_069n);
    assert.equal(fullBytes.readBigInt64LE(73), 21_568_137_069n);
    const decoded = decodeAccount("PriceUpdateV2", partialBytes, PROGRAM_IDS.pythReceiver);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value.verificationLevel, { kind: "partial", numSignatures: 13 });
    const refused = oracleFromPriceUpdate(decoded.value);
    assert.ok(!refused.ok && /partial/.test(refused.error.message));
    const allowed = oracleFromPriceUpdate(decoded.value, { allowPartial: true });
    assert.ok(allowed.ok && allowed.value.price === 21_568_137_069n);
    const wrongFeed = oracleFromPriceUpdate(decoded.value, { allowPartial: true, feedIdHex: MAINNET.custodies.BTC.pythFeedIdHex });
    assert.ok(!wrongFeed.ok && /feed id/.test(wrongFeed.error.message));
  });

  describe("legacy Pyth price accounts (@pythnetwork/client)", () => {
    /** A minimal v2 price account: header plus the aggregate, no components. */
    function legacyAccount(status: number, price: bigint, conf: bigint, expo: number, timestamp: bigint): Buffer {
      const b = Buffer.alloc(240);
      b.writeUInt32LE(0xa1b2c3d4, 0);
      b.writeUInt32LE(2, 4); // version
      b.writeUInt32LE(3, 8); // account type: price
      b.writeUInt32LE(240, 12);
      b.writeUInt32LE(1, 16); // price type
      b.writeInt32LE(expo, 20);
      b.writeBigInt64LE(timestamp, 96);
      new PublicKey(7).toBuffer().copy(b, 112);
      b.writeBigInt64LE(price, 208);
      b.writeBigUInt64LE(conf, 216);
      b.writeUInt32LE(status, 224);
      b.writeBigUInt64LE(1000n, 232);
      return b;
    }

    it("a Trading aggregate is a price, with exact components", () => {
      const d = decodeOracleAccount(PROGRAM_IDS.pythLegacyOracle, legacyAccount(1, 15_012_345_678n, 1_234_567n, -8, 1_700_000_000n));
      assert.ok(d.ok);
      assert.deepEqual(d.value, { price: 15_012_345_678n, conf: 1_234_567n, exponent: -8, publishTime: 1_700_000_000n, source: "pyth-legacy" });
    });

    it("Unknown or Halted status, a bad magic or a short buffer is an error value", () => {
      assert.ok(!oracleFromLegacyPyth(legacyAccount(0, 1n, 1n, -8, 1n)).ok);
      assert.ok(!oracleFromLegacyPyth(legacyAccount(2, 1n, 1n, -8, 1n)).ok);
      assert.ok(!oracleFromLegacyPyth(Buffer.alloc(240)).ok);
      assert.ok(!oracleFromLegacyPyth(legacyAccount(1, 1n, 1n, -8, 1n).subarray(0, 100)).ok);
    });
  });

  it("an account of another owner is not an oracle", () => {
    const d = decodeOracleAccount(MAINNET.pool, Buffer.alloc(134));
    assert.ok(!d.ok && d.error.reason === "wrong-owner");
  });
});
