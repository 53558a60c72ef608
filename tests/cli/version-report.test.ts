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

describe("report --csv FILE and --set", () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-report-"));
    fs.writeFileSync(path.join(dir, "journal.log"), "");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = path.join(__dirname, "../../config/localnet.example.yaml");
  // The example's wallet is a placeholder to fill in: --set fills it, as an operator trying the example would.
  const report = (stateDir: string, ...rest: string[]) =>
    run("report", "--config", config, "--set", `stateDir=${stateDir}`, "--set", "mandates.0.wallet=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "--mandate", "sol-straddle", ...rest);

  // FILE as given, then FILE with a .csv ending (any case) dropped plus -trades.csv and -liquidations.csv.
  const cases: [string, string[]][] = [
    ["nov.csv", ["nov.csv", "nov-trades.csv", "nov-liquidations.csv"]],
    ["NOV.CSV", ["NOV.CSV", "NOV-trades.csv", "NOV-liquidations.csv"]],
    ["nov", ["nov", "nov-trades.csv", "nov-liquidations.csv"]],
    ["nov.2026.csv", ["nov.2026.csv", "nov.2026-trades.csv", "nov.2026-liquidations.csv"]],
    ["nov.txt", ["nov.txt", "nov.txt-trades.csv", "nov.txt-liquidations.csv"]],
  ];
  for (const [csv, files] of cases) {
    it(`--csv ${csv} writes ${files.join(", ")} and names them`, async () => {
      const out = fs.mkdtempSync(path.join(dir, "out-"));
      const r = await report(dir, "--csv", path.join(out, csv));
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(fs.readdirSync(out).sort(), [...files].sort());
      assert.match(r.out, new RegExp(`wrote ${files.map((f) => path.join(out, f).replace(/[.]/g, "\\.")).join(".*")}`));
      assert.match(fs.readFileSync(path.join(out, files[1]!), "utf8"), /^\S+,/, "the trades file has a CSV header");
    });
  }

  it("--set stateDir decides where the journal is read", async () => {
    const r = await report(path.join(dir, "elsewhere"));
    assert.equal(r.code, 2);
    assert.match(r.err, /no journal at .*elsewhere/);
  });
});
