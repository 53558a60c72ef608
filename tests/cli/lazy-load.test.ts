import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigScratch } from "../helpers/cli-config";

/**
 * Each command loads its own modules only: --help, --version and a keeper run against a real cluster must not load
 * LiteSVM, the localnet or the simulator (the built keeper loaded ~580 modules because every command was imported
 * eagerly). Each case runs the CLI in a fresh process whose exit hook writes require.cache's keys to a file: the
 * mocha process has loaded everything already.
 */
const ROOT = path.resolve(__dirname, "../..");
const HEAVY: Record<string, RegExp> = {
  litesvm: /[\\/]node_modules[\\/]litesvm[\\/]/,
  localnet: new RegExp(`^${ROOT.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[\\\\/]localnet[\\\\/]`),
  simulator: /[\\/]keeper[\\/]sim[\\/]/,
  // The Yellowstone gRPC client (and its native binding) only when the config selects rpc.accountStream: geyser.
  "yellowstone-grpc": /[\\/]node_modules[\\/]@triton-one[\\/]/,
};

/** Solana and Anchor clients: the keeper's, which `backtest` has no use for (issue 18). */
const SOLANA = /[\\/]node_modules[\\/](@solana|@coral-xyz[\\/]anchor|bn\.js|litesvm|bs58)[\\/]/;

function loadedModules(argv: string[]): { modules: string[]; status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-lazy-"));
  const hook = path.join(dir, "hook.js");
  const list = path.join(dir, "modules.txt");
  fs.writeFileSync(hook, `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(list)}, Object.keys(require.cache).join("\\n")));\n`);
  const r = spawnSync(process.execPath, ["--require", hook, "--require", "tsx/cjs", path.join(ROOT, "keeper/cli/main.ts"), ...argv], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  const modules = fs.readFileSync(list, "utf8").split("\n");
  fs.rmSync(dir, { recursive: true, force: true });
  return { modules, status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("commands load lazily", function () {
  this.timeout(120_000);
  const scratch = new ConfigScratch();
  // A config run on a cluster that refuses connections: the keeper loads everything it needs to start, then fails.
  const config = scratch.write("keeper.yaml", scratch.config());
  const base = scratch.config();
  const geyserConfig = scratch.write("geyser.yaml", { ...base, rpc: { ...base.rpc, accountStream: "geyser", geyser: { url: "http://127.0.0.1:9" } } });
  const cases: Array<{ argv: string[]; loads: string[] }> = [
    { argv: ["--help"], loads: [] },
    { argv: ["--version"], loads: [] },
    { argv: ["run", "--help"], loads: [] },
    { argv: ["run", "--config", config, "--duration", "1"], loads: [] },
    { argv: ["config", "check", config], loads: [] },
    // The controls: the hook sees what a command loads.
    { argv: ["localnet", "--port", "not-a-port"], loads: ["litesvm", "localnet"] },
    { argv: ["backtest", "--paths", "0"], loads: ["simulator"] },
    { argv: ["run", "--config", geyserConfig, "--duration", "1"], loads: ["yellowstone-grpc"] },
  ];
  it("backtest loads no Solana or Anchor module (@solana/*, @coral-xyz/anchor, bn.js, litesvm, bs58) through a real run", () => {
    // One worker: the engine then runs in the process the hook watches, not in a worker thread with its own cache.
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "gk-lazy-backtest-"));
    try {
      const b3 = path.join(ROOT, "config/scenarios/b3-jupiter-gamma-scalping.yaml");
      const { modules, status, output } = loadedModules(["backtest", b3, "--paths", "2", "--days", "1", "--workers", "1", "--quiet", "--out", out]);
      assert.equal(status, 0, output);
      assert.ok(modules.some((m) => /[\\/]keeper[\\/]sim[\\/]engine\.[jt]s$/.test(m)), "the engine ran in this process");
      assert.deepEqual(modules.filter((m) => SOLANA.test(m)), []);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
  it("the keeper's run loads the Solana client (the control: the pattern above sees it)", () => {
    const { modules, output } = loadedModules(["run", "--config", config, "--duration", "1"]);
    assert.ok(modules.some((m) => SOLANA.test(m)), output);
  });
  for (const flag of ["--help", "--version"]) {
    it(`${flag} loads no Solana client either (web3.js)`, () => {
      const { modules, output } = loadedModules([flag]);
      assert.ok(modules.length > 5, output);
      assert.deepEqual(modules.filter((m) => /[\\/]@solana[\\/]web3\.js[\\/]/.test(m)), []);
    });
  }
  for (const c of cases) {
    it(`${c.argv.join(" ").replace(config, "CONFIG").replace(geyserConfig, "GEYSER-CONFIG")} loads ${c.loads.length ? c.loads.join(" and ") : `none of ${Object.keys(HEAVY).join(", ")}`}`, () => {
      const { modules, status, output } = loadedModules(c.argv);
      assert.ok(modules.length > 10 && status !== null, `the CLI ran (exit ${status}): ${output}`);
      // A control names what it loads and is not checked for the rest (the localnet uses the simulator's RNG).
      for (const [name, re] of Object.entries(HEAVY)) {
        const hits = modules.filter((m) => re.test(m));
        if (c.loads.includes(name)) assert.ok(hits.length > 0, `${name} was expected to load`);
        else if (c.loads.length === 0) assert.deepEqual(hits, [], `${name} loaded`);
      }
    });
  }
});
