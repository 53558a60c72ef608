import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { type ChunkResult, gridOf, runChunk, type SimSetup } from "./engine";
import { mergeChunks, type RunPaths } from "./metrics";
import { parsePriceCsv, resampleToGrid } from "./paths";
import { type Scenario, ScenarioError, type SimPolicy } from "./scenario";
import type { FromWorker, ToWorker } from "./worker";

/** Everything a run needs that comes from outside the scenario's numbers: a replay's prices. */
export function prepareSimulation(scenario: Scenario, policies: SimPolicy[] = scenario.policies): SimSetup {
  const { steps, dtSec } = gridOf(scenario);
  if (steps < 1) throw new ScenarioError(`days ${scenario.days} at stepMinutes ${scenario.stepMinutes} gives no steps: make the horizon longer than one step`);
  if (scenario.model.kind !== "replay") return { scenario, policies, replayPricesUsd: null, paths: scenario.paths };
  const file = scenario.model.file;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ScenarioError(`cannot read the replay prices ${file}: ${(e as Error).message}`);
  }
  let parsed: ReturnType<typeof parsePriceCsv>;
  try {
    parsed = parsePriceCsv(text, file);
  } catch (e) {
    // A malformed history is the user's file to fix, reported like any other scenario problem.
    throw new ScenarioError((e as Error).message);
  }
  const { timesSec, pricesUsd } = parsed;
  const grid = resampleToGrid(timesSec, pricesUsd, dtSec);
  if (grid.length < steps + 1) {
    throw new ScenarioError(`${file} covers ${grid.length - 1} steps of ${scenario.stepMinutes} minutes; ${scenario.days} days need ${steps}: shorten days or give a longer history`);
  }
  // Each path replays a different window of the history; there are only so many distinct windows.
  return { scenario, policies, replayPricesUsd: grid, paths: Math.min(scenario.paths, grid.length - steps) };
}

export interface RunOptions {
  /** Worker threads; 1 runs in this thread. Results do not depend on it. */
  workers: number;
  onProgress?: (donePaths: number, totalPaths: number) => void;
}

export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism());
}

/** Contiguous chunks, several per worker, so a slow worker does not hold the run up at the end. */
function chunksOf(paths: number, workers: number): Array<{ firstPath: number; count: number }> {
  const n = Math.min(paths, workers === 1 ? 1 : workers * 8);
  const out: Array<{ firstPath: number; count: number }> = [];
  for (let c = 0; c < n; c++) {
    const first = Math.floor((c * paths) / n);
    const end = Math.floor(((c + 1) * paths) / n);
    if (end > first) out.push({ firstPath: first, count: end - first });
  }
  return out;
}

function workerScript(): { file: string; execArgv: string[] } {
  const ts = __filename.endsWith(".ts");
  // Under tsx (tests, `npm run cli`) the worker is TypeScript too and needs the same loader.
  return { file: path.join(__dirname, ts ? "worker.ts" : "worker.js"), execArgv: ts ? ["--require", "tsx/cjs"] : [] };
}

export async function runSimulation(setup: SimSetup, opts: RunOptions): Promise<RunPaths> {
  const total = setup.paths;
  if (opts.workers <= 1) {
    const chunk = runChunk(setup, 0, total, (done) => opts.onProgress?.(done, total));
    return mergeChunks([chunk], setup.policies.length, total);
  }
  const queue = chunksOf(total, opts.workers);
  const results: ChunkResult[] = [];
  const doneByChunk = new Map<number, number>();
  let doneTotal = 0;
  const { file, execArgv } = workerScript();
  const workers = Array.from({ length: Math.min(opts.workers, queue.length) }, () => new Worker(file, { execArgv }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const job = queue.shift();
              if (!job) return resolve();
              w.postMessage({ setup, ...job } satisfies ToWorker);
            };
            w.on("message", (m: FromWorker) => {
              if (m.kind === "error") return reject(new Error(`backtest worker failed: ${m.message}`));
              if (m.kind === "progress") {
                doneTotal += m.done - (doneByChunk.get(m.firstPath) ?? 0);
                doneByChunk.set(m.firstPath, m.done);
                opts.onProgress?.(doneTotal, total);
                return;
              }
              results.push(m.result);
              next();
            });
            w.on("error", reject);
            w.on("exit", (code) => code !== 0 && reject(new Error(`backtest worker exited with code ${code}`)));
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return mergeChunks(results, setup.policies.length, total);
}
