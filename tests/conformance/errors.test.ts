import { strict as assert } from "node:assert";
import { describeCustomError, perpsError, perpsErrorName } from "../../programs-client";
import { PERPETUALS_IDL } from "../../programs-client/idl";
import { type PublicIdl, loadVector, perpsOracle } from "./borsh-oracle";

// Jupiter Perps custom error codes: names and numbers as the public IDLs list them.
const publicErrors = perpsOracle().idl.errors ?? [];
const older = loadVector<PublicIdl>("jupiter-perpetuals.julianfssen.idl.json").errors ?? [];

describe("conformance: error codes", () => {
  it("the public IDL lists 6000-6066 without gaps; julianfssen's older list agrees on every code it has", () => {
    assert.deepEqual(publicErrors.map((e) => e.code), Array.from({ length: 67 }, (_, i) => 6000 + i));
    const byCode = new Map(publicErrors.map((e) => [e.code, e.name]));
    assert.deepEqual(older.filter((e) => byCode.get(e.code) !== e.name).map((e) => `${e.code} ${e.name} vs ${byCode.get(e.code)}`), []);
  });

  for (const e of publicErrors) {
    it(`${e.code} ${e.name}: programs-client names it so, with the public message`, () => {
      assert.equal(perpsErrorName(e.code), e.name);
      assert.equal(perpsError(e.code)?.msg, e.msg ?? "");
      assert.equal(describeCustomError(e.code), `${e.code} ${e.name}: ${e.msg ?? ""}`);
    });
  }

  it("the project's IDL has no error code the public IDL lacks", () => {
    const known = new Set(publicErrors.map((e) => `${e.code} ${e.name}`));
    assert.deepEqual((PERPETUALS_IDL.errors ?? []).map((e) => `${e.code} ${e.name}`).filter((x) => !known.has(x)), []);
  });
});
