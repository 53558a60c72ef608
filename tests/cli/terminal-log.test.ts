import { strict as assert } from "node:assert";
import { type ChildProcess, execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../keeper/cli/main";
import { demoReportCommand } from "../../keeper/cli/run";
import { spawnCli } from "../helpers/wait";

/**
 * `npm start`'s console, as a person at a terminal and a log shipper behind a pipe get it: the embedded demo (120x
 * speed) for a few seconds, once under a pseudo-terminal (util-linux `script`) and once into a pipe, side by side.
 */
const MAIN = path.join(__dirname, "../../keeper/cli/main.ts");
const hasScript = spawnSync("script", ["--version"]).status === 0;
// A base58 run as long as a public key or signature: printed whole, it is the noise the terminal format cuts.
const FULL_KEY = /[1-9A-HJ-NP-Za-km-z]{32,}/;

/** The demo under a pseudo-terminal: what a person at the terminal reads, colours and carriage returns removed. */
function underTerminal(args: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile("script", ["-qfec", `${process.execPath} --import tsx ${MAIN} ${args}`, "/dev/null"], { timeout: 90_000, maxBuffer: 16 << 20 }, (e, stdout) =>
      e ? reject(e) : resolve(stdout.replace(/\x1b\[[0-9;]*m/g, "").replace(/\r/g, "").split("\n").filter(Boolean)),
    );
  });
}

/** The words a POSIX shell makes of `command`, as a user pasting it would get them. */
function shellWords(command: string): string[] {
  const p = spawnSync("sh", ["-c", `set -- ${command}; printf '%s\\0' "$@"`], { encoding: "utf8" });
  assert.equal(p.status, 0, p.stderr);
  return p.stdout.split("\0").slice(0, -1);
}

describe("the demo's report command pastes into a shell as it was printed", () => {
  const cases: [string, string, string][] = [
    // Only the quoting is tested: the paths are never touched, and stand for this machine's temporary directory.
    ["a plain temporary path", path.join(os.tmpdir(), "gamma-keeper-demo-Ab1", "config.json"), "sol-straddle"],
    ["spaces and a single quote in TMPDIR", "/home/o'brien/my tmp/gamma-keeper-demo-x/config.json", "sol-straddle"],
    ["shell characters", path.join(os.tmpdir(), '$HOME `id` "x" \\ ; & |', "config.json"), "m1"],
    ["a mandate name that needs quoting", path.join(os.tmpdir(), "d", "config.json"), "dao's hedge"],
  ];
  for (const [name, config, mandate] of cases) {
    it(name, () => assert.deepEqual(shellWords(demoReportCommand(config, mandate)), ["npx", "--", "gamma-keeper", "report", "--config", config, "--mandate", mandate]));
  }
});

