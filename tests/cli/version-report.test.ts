import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../keeper/cli/main";

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("gamma-keeper --version", () => {
  const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8")) as { version: string };
  for (const flag of ["--version", "-V"]) {
    it(`${flag} prints package.json's version (${version}) and exits 0`, async () => {
      const r = await run(flag);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, version);
    });
  }
});
