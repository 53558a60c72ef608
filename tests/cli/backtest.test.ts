import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runBacktest } from "../../keeper/cli/backtest";
import { CliError, EXIT_USAGE } from "../../keeper/cli/cli-error";
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
    const r = await run("backtest", B3, "--paths", "40", "--days", "1", "--sweep", "--quiet", "--out", dir);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "", "--quiet prints no progress");
    assert.match(r.out, /^40 paths\./m);
    assert.match(r.out, /cheaper$/m, "savings against the clock at equal tracking error");
    const svg = fs.readFileSync(path.join(dir, "frontier.svg"), "utf8");
    assert.equal((svg.match(/<polyline /g) ?? []).length, 4, "clock, fixed, WW and Zakamouline");
    const json = JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8"));
    assert.equal(json.scenario.days, 1);
    assert.ok(json.summary.policies.length > 12, "the sweep adds policies");
  });

  const tiny = ["--spot", "100", "--days", "0.5", "--paths", "20", "--seed", "4", "--model", "gbm", "--vol", "0.8", "--option", "call:100:30:1:0.6", "--option", "put:100:30:1:0.6", "--workers", "1", "--quiet"];
  type Results = { scenario: { initialHedge: string; policies: object[] }; summary: { policies: { name: string; costUsd: number; costSe: number; trades: number; tradesSe: number }[] } };
  const results = (d: string) => JSON.parse(fs.readFileSync(path.join(d, "results.json"), "utf8")) as Results;

  it("--policy clock:12steps is a clock in grid steps, labelled so; results.json has initialHedge (target by default) and each policy's costSe and tradesSe", async () => {
    const r = await run("backtest", ...tiny, "--policy", "clock:12steps", "--policy", "clock:1step", "--policy", "clock:4h", "--policy", "ww:1", "--out", dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^clock 12 steps /m);
    assert.match(r.out, /^clock 1 step /m);
    assert.match(r.out, /^policy .* cost s\.e\. .* trades s\.e\. /m);
    const json = results(dir);
    assert.deepEqual(json.scenario.policies.slice(0, 3), [{ kind: "clock", intervalSteps: 12 }, { kind: "clock", intervalSteps: 1 }, { kind: "clock", intervalSec: 14_400 }]);
    assert.equal(json.scenario.initialHedge, "target");
    for (const p of json.summary.policies) assert.ok(Number.isFinite(p.costSe) && p.costSe >= 0 && Number.isFinite(p.tradesSe) && p.tradesSe >= 0, JSON.stringify(p));
    const ww = json.summary.policies[3]!;
    assert.ok(ww.costSe > 0 && ww.costSe < ww.costUsd, `a band policy's cost varies between paths: ${ww.costUsd} ± ${ww.costSe}`);
  });

  // main.ts registers the flag as --initial-hedge <mode>; these call the command's handler with the parsed option.
  it("--initial-hedge policy overrides the scenario file's initialHedge", async () => {
    const file = path.join(dir, "s.yaml");
    fs.writeFileSync(file, fs.readFileSync(B3, "utf8") + "initialHedge: target\n");
    await runBacktest(file, { paths: "4", days: "0.2", workers: "1", quiet: true, initialHedge: "policy", out: dir }, () => {}, () => {});
    assert.equal(results(dir).scenario.initialHedge, "policy");
  });

  it("--initial-hedge with another value is a usage error that names both choices", async () => {
    await assert.rejects(
      runBacktest(B3, { paths: "4", initialHedge: "sometimes", quiet: true, out: dir }, () => {}, () => {}),
      (e: unknown) => e instanceof CliError && e.exitCode === EXIT_USAGE && /--initial-hedge must be target \(.*\) or policy \(.*\), got "sometimes"/.test(e.message),
    );
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
    ["a clock of 0 steps", [...tiny, "--policy", "clock:0steps"], /--policy "clock:0steps": the clock's steps must be a whole number of at least 1, e\.g\. clock:12steps/],
    ["a clock of 1.5 steps", [...tiny, "--policy", "clock:1.5steps"], /--policy "clock:1\.5steps": the clock's steps must be a whole number of at least 1/],
    ["a clock of no number of steps", [...tiny, "--policy", "clock:steps"], /--policy "clock:steps": the clock's steps must be a whole number/],
    ["a clock that is not a duration", [...tiny, "--policy", "clock:soon"], /--policy "clock:soon": "soon" is not a duration such as 900, 15m, 4h or 1d, nor grid steps such as 12steps/],
    ["a clock between grid steps", [...tiny, "--policy", "clock:7m"], /policies\.0: clock policy: an interval of 420 s is not a whole number of the grid's 300 s steps .*clock:<N>steps.*300 s \(1 step\) or 600 s \(2 steps\)/],
    ["a file's clocks that a coarser --step-minutes leaves between steps", [B3, "--step-minutes", "30"], /policies\.3: clock policy: an interval of 900 s is not a whole number of the grid's 1800 s steps[\s\S]*sweep\.clock\.6: an interval of 900 s/],
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
