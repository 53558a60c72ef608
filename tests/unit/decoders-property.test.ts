import { strict as assert } from "node:assert";
import { Keypair } from "@solana/web3.js";
import fc from "fast-check";
import {
  ACCOUNT_KINDS,
  type AccountKind,
  AccountDecodeError,
  MAINNET,
  accountDiscriminator,
  accountOwner,
  decodeAccount,
  decodeEventInstruction,
  decodeMint,
  decodeOracleAccount,
  decodeTokenAccount,
  detectAccount,
  encodeAccount,
} from "../../programs-client";
import { blank, makeCustody, makePool, makePosition, makePriceUpdate } from "../helpers/synthetic";

const RUNS = 300;

/** A valid encoding of each kind, made here so the property runs without ../shared. */
function validEncoding(kind: AccountKind): Buffer {
  const sol = MAINNET.custodies.SOL;
  switch (kind) {
    case "Custody":
      return encodeAccount(kind, makeCustody(sol));
    case "Pool":
      return encodeAccount(kind, makePool());
    case "Position":
      return encodeAccount(kind, makePosition(Keypair.generate().publicKey, sol, "short", 10n ** 9n, 150n * 10n ** 6n, 10n ** 8n));
    case "PositionRequest":
      return encodeAccount(kind, { ...blank(kind), priceSlippage: 1n, entirePosition: true, referral: sol.mint, counter: 9n });
    case "PriceUpdateV2":
      return encodeAccount(kind, makePriceUpdate(1n, 1n, -8, 1n, sol.pythFeedIdHex));
    default:
      return encodeAccount(kind, blank(kind));
  }
}

function assertTypedResult(f: () => { ok: boolean; error?: unknown }) {
  let result: { ok: boolean; error?: unknown };
  try {
    result = f();
  } catch (e) {
    assert.fail(`decoder threw instead of returning an error value: ${e}`);
  }
  if (!result.ok) assert.ok(result.error instanceof AccountDecodeError, `error is ${String(result.error)}`);
}

describe("decoders never throw (property)", () => {
  for (const kind of ACCOUNT_KINDS) {
    it(`${kind}: random bytes, random bytes behind the right discriminator`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 1500 }), fc.boolean(), (bytes, withDisc) => {
          const data = withDisc ? Buffer.concat([accountDiscriminator(kind), bytes]) : Buffer.from(bytes);
          assertTypedResult(() => decodeAccount(kind, data, accountOwner(kind)));
          assertTypedResult(() => detectAccount(accountOwner(kind), data));
        }),
        { numRuns: RUNS },
      );
    });

    it(`${kind}: every truncation of a valid account is a too-short error`, () => {
      const full = validEncoding(kind);
      assert.ok(decodeAccount(kind, full).ok);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: full.length - 1 }), (cut) => {
          const d = decodeAccount(kind, full.subarray(0, cut));
          assert.ok(!d.ok, `decoded ${cut} of ${full.length} bytes`);
          assert.equal(d.error.reason, "too-short");
          assert.equal(d.error.account, kind);
        }),
        { numRuns: Math.min(RUNS, full.length) },
      );
    });
  }

  it("oracle, SPL token and event decoders: random bytes give a value or a typed error", () => {
    const owners = [MAINNET.pool, accountOwner("PriceUpdateV2"), accountOwner("AgPriceFeed")];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(...owners), (bytes, owner) => {
        assertTypedResult(() => decodeOracleAccount(owner, bytes));
        assertTypedResult(() => decodeTokenAccount(bytes));
        assertTypedResult(() => decodeMint(bytes));
        assert.doesNotThrow(() => decodeEventInstruction(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it("Position: encode then decode is the identity for arbitrary field values", () => {
    const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    fc.assert(
      fc.property(fc.constantFrom("none", "long", "short"), u64, u64, u64, i64, fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }), (side, price, sizeUsd, collateralUsd, realisedPnlUsd, snap) => {
        const p = { ...blank("Position"), side: side as "long", price, sizeUsd, collateralUsd, realisedPnlUsd, cumulativeInterestSnapshot: snap };
        const bytes = encodeAccount("Position", p);
        assert.equal(bytes.length, 210);
        const d = decodeAccount("Position", bytes);
        assert.ok(d.ok);
        assert.deepEqual(d.value, p);
      }),
      { numRuns: RUNS },
    );
  });
});
