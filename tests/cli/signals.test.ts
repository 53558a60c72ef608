import { strict as assert } from "node:assert";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as path from "node:path";

/**
 * `npm start` and `npm run localnet` as Docker, a supervisor or CI run them: the signal goes to the npm process
 * only (or, for Ctrl-C, to the whole foreground group). npm forwards SIGINT/SIGTERM to its one child; with
 * `sh -c tsx ...` between them, dash died on SIGTERM and orphaned tsx and the keeper, which kept trading.
 */
const ROOT = path.resolve(__dirname, "../..");
const EXIT_WITHIN_MS = 5000;

interface Case {
  script: string[];
  ready: RegExp;
  stopped: RegExp;
  signal: NodeJS.Signals;
  to: "npm" | "group";
}

// Signalled once the demo keeper has traded (its first fill), as in the report where a fill landed after npm was gone.
const START = { script: ["start", "--", "--duration", "60"], ready: /\bfilled\b/i, stopped: /summary: \d+ cycles/ };
const LOCALNET = { script: ["run", "localnet", "--", "--port", "0"], ready: /Serving until interrupted/, stopped: /localnet stopped/ };
const CASES: Case[] = [
  { ...START, signal: "SIGTERM", to: "npm" },
  { ...START, signal: "SIGINT", to: "npm" },
  { ...START, signal: "SIGINT", to: "group" }, // Ctrl-C: the terminal signals every process of the group
  { ...LOCALNET, signal: "SIGTERM", to: "npm" },
  { ...LOCALNET, signal: "SIGINT", to: "npm" },
];

/** Live (non-zombie) processes of a process group: an exited child awaiting its reaper is not running. */
function liveMembers(pgid: number): string[] {
  let ps: string;
  try {
    ps = execFileSync("ps", ["-o", "pid=,stat=,args=", "-g", String(pgid)], { encoding: "utf8" });
  } catch {
    return []; // ps exits 1 when the group is empty
  }
  return ps
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^\d+\s+Z/.test(l));
}

function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  return new Promise((resolve) => {
    const poll = () => (cond() ? resolve(true) : Date.now() > until ? resolve(false) : setTimeout(poll, 100));
    poll();
  });
}

describe("npm start / npm run localnet stop on a signal to the top process", function () {
  this.timeout(60_000);
  const started: ChildProcess[] = [];
  afterEach(() => {
    // Only the groups this test started, and only if a case failed and left them running.
    for (const p of started.splice(0)) if (p.pid && liveMembers(p.pid).length) process.kill(-p.pid, "SIGKILL");
  });

  for (const c of CASES) {
    it(`npm ${c.script.join(" ")}: ${c.signal} to ${c.to === "npm" ? "the npm process only" : "the process group (Ctrl-C)"}`, async () => {
      const npm = spawn("npm", c.script, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      started.push(npm);
      let output = "";
      npm.stdout!.on("data", (d) => (output += d));
      npm.stderr!.on("data", (d) => (output += d));
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      npm.on("exit", (code, signal) => (exit = { code, signal }));
      const pgid = npm.pid!;

      assert.ok(await waitFor(() => c.ready.test(output) || exit !== undefined, 40_000), `not ready in 40 s:\n${output}`);
      assert.equal(exit, undefined, `npm exited before the signal:\n${output}`);
      process.kill(c.to === "npm" ? pgid : -pgid, c.signal);

      assert.ok(await waitFor(() => exit !== undefined, EXIT_WITHIN_MS), `npm still running ${EXIT_WITHIN_MS} ms after ${c.signal}:\n${liveMembers(pgid).join("\n")}`);
      assert.deepEqual(exit, { code: 0, signal: null }, `npm's exit after ${c.signal}`);
      assert.ok(await waitFor(() => liveMembers(pgid).length === 0, 2000), `survivors of the group:\n${liveMembers(pgid).join("\n")}`);
      assert.match(output, c.stopped, "the shutdown line");
    });
  }
});
