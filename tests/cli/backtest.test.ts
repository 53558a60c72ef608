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

const B3 = path.join(__dirname, "../../config/scenarios/b3-jupiter-gamma-scalping.yaml");

describe("gamma-keeper backtest", function () {
  this.timeout(180_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-backtest-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("models collateral and liquidation from flags: a steep rally liquidates the 3x short hedge without the policy, never with it", async () => {
    const rally = ["backtest", "--spot", "150", "--days", "10", "--step-minutes", "30", "--paths", "40", "--seed", "5", "--model", "gbm", "--vol", "0.8", "--drift", "12"];
    const hedge = ["--option", "call:150:30:1:0.8", "--option", "put:150:30:1:0.8", "--policy", "clock:2h", "--tx-cost-usd", "0.002", "--target-leverage", "3", "--workers", "1", "--quiet"];
    const liquidations = (dir: string) => (JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8")) as { summary: { policies: { collateral: { liquidations: number } }[] } }).summary.policies[0]!.collateral.liquidations;
    const off = fs.mkdtempSync(path.join(os.tmpdir(), "gk-bt-"));
    const on = fs.mkdtempSync(path.join(os.tmpdir(), "gk-bt-"));
    const a = await run(...rally, ...hedge, "--no-collateral-policy", "--out", off);
    assert.equal(a.code, 0, a.err);
    const b = await run(...rally, ...hedge, "--collateral-policy", "--floor-sigmas", "3", "--out", on);
    assert.equal(b.code, 0, b.err);
    assert.ok(liquidations(off) > 0, `liquidated without the policy: ${liquidations(off)}`);
    assert.equal(liquidations(on), 0, "none with it");
    for (const dir of [off, on]) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runs a scenario from flags alone: Merton jumps, a short put, latency, tx fees; table, CSV and JSON", async () => {
    const r = await run(
      "backtest",
      ...["--spot", "150", "--days", "7", "--step-minutes", "30", "--paths", "200", "--seed", "3"],
      ...["--model", "merton", "--vol", "0.6", "--jumps-per-year", "10", "--jump-mean", "-0.04", "--jump-std", "0.08"],
      ...["--option", "put:140:7:-10:0.7", "--latency-sec", "2", "--tx-cost-usd", "0.002", "--impact-scalar", "1e15"],
      ...["--policy", "ww:0.3", "--policy", "clock:4h", "--workers", "2", "--out", dir],
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^policy +net mean/m);
    assert.match(r.out, /^WW γ=0\.3 /m);
    assert.match(r.out, /^clock 4h /m);
    assert.match(r.err, /paths 200\/200 \(100%\)/, "progress is shown");
    const csv = fs.readFileSync(path.join(dir, "results.csv"), "utf8").trim().split("\n");
    assert.equal(csv.length, 3);
    assert.ok(csv[0]!.startsWith("policy,netMean,netStd"));
    const json = JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8"));
    assert.equal(json.scenario.model.kind, "merton");
    assert.equal(json.scenario.costs.latencySec, 2);
    assert.equal(json.summary.policies.length, 2);
    assert.ok(json.summary.policies.every((p: { impactUsd: number; txUsd: number }) => p.impactUsd > 0 && p.txUsd > 0));
  });

  it("flags override a scenario file; --sweep draws the frontiers and prices them against the clock", async () => {
    const r = await run("backtest", B3, "--paths", "40", "--days", "5", "--step-minutes", "30", "--sweep", "--quiet", "--out", dir);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "", "--quiet prints no progress");
    assert.match(r.out, /^40 paths\./m);
    assert.match(r.out, /cheaper$/m, "savings against the clock at equal tracking error");
    const svg = fs.readFileSync(path.join(dir, "frontier.svg"), "utf8");
    assert.equal((svg.match(/<polyline /g) ?? []).length, 4, "clock, fixed, WW and Zakamouline");
    const json = JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8"));
    assert.equal(json.scenario.days, 5);
    assert.ok(json.summary.policies.length > 12, "the sweep adds policies");
  });

  it("replays a recorded price CSV, a window per path", async () => {
    const csv = path.join(dir, "prices.csv");
    const rows = ["timestamp,price", ...Array.from({ length: 3 * 24 * 60 }, (_, i) => `${1_700_000_000 + 60 * i},${(150 * Math.exp(0.02 * Math.sin(i / 97))).toFixed(4)}`)];
    fs.writeFileSync(csv, rows.join("\n"));
    const r = await run("backtest", "--replay", csv, "--spot", "150", "--days", "1", "--step-minutes", "15", "--paths", "20", "--option", "call:150:1:1:0.5", "--policy", "ww:1", "--quiet", "--workers", "1", "--out", dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^20 paths\./m);
  });

  const usage: Array<[string, string[], RegExp]> = [
    ["no file and too few flags", ["--spot", "100"], /not a valid scenario[\s\S]*days[\s\S]*--model/],
    ["a malformed policy", ["--spot", "100", "--days", "1", "--model", "gbm", "--vol", "0.5", "--static-tokens", "1", "--policy", "ww"], /--policy "ww": expected ww:<risk aversion>/],
    ["a malformed option", ["--option", "call:100:30"], /--option "call:100:30": expected kind:strike:expiryDays:quantity:impliedVol/],
    ["a number that is not one", ["--spot", "abc"], /--spot must be a number, got "abc"/],
    ["a replay file that cannot be read", ["--replay", "/nonexistent.csv", "--spot", "1", "--days", "1", "--static-tokens", "1", "--policy", "clock:1h"], /cannot read the replay prices \/nonexistent\.csv/],
  ];
  for (const [name, argv, message] of usage) {
    it(`${name} is a usage error with the fix (exit 2)`, async () => {
      const r = await run("backtest", ...argv, "--out", dir);
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, message);
    });
  }

  it("a missing scenario file is a usage error", async () => {
    const r = await run("backtest", path.join(dir, "nope.yaml"));
    assert.equal(r.code, 2);
    assert.match(r.err, /cannot read scenario .*nope\.yaml/);
  });
});
