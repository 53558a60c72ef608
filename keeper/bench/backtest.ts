/**
 * Backtest benchmarks, printed with the machine they ran on:
 * 1. Decision ticks per second on one core (a tick = one path step through the keeper's greeks, one policy's
 *    decide() and the cost model) for a 200-leg book, against a 2-leg book in the same run as the baseline.
 * 2. Wall time of the full B3 run (config/scenarios/b3-jupiter-gamma-scalping.yaml: 20,000 paths, 5-minute grid,
 *    30 days, 12 policies) on every core. `--quick` runs 1/20 of its paths instead and says so.
 * 3. After it, never alongside it (the cores are the JS run's), the repository's vectorised numpy reference of the
 *    same scenario and path count (bench/numpy/b3_reference.py, given the parsed scenario as JSON), its table next to
 *    the JS one and the ratio of the wall times, issue 18's goal being JS <= 1/4 of numpy. python3 with numpy is a
 *    benchmark dependency only: without it the comparison is skipped with one line.
 */
import { spawn, spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { runChunk, gridOf } from "../sim/engine";
import { type RunSummary, summarize } from "../sim/metrics";
import { formatTable } from "../sim/results-format";
import { defaultWorkers, prepareSimulation, runSimulation } from "../sim/run-simulation";
import { loadScenarioFile, parseScenario, policyLabel, type Scenario, type ScenarioInput } from "../sim/scenario";
import { describeMachine } from "./machine";

// keeper/bench under tsx, dist/keeper/bench when built.
const REPO = path.resolve(__dirname, __filename.endsWith(".ts") ? "../.." : "../../..");
const B3_FILE = path.join(REPO, "config/scenarios/b3-jupiter-gamma-scalping.yaml");
const NUMPY_REFERENCE = path.join(REPO, "bench/numpy/b3_reference.py");

/** A book of `legs` calls and puts around the money, expiries spread over the horizon and beyond. */
function book(legs: number): ScenarioInput["book"] {
  return {
    options: Array.from({ length: legs }, (_, i) => ({
      kind: i % 2 ? ("put" as const) : ("call" as const),
      strike: 80 + ((i * 7) % 41),
      expiryDays: 30 + (i % 30),
      quantity: (i % 5) - 2 || 1,
      impliedVol: 0.5 + 0.01 * (i % 30),
    })),
  };
}

/** Ticks per second of one policy on one core, for at least `seconds` of work. */
function ticksPerSecond(legs: number, seconds: number): number {
  const scenario = parseScenario(
    { spot: 100, days: 30, stepMinutes: 5, paths: 1_000_000, seed: 1, model: { kind: "gbm", vol: 0.8 }, book: book(legs), costs: { borrowPercentPerHour: 0.002 }, policies: [{ kind: "whalley-wilmott", riskAversion: 0.3 }] },
    "bench",
  );
  const setup = prepareSimulation(scenario);
  const { steps } = gridOf(scenario);
  // Whole blocks of paths, as a backtest runs them: the kernels work on a block's lanes at once.
  const block = 64;
  runChunk(setup, 0, block); // warm-up
  let paths = 0;
  const started = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    runChunk(setup, paths, block);
    paths += block;
    elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  }
  return (paths * steps) / elapsed;
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  console.log(describeMachine());

  const two = ticksPerSecond(2, quick ? 2 : 6);
  const many = ticksPerSecond(200, quick ? 2 : 6);
  console.log(`decision ticks/s on one core (greeks + WW decide() + costs): 2-leg ${Math.round(two).toLocaleString("en")}, 200-leg ${Math.round(many).toLocaleString("en")} (${(many / two).toFixed(3)}x the 2-leg baseline)`);

  const scenario = loadScenarioFile(B3_FILE);
  if (quick) scenario.paths = Math.ceil(scenario.paths / 20);
  const setup = prepareSimulation(scenario);
  const workers = defaultWorkers();
  const { steps } = gridOf(scenario);
  const started = Date.now();
  let shown = 0;
  const run = await runSimulation(setup, {
    workers,
    onProgress: (done, total) => {
      if (Date.now() - shown < 5000 && done < total) return;
      shown = Date.now();
      process.stderr.write(`B3: ${done}/${total} paths\n`);
    },
  });
  const seconds = (Date.now() - started) / 1000;
  const js = summarize(run, scenario.policies.map(policyLabel), scenario.utilityRiskAversion);
  console.log(formatTable(js));
  const ticks = setup.paths * steps * scenario.policies.length;
  console.log(
    `${quick ? "QUICK (1/20 of the paths) " : ""}B3 run: ${setup.paths} paths × ${steps} steps × ${scenario.policies.length} policies in ${seconds.toFixed(1)} s wall on ${workers} worker threads ` +
      `(${os.cpus().length} cores): ${Math.round(ticks / seconds).toLocaleString("en")} policy ticks/s, greeks shared across the policies of a step`,
  );

  const missing = numpyMissing();
  if (missing) {
    console.log(`numpy reference skipped: ${missing}; install python3 and numpy (a benchmark dependency only) to compare`);
    return;
  }
  const np = await runNumpy({ ...scenario, paths: setup.paths });
  console.log(`\nnumpy reference (${path.relative(REPO, NUMPY_REFERENCE)}, numpy ${np.result.numpy}, one thread, chunks of ${np.result.chunk} paths, initialHedge ${np.result.initialHedge}) on the same scenario and ${np.result.paths} paths:`);
  console.log(sideBySide(js, np.result));
  console.log(`numpy B3 run: ${np.seconds.toFixed(1)} s wall (${np.result.wallSec.toFixed(1)} s of it in its simulation loop, the rest starting python3 and numpy and summarizing)`);
  console.log(`ratio JS wall / numpy wall = ${(seconds / np.seconds).toFixed(2)} (goal <= 0.25)`);
}

