import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { ACCOUNT_KINDS, accountDiscriminator } from "../../programs-client";
import { DOVES_IDL, PERPETUALS_IDL, PYTH_RECEIVER_IDL } from "../../programs-client/idl";

const sha8 = (s: string) => createHash("sha256").update(s).digest().subarray(0, 8).toString("hex");
const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

// Every discriminator listed in reference/jupiter-perps.md §2, §3, §5 and pyth.md §2b.
const ACCOUNTS: [string, string][] = [
  ["Perpetuals", "1ca762bf68526cc4"],
  ["Pool", "f19a6d0411b16dbc"],
  ["Custody", "01b830515d833f91"],
  ["Position", "aabc8fe47a40f7d0"],
  ["PositionRequest", "0c26fac72e9a20d8"],
  ["BorrowPosition", "f38c148b20f37237"],
  ["TokenLedger", "9cf709bc366c554d"],
  ["StakeInfo", "423e44466cb3b7eb"],
  ["AgPriceFeed", "70f98bd9d7d0f936"],
  ["PriceUpdateV2", "22f123639d7ef4cd"],
];
const INSTRUCTIONS: [string, string][] = [
  ["createIncreasePositionMarketRequest", "b855c71869ab9c38"],
  ["createDecreasePositionMarketRequest", "4ac6c356c163014f"],
  ["createDecreasePositionRequest2", "6940c952fa0e6d4d"],
  ["updateDecreasePositionRequest2", "90c8f9ff6cd9f974"],
  ["closePositionRequest2", "7944a21cd82fc842"],
  ["closePositionRequest3", "7a822112d32ca13a"],
  ["closePositionRequest", "2869d9bcdc2d6d6e"],
  ["increasePosition4", "439335172b391043"],
  ["increasePositionWithInternalSwap", "72376a8cc7dd2070"],
  ["decreasePosition4", "b9a172af609403aa"],
  ["instantIncreasePosition", "a47e44b6dfa640b7"],
  ["instantDecreasePosition", "2e17f02c1e8a5e8c"],
  ["instantDecreasePosition2", "a2bfc83e8b3eb011"],
  ["instantCreateLimitOrder", "c225c37b287f7e9c"],
  ["instantUpdateLimitOrder", "88f5e53a798d0ccf"],
  ["instantCreateTpsl", "7562427f1e3249b9"],
  ["instantUpdateTpsl", "90e47225a5f26f65"],
  ["liquidateFullPosition4", "40b05833a8bc9caf"],
];
const EVENTS: [string, string][] = [
  ["IncreasePositionEvent", "f5715534d6bb9984"],
  ["DecreasePositionEvent", "409c2b4a6d83107f"],
  ["InstantIncreasePositionEvent", "cdec3904d16a5745"],
  ["ClosePositionRequestEvent", "15225c9ee01db4f3"],
  ["LiquidateFullPositionEvent", "806547a880485654"],
];
const IDLS = [PERPETUALS_IDL, PYTH_RECEIVER_IDL, DOVES_IDL];
const hex = (bytes: number[]) => Buffer.from(bytes).toString("hex");

describe("discriminators", () => {
  describe("accounts: sha256(\"account:Name\")[0..8]", () => {
    for (const [name, expected] of ACCOUNTS) {
      it(`${name} = ${expected}`, () => {
        assert.equal(sha8(`account:${name}`), expected);
        const inIdl = IDLS.flatMap((i) => i.accounts ?? []).find((a) => a.name === name);
        if (inIdl) assert.equal(hex(inIdl.discriminator), expected, `IDL entry for ${name}`);
      });
    }
    it("the decoders use the IDL's discriminator for every account kind", () => {
      for (const kind of ACCOUNT_KINDS) {
        assert.equal(accountDiscriminator(kind).toString("hex"), ACCOUNTS.find(([n]) => n === kind)![1]);
      }
    });
  });

  describe("instructions: sha256(\"global:snake_name\")[0..8]", () => {
    for (const [name, expected] of INSTRUCTIONS) {
      it(`${name} = ${expected}`, () => {
        assert.equal(sha8(`global:${snake(name)}`), expected);
        const inIdl = PERPETUALS_IDL.instructions.find((i) => i.name === name);
        if (inIdl) assert.equal(hex(inIdl.discriminator), expected, `IDL entry for ${name}`);
      });
    }
    it("the IDL carries exactly the instructions the keeper and the fill emulator use", () => {
      assert.deepEqual(PERPETUALS_IDL.instructions.map((i) => i.name).sort(), [
        "closePositionRequest2",
        "closePositionRequest3",
        "createDecreasePositionMarketRequest",
        "createIncreasePositionMarketRequest",
        "decreasePosition4",
        "increasePosition4",
        "increasePositionWithInternalSwap",
        "liquidateFullPosition4",
      ]);
    });
  });

  describe("events: sha256(\"event:Name\")[0..8]", () => {
    for (const [name, expected] of EVENTS) {
      it(`${name} = ${expected}`, () => {
        assert.equal(sha8(`event:${name}`), expected);
        const inIdl = (PERPETUALS_IDL.events ?? []).find((e) => e.name === name);
        if (inIdl) assert.equal(hex(inIdl.discriminator), expected, `IDL entry for ${name}`);
      });
    }
  });

  it("error codes run 6000..6066 without gaps", () => {
    const codes = (PERPETUALS_IDL.errors ?? []).map((e) => e.code);
    assert.deepEqual(codes, Array.from({ length: 67 }, (_, i) => 6000 + i));
  });
});
