import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms; fails the test naming `what` after `timeoutMs`. */
export async function until(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The gamma-keeper CLI in a child process (TypeScript through tsx), its output collected line by line. */
export function spawnCli(args: string[], children: ChildProcess[]) {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "../../keeper/cli/main.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const lines: string[] = [];
  child.stdout!.on("data", (b: Buffer) => lines.push(...b.toString().split("\n")));
  child.stderr!.on("data", (b: Buffer) => lines.push(...b.toString().split("\n")));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, lines, exited };
}
