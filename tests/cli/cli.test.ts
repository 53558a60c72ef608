import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { main } from "../../keeper/cli/main";
import { DUMPS, REFERENCE_DIR, requireReference } from "../helpers/reference";

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const scratch = mkdtempSync(path.join(tmpdir(), "gamma-keeper-cli-"));
const UNREACHABLE_RPC = "http://127.0.0.1:9/v2/SECRETKEY123?api-key=SECRETKEY123";

describe("gamma-keeper CLI", () => {
  describe("--help on every command", () => {
    for (const argv of [["--help"], ["inspect", "--help"], ["positions", "--help"]]) {
      it(argv.join(" "), async () => {
        const r = await run(...argv);
        assert.equal(r.code, 0);
        assert.match(r.out, /Usage: gamma-keeper/);
      });
    }
    it("an unknown command is a usage error (exit 2)", async () => {
      assert.equal((await run("frobnicate")).code, 2);
    });
  });

  describe("inspect <FILE.json>", function () {
    before(requireReference);
    const expected: [keyof typeof DUMPS, string][] = [
      ["perpetuals", "Perpetuals"],
      ["pool", "Pool"],
      ["solCustody", "Custody"],
      ["solAgPriceFeed", "AgPriceFeed"],
      ["solPythPriceUpdate", "PriceUpdateV2"],
      ["solVault", "TokenAccount"],
      ["jlpMint", "Mint"],
    ];
    for (const [dump, kind] of expected) {
      it(`${DUMPS[dump]} decodes as ${kind}`, async () => {
        const r = await run("inspect", path.join(REFERENCE_DIR, DUMPS[dump]));
        assert.equal(r.code, 0, r.err);
        const doc = JSON.parse(r.out);
        assert.equal(doc.kind, kind);
        if (kind === "Custody") {
          assert.equal(doc.account.decimals, 9);
          assert.equal(doc.account.increasePositionBps, "6", "integers print as strings");
        }
        if (kind === "AgPriceFeed") assert.equal(doc.account.price, "8540079622");
        if (kind === "PriceUpdateV2") assert.equal(doc.account.priceMessage.publishTime, "1735984087");
      });
    }

    it("a truncated copy exits 2 with a one-line reason (as a real process)", () => {
      const doc = JSON.parse(readFileSync(path.join(REFERENCE_DIR, DUMPS.solCustody), "utf8"));
      doc.account.data[0] = Buffer.from(doc.account.data[0], "base64").subarray(0, 600).toString("base64");
      const file = path.join(scratch, "truncated_custody.json");
      writeFileSync(file, JSON.stringify(doc));
      const p = spawnSync(process.execPath, ["--require", "tsx/cjs", path.resolve(__dirname, "../../keeper/cli/main.ts"), "inspect", file], {
        encoding: "utf8",
      });
      assert.equal(p.status, 2, p.stderr);
      assert.equal(p.stdout, "");
      assert.equal(p.stderr.trim().split("\n").length, 1);
      assert.match(p.stderr, /Custody: too-short/);
    });
  });

  describe("bad input exits 2 with the reason", () => {
    const cases: [string, () => string[], RegExp][] = [
      ["a file that is not JSON", () => [write("bad.json", "{nope"), ""], /not readable JSON/],
      ["JSON without account data", () => [write("empty.json", "{}"), ""], /expected \{"pubkey"/],
      ["an owner gamma-keeper does not decode", () => [write("foreign.json", JSON.stringify({ pubkey: "11111111111111111111111111111111", account: { owner: "Vote111111111111111111111111111111111111111", data: ["AAAA", "base64"] } })), ""], /not a program gamma-keeper decodes/],
      ["a missing .json file", () => [path.join(scratch, "missing.json"), ""], /no such file/],
      ["a string that is neither file nor address", () => ["not-an-address!", ""], /not a base58 public key/],
    ];
    for (const [name, args, reason] of cases) {
      it(name, async () => {
        const [target] = args();
        const r = await run("inspect", target!);
        assert.equal(r.code, 2);
        assert.match(r.err, reason);
      });
    }
    it("positions with a bad --owner", async () => {
      const r = await run("positions", "--owner", "xyz");
      assert.equal(r.code, 2);
      assert.match(r.err, /--owner "xyz" is not a base58 public key/);
    });
  });

  describe("RPC failures name the endpoint without its API key", () => {
    it("inspect <ADDRESS> against a dead RPC exits 1", async () => {
      const r = await run("inspect", "7xS2gz2bTp3fwCC7knJvUWTEU9Tycczu6VhJYKgi1wdz", "--rpc", UNREACHABLE_RPC);
      assert.equal(r.code, 1);
      assert.match(r.err, /http:\/\/127\.0\.0\.1:9\/\*\*\*/);
      assert.doesNotMatch(r.err, /SECRETKEY123/);
    });
    it("positions against a dead RPC exits 1", async () => {
      const r = await run("positions", "--owner", "7xS2gz2bTp3fwCC7knJvUWTEU9Tycczu6VhJYKgi1wdz", "--rpc", UNREACHABLE_RPC);
      assert.equal(r.code, 1);
      assert.doesNotMatch(r.err, /SECRETKEY123/);
    });
    it("an --rpc that is not http(s) is a usage error", async () => {
      const r = await run("positions", "--owner", "7xS2gz2bTp3fwCC7knJvUWTEU9Tycczu6VhJYKgi1wdz", "--rpc", "ftp://x/key");
      assert.equal(r.code, 2);
      assert.doesNotMatch(r.err, /key/);
    });
  });
});

function write(name: string, content: string): string {
  const file = path.join(scratch, name);
  writeFileSync(file, content);
  return file;
}
