import { strict as assert } from "node:assert";
import { accountDiscriminator, perpsInstructionName } from "../../programs-client";
import { PERPETUALS_IDL } from "../../programs-client/idl";
import { anchorEventTag, dovesOracle, keyValues, perpsOracle, pythOracle, readVectorText, sha256, sighash, snakeCase } from "./borsh-oracle";

// Discriminators by Anchor's rules (vectors/anchor.txt) against carbon's hard-coded constants
// (vectors/carbon-jupiter-perpetuals.txt) and against what programs-client uses.
const carbon = readVectorText("carbon-jupiter-perpetuals.txt")
  .split("\n")
  .filter((l) => /^(account|instruction|event) /.test(l))
  .map((l) => {
    const [kind, name, hex, file] = l.split(" ") as [string, string, string, string];
    return { kind, name, hex, file };
  });

const perps = perpsOracle();

describe("conformance: discriminators", () => {
  it("the carbon vector holds the constants this suite relies on", () => {
    for (const name of ["Position", "PositionRequest", "Custody", "Pool", "Perpetuals"]) assert.ok(carbon.some((c) => c.kind === "account" && c.name === name), `carbon has no ${name}`);
    for (const name of ["CreateIncreasePositionMarketRequest", "CreateDecreasePositionMarketRequest", "IncreasePosition4", "DecreasePosition4", "IncreasePositionWithInternalSwap"])
      assert.ok(carbon.some((c) => c.kind === "instruction" && c.name === name), `carbon has no ${name}`);
    for (const name of ["IncreasePositionEvent", "DecreasePositionEvent", "ClosePositionRequestEvent"]) assert.ok(carbon.some((c) => c.kind === "event" && c.name === name), `carbon has no ${name}`);
  });

  for (const c of carbon) {
    it(`${c.kind} ${c.name}: sha256 rule = carbon's ${c.hex} (${c.file})`, () => {
      if (c.kind === "account") assert.equal(perps.accountDiscriminator(c.name).toString("hex"), c.hex);
      // carbon's file name is the Rust fn name: the sighash preimage.
      else if (c.kind === "instruction") assert.equal(sighash("global", c.file.replace(/^instructions\//, "").replace(/\.rs$/, "")).toString("hex"), c.hex);
      else assert.equal(anchorEventTag().toString("hex") + perps.eventDiscriminator(c.name).toString("hex"), c.hex);
    });
  }

  it("the public IDL's instruction names snake_case to carbon's fn names", () => {
    const idlNames = new Set((perps.idl.instructions ?? []).map((i) => snakeCase(i.name)));
    const missing = carbon.filter((c) => c.kind === "instruction").map((c) => c.file.replace(/^instructions\//, "").replace(/\.rs$/, "")).filter((n) => !idlNames.has(n) && n !== "close_position_request");
    assert.deepEqual(missing, [], "carbon instructions absent from the public IDL");
  });

  for (const kind of ["Perpetuals", "Pool", "Custody", "Position", "PositionRequest"] as const) {
    it(`programs-client accountDiscriminator(${kind}) = sha256("account:${kind}")[..8]`, () => {
      assert.equal(accountDiscriminator(kind).toString("hex"), perps.accountDiscriminator(kind).toString("hex"));
    });
  }
  it("programs-client accountDiscriminator(PriceUpdateV2) and (AgPriceFeed) follow the same rule", () => {
    assert.equal(accountDiscriminator("PriceUpdateV2").toString("hex"), pythOracle().accountDiscriminator("PriceUpdateV2").toString("hex"));
    // The Doves IDL names the account agPriceFeed; Anchor hashes the Rust ident, AgPriceFeed.
    assert.ok(dovesOracle().idl.accounts?.some((a) => a.name === "agPriceFeed"));
    assert.equal(accountDiscriminator("AgPriceFeed").toString("hex"), dovesOracle().accountDiscriminator("AgPriceFeed").toString("hex"));
  });

  for (const ix of PERPETUALS_IDL.instructions) {
    it(`programs-client instruction ${ix.name}: discriminator = sha256("global:${snakeCase(ix.name)}")[..8] and the name is in the public IDL`, () => {
      const expected = sighash("global", snakeCase(ix.name));
      assert.equal(Buffer.from(ix.discriminator).toString("hex"), expected.toString("hex"));
      assert.equal(perpsInstructionName(expected), ix.name);
      perps.instruction(ix.name);
    });
  }

  it("Anchor's EVENT_IX_TAG is sha256(\"anchor:event\")[..8] read big-endian, so its little-endian wire bytes are reversed", () => {
    assert.equal(BigInt(keyValues("anchor.txt").get("event_ix_tag_u64")!).toString(16).padStart(16, "0"), sha256("anchor:event").subarray(0, 8).toString("hex"));
    assert.equal(anchorEventTag().toString("hex"), "e445a52e51cb9a1d");
  });
});