describe("the demo's console: pretty on a terminal, JSON into a pipe", function () {
  this.timeout(120_000);
  const children: ChildProcess[] = [];
  const kept: string[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    for (const dir of kept) fs.rmSync(dir, { recursive: true, force: true });
  });

  let pretty: string[] = [];
  let piped: string[] = [];
  before(async function () {
    if (!hasScript) {
      console.log("      skipped: no util-linux `script` to run the keeper under a pseudo-terminal (apt-get install util-linux)");
      this.skip();
    }
    const pipe = spawnCli(["run", "--duration", "8"], children);
    [pretty] = await Promise.all([underTerminal("run --duration 20 --keep-state"), pipe.exited]);
    piped = pipe.lines.filter(Boolean);
  });

  it("on a terminal: one human line per event, no JSON, no field dump", () => {
    const logLines = pretty.filter((l) => /^\[\d\d:\d\d:\d\d\] /.test(l));
    assert.ok(logLines.length > 10, pretty.join("\n"));
    assert.deepEqual(pretty.filter((l) => l.startsWith("{") || /^\s+\w+: /.test(l)), [], "no JSON and no indented fields");
    assert.ok(logLines.some((l) => / FILLED short \$[\d,.]+ → \$[\d,.]+ at \$[\d,.]+ .*; fee \$[\d.]+ \([\d.]+%, impact \$[\d.]+\), borrow \$[\d.]+; .*; tx \w{4}…\w{3}; req \w{4}…\w{3}$/.test(l)), pretty.join("\n"));
  });

  it("on a terminal: signatures and addresses cut short, each once per line; dollars, not USD×1e6", () => {
    for (const line of pretty.filter((l) => /^\[\d\d:\d\d:\d\d\] /.test(l))) {
      assert.doesNotMatch(line, FULL_KEY, line);
      const keys = line.match(/\w{4}…\w{3}/g) ?? [];
      assert.equal(new Set(keys).size, keys.length, `a key twice: ${line}`);
      assert.doesNotMatch(line.replace(/slot \d+/, ""), /\d{7,}|USD×1e6/, line);
    }
  });

  it("on a terminal: a heartbeat while holding, and a final state per market in the summary", () => {
    assert.ok(pretty.some((l) => / HOLDING at \$[\d,.]+: net delta [+-]?[\d.]+ SOL; hedge [+-]?[\d.]+ SOL (in|outside) band -?[\d.]+ ± [\d.]+ SOL; P&L /.test(l)), pretty.join("\n"));
    const final = pretty.find((l) => / sol-straddle SOL FINAL /.test(l));
    assert.ok(final, pretty.join("\n"));
    assert.match(final, /net delta [+-]?[\d.]+ SOL; hedge [+-]?[\d.]+ SOL (in|outside) band .*, worth \$[\d,.]+ at \$[\d,.]+; \d+ of \d+ requests filled, fees \$[\d.]+; P&L [+-]?\$[\d,.]+ \(gamma [+-]?\$[\d.]+, theta [+-]?\$[\d.]+, delta [+-]?\$[\d.]+, fees [+-]?\$[\d.]+, borrow [+-]?\$[\d.]+\)$/);
  });

  it("--keep-state: the printed report command reads the demo's state", async () => {
    const line = pretty.find((l) => l.startsWith("demo state kept in "));
    assert.ok(line, pretty.join("\n"));
    const [, dir, command] = /^demo state kept in (\S+); read it with: (npx -- gamma-keeper report .*?) \(or node dist/.exec(line)!;
    kept.push(dir!);
    const [npx, dashes, bin, ...argv] = shellWords(command!);
    assert.deepEqual([npx, dashes, bin], ["npx", "--", "gamma-keeper"], "README's way to run the CLI: gamma-keeper is not on PATH");
    const out: string[] = [];
    const code = await main(argv, (s) => out.push(s), (s) => out.push(s));
    assert.equal(code, 0, out.join("\n"));
    assert.match(out.join("\n"), /fill/i);
  });

  it("into a pipe: JSON lines with every field, and the temporary state removed", () => {
    const [intro, , ...rest] = piped;
    const stateDir = /state in (\S+),/.exec(intro!)![1]!;
    const removed = rest.pop()!;
    assert.match(removed, /^demo state removed/);
    assert.ok(!fs.existsSync(stateDir), `${stateDir} removed`);
    const records = rest.map((l) => JSON.parse(l) as Record<string, unknown>);
    const find = (what: string, pred: (r: Record<string, unknown>) => boolean) => {
      const r = records.find(pred);
      assert.ok(r, `${what} in:\n${rest.join("\n")}`);
      return r;
    };
    const has = (r: Record<string, unknown>, keys: string[]) => keys.forEach((k) => assert.ok(k in r, `${k} in ${JSON.stringify(r)}`));
    has(find("a trade decision", (r) => r.event === "decision"), ["mandate", "market", "action", "reason", "atMs", "priceUsd", "priceAgeSec", "netDelta", "hedgeTokens", "bandCenter", "bandHalfWidth", "pendingTokens", "pnl", "stepMs", "msg"]);
    has(find("an intent", (r) => r.event === "request" && r.stage === "intent"), ["id", "request", "detail", "order"]);
    const sent = find("a send", (r) => r.event === "request" && r.stage === "sent");
    assert.match((sent.tx as { signature: string }).signature, FULL_KEY, "the full signature stays in the JSON");
    const fill = find("a fill", (r) => r.event === "outcome" && r.result === "filled");
    has(fill, ["id", "request", "detail", "feeUsd", "latencyMs", "fill", "position"]);
    assert.match((fill.fill as { signature: string }).signature, FULL_KEY);
    find("the run summary", (r) => r.event === "summary" && typeof r.cycles === "number" && /^summary: \d+ cycles/.test(r.msg as string));
    has(find("a market summary", (r) => r.event === "summary" && r.market === "SOL"), ["hedgeTokens", "netDelta", "fills", "feesUsd", "pnl"]);
  });

  it("--keep-state is refused with --config: a config's stateDir is never temporary", async () => {
    const err: string[] = [];
    const code = await main(["run", "--config", "config/localnet.example.yaml", "--keep-state"], () => {}, (s) => err.push(s));
    assert.equal(code, 2);
    assert.match(err.join("\n"), /--keep-state is for the demo/);
  });
});
