import { strict as assert } from "node:assert";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * The packed artefact works by itself: `npx gamma-keeper localnet` and `gamma-keeper run` without a config failed
 * with ENOENT dist/localnet/fixtures/accounts because the package did not ship the fixtures and the program. The
 * package is built and packed from a copy of the sources (npm pack runs prepare, which rebuilds dist/: the shared
 * checkout's dist/ is left alone), installed into an empty folder from the tarball (dependencies from the registry,
 * through npm's cache), and run from there with npx.
 */
const ROOT = path.resolve(__dirname, "../..");
const SOURCES = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "README.md", "keeper", "programs-client", "idl", "localnet"];
const NPM_QUIET = ["--no-audit", "--no-fund", "--loglevel=error"];

function npm(args: string[], cwd: string, timeoutMs: number): string {
  return execFileSync("npm", args, { cwd, encoding: "utf8", timeout: timeoutMs, stdio: ["ignore", "pipe", "pipe"] });
}

async function registryReachable(): Promise<string | null> {
  const registry = npm(["config", "get", "registry"], ROOT, 30_000).trim();
  try {
    const r = await fetch(new URL("-/ping", registry.endsWith("/") ? registry : `${registry}/`), { signal: AbortSignal.timeout(10_000) });
    return r.ok ? null : `${registry} answered ${r.status}`;
  } catch (e) {
    return `${registry} unreachable: ${(e as Error).message}`;
  }
}

async function rpc(url: string, method: string): Promise<unknown> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method }) });
  return ((await r.json()) as { result: unknown }).result;
}

/** `npx -- gamma-keeper ARGS` in its own process group, so SIGINT reaches it as Ctrl-C would. */
function npx(args: string[], cwd: string): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn("npx", ["--no", "--", "gamma-keeper", ...args], { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout!.on("data", (d) => (text += d));
  child.stderr!.on("data", (d) => (text += d));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => text, exit };
}

/** The gamma-keeper process among npx's group (npm exec, sh -c, then node running the package's bin). */
function keeperPid(pgid: number): number {
  const ps = execFileSync("ps", ["-o", "pid=,args=", "-g", String(pgid)], { encoding: "utf8" });
  const line = ps.split("\n").find((l) => /node_modules\/\.bin\/gamma-keeper|dist\/keeper\/cli\/main\.js/.test(l) && !/npm/.test(l));
  if (!line) throw new Error(`no gamma-keeper process in group ${pgid}:\n${ps}`);
  return Number(line.trim().split(/\s+/)[0]);
}

async function waitFor<T>(what: string, get: () => T | undefined, ms: number, output: () => string): Promise<T> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
    const v = get();
    if (v !== undefined) return v;
  }
  throw new Error(`no ${what} within ${ms} ms; output:\n${output()}`);
}

describe("the packed package works by itself", function () {
  this.timeout(900_000);
  let work: string;
  let app: string;
  let tarball: string;
  const started: ChildProcess[] = [];

  before(async function () {
    const unreachable = await registryReachable();
    if (unreachable) {
      console.log(`      skipped: installing the tarball needs the npm registry (${unreachable})`);
      this.skip();
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), "gk-pack-"));
    const src = path.join(work, "src");
    for (const s of SOURCES) fs.cpSync(path.join(ROOT, s), path.join(src, s), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(src, "node_modules"));
    const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work, ...NPM_QUIET], src, 300_000)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(work, packed[0]!.filename);
    const files = packed[0]!.files.map((f) => f.path);
    for (const want of ["dist/keeper/cli/main.js", "dist/keeper/sim/worker.js", "localnet/programs/perps/jupiter_perpetuals.so", "localnet/fixtures/accounts/sol_custody.json"]) {
      assert.ok(files.includes(want), `the tarball lacks ${want}`);
    }
    assert.deepEqual(files.filter((f) => /^(tests|keeper|localnet\/validator)\/|\.ts$|^tsconfig/.test(f)), [], "sources, tests and tsconfig stay out of the tarball");
    app = path.join(work, "app");
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "pack-test-app", version: "1.0.0", private: true }));
    // Without tsconfig or TypeScript in the package, an install that tried to build it (prepare) would fail here.
    npm(["install", tarball, "--prefer-offline", ...NPM_QUIET], app, 600_000);
  });

  afterEach(() => {
    // Only the process groups this test started, if a case failed and left them running.
    for (const p of started.splice(0)) if (p.pid && p.exitCode === null && p.signalCode === null) process.kill(-p.pid, "SIGKILL");
  });

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("npx -- gamma-keeper localnet serves the fixtures (getHealth, getSlot) and exits 0 on SIGINT", async () => {
    const p = npx(["localnet", "--port", "0"], app);
    started.push(p.child);
    const url = await waitFor("RPC line", () => /RPC\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(p.output())?.[1], 60_000, p.output);
    await waitFor("Serving line", () => (/Serving until interrupted/.test(p.output()) ? true : undefined), 60_000, p.output);
    assert.match(p.output(), /loaded from .*localnet[\\/]fixtures[\\/]accounts/);
    assert.equal(await rpc(url, "getHealth"), "ok");
    assert.equal(typeof (await rpc(url, "getSlot")), "number");
    // To gamma-keeper itself, as a supervisor would: npx runs it through `sh -c`, and a SIGINT to the whole group
    // (Ctrl-C) makes dash and so npx die of the signal, whatever gamma-keeper does. Its exit code is npx's.
    process.kill(keeperPid(p.child.pid!), "SIGINT");
    assert.equal(await p.exit, 0, p.output());
    assert.match(p.output(), /localnet stopped/);
  });

  it("npx -- gamma-keeper run --duration 10 runs the embedded demo and exits 0 with its summary", async () => {
    const p = npx(["run", "--duration", "10"], app);
    started.push(p.child);
    assert.equal(await p.exit, 0, p.output());
    assert.match(p.output(), /summary: \d+ cycles/);
  });
});
