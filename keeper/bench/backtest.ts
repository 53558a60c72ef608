/**
 * Backtest benchmarks, printed with the machine they ran on:
 * 1. Decision ticks per second on one core (a tick = one path step through the keeper's greeks, one policy's
 *    decide() and the cost model) for a 200-leg book, against a 2-leg book in the same run as the baseline.
 * 2. Wall time of the full B3 run (config/scenarios/b3-jupiter-gamma-scalping.yaml: 20,000 paths, 5-minute grid,
 *    30 days, 12 policies) on every core. `--quick` runs 1/20 of its paths instead and says so.
 */
import * as os from "node:os";
import * as path from "node:path";
import { runChunk, gridOf } from "../sim/engine";
import { summarize } from "../sim/metrics";
import { formatTable } from "../sim/results-format";
import { defaultWorkers, prepareSimulation, runSimulation } from "../sim/run-simulation";
import { loadScenarioFile, parseScenario, policyLabel, type ScenarioInput } from "../sim/scenario";
import { describeMachine } from "./machine";

// keeper/bench under tsx, dist/keeper/bench when built.
const B3_FILE = path.resolve(__dirname, __filename.endsWith(".ts") ? "../.." : "../../..", "config/scenarios/b3-jupiter-gamma-scalping.yaml");

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
  runChunk(setup, 0, 1); // warm-up
  let paths = 0;
  const started = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    runChunk(setup, paths, 1);
    paths++;
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
  console.log(formatTable(summarize(run, scenario.policies.map(policyLabel), scenario.utilityRiskAversion)));
  const ticks = setup.paths * steps * scenario.policies.length;
  console.log(
    `${quick ? "QUICK (1/20 of the paths) " : ""}B3 run: ${setup.paths} paths × ${steps} steps × ${scenario.policies.length} policies in ${seconds.toFixed(1)} s wall on ${workers} worker threads ` +
      `(${os.cpus().length} cores): ${Math.round(ticks / seconds).toLocaleString("en")} policy ticks/s, greeks shared across the policies of a step`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