/** What the numpy reference prints with --json (per policy, in the scenario's order). */
interface NumpyResult {
  paths: number;
  wallSec: number;
  numpy: string;
  chunk: number;
  initialHedge: string;
  policies: Array<{ netMean: number; netStd: number; netSe: number; grossMean: number; costUsd: number; trades: number }>;
}

/** Why python3 with numpy cannot run here, or null when it can. */
function numpyMissing(): string | null {
  const r = spawnSync("python3", ["-c", "import numpy"], { encoding: "utf8" });
  if (r.error) return `python3 did not start (${r.error.message})`;
  return r.status === 0 ? null : `python3 cannot import numpy (${r.stderr.trim().split("\n").pop()})`;
}

/** Runs the numpy reference on `scenario` (passed as JSON on stdin); its progress lines pass through to stderr. */
function runNumpy(scenario: Scenario): Promise<{ result: NumpyResult; seconds: number }> {
  const started = Date.now();
  const child = spawn("python3", [NUMPY_REFERENCE, "--scenario-json", "-", "--json"], { stdio: ["pipe", "pipe", "inherit"] });
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stdin.end(JSON.stringify(scenario));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = (Date.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`python3 ${NUMPY_REFERENCE} exited with code ${code} (its stderr is above); run it alone with --paths 200 to see why`));
      try {
        resolve({ result: JSON.parse(stdout) as NumpyResult, seconds });
      } catch (e) {
        reject(new Error(`python3 ${NUMPY_REFERENCE} printed no JSON result (${(e as Error).message}): ${stdout.slice(0, 200)}`));
      }
    });
  });
}

/** The JS and numpy results per policy side by side; z = difference of the net means in s.e. of the difference. */
function sideBySide(js: RunSummary, np: NumpyResult): string {
  const header = ["policy", "net mean JS", "numpy", "z", "net std JS", "numpy", "cost JS", "numpy", "trades JS", "numpy"];
  const rows = js.policies.map((p, i) => {
    const n = np.policies[i]!;
    const z = (p.netMean - n.netMean) / Math.hypot(p.netSe, n.netSe);
    return [p.name, p.netMean.toFixed(3), n.netMean.toFixed(3), z.toFixed(1), p.netStd.toFixed(3), n.netStd.toFixed(3), p.costUsd.toFixed(3), n.costUsd.toFixed(3), p.trades.toFixed(0), n.trades.toFixed(0)];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
