import { parentPort } from "node:worker_threads";
import { type ChunkResult, runChunk, type SimSetup } from "./engine";

/** A backtest worker: runs the chunks of paths it is sent and posts their results back, progress in between. */

export type ToWorker = { setup: SimSetup; firstPath: number; count: number };
export type FromWorker = { kind: "progress"; firstPath: number; done: number } | { kind: "done"; result: ChunkResult } | { kind: "error"; message: string };

const port = parentPort!;
port.on("message", (m: ToWorker) => {
  try {
    const result = runChunk(m.setup, m.firstPath, m.count, (done) => port.postMessage({ kind: "progress", firstPath: m.firstPath, done } satisfies FromWorker));
    const buffers = [...Object.values(result.perPolicy), ...Object.values(result.collateral ?? {}), result.referenceGross, result.theory].map((a) => a.buffer as ArrayBuffer);
    port.postMessage({ kind: "done", result } satisfies FromWorker, buffers);
  } catch (e) {
    port.postMessage({ kind: "error", message: (e as Error).stack ?? String(e) } satisfies FromWorker);
  }
});
