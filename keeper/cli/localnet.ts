import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { type CustodySymbol, MARKET_SYMBOLS, type MarketSymbol, isMarketSymbol } from "../../programs-client";
import { FILL_KEEPER_SEED } from "../../localnet/fill-keeper/key";
import { FIXTURES_DIR } from "../../localnet/fixtures/generate";
import { DEFAULT_PRICES_USD } from "../../localnet/fixtures/params";
import { type PriceScenario, parseCsvPrices } from "../../localnet/fixtures/price-driver";
import { PERPS_SO_PATH } from "../../localnet/programs/paths";
import { ForkCacheError } from "../../localnet/fork/disk-cache";
import { type ForkOptions, ForkStartError } from "../../localnet/fork/fork";
import { startLocalWorld } from "../../localnet/world";
import { redactUrl } from "../lib/redact";
import { CliError, EXIT_RUNTIME, EXIT_USAGE } from "./cli-error";
import { refuseIfNotAFile } from "./files";

export interface LocalnetCliOptions {
  port: string;
  slotMs: string;
  markets: string;
  scenario: string;
  vol: string;
  seed: string;
  jumpPct: string;
  jumpAtSec: string;
  csv?: string;
  speed: string;
  priceIntervalMs: string;
  fillDelayMs: string;
  rejectRate: string;
  fillPastExpiry?: boolean;
  liquidate: boolean;
  fillKeeper: boolean;
  fork?: string;
  standIn?: boolean;
  forkRefreshSec?: string;
  forkCache?: string;
  /** Serve Yellowstone gRPC (Geyser) on this port too; off when absent. */
  geyserPort?: string;
  /** Whether --scenario was given (in fork mode the price driver runs only then). */
  scenarioGiven?: boolean;
}

/** Node's timers take at most 2^31-1 ms; a longer delay silently becomes 1 ms (a hot loop, not a slow one). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function number(value: string, flag: string, check: (n: number) => boolean, rule: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) throw new CliError(`${flag} must be ${rule}, got "${value}"`, EXIT_USAGE);
  return n;
}

function scenarioFor(market: MarketSymbol, index: number, o: LocalnetCliOptions): PriceScenario {
  const startUsd = DEFAULT_PRICES_USD[market];
  switch (o.scenario) {
    case "constant":
      return { kind: "constant", priceUsd: startUsd };
    case "gbm":
      return { kind: "gbm", startUsd, volAnnual: number(o.vol, "--vol", (n) => n >= 0, "an annual volatility >= 0 (0.8 = 80%)"), seed: number(o.seed, "--seed", Number.isInteger, "an integer") + index };
    case "jump":
      return {
        kind: "jump",
        startUsd,
        jumpPct: number(o.jumpPct, "--jump-pct", (n) => n > -100, "a percentage above -100"),
        atSec: number(o.jumpAtSec, "--jump-at-sec", (n) => n >= 0, "seconds >= 0"),
      };
    case "csv": {
      if (!o.csv) throw new CliError("--scenario csv needs --csv FILE (rows of timestamp,price)", EXIT_USAGE);
      let text: string;
      refuseIfNotAFile(o.csv, "--csv");
      try {
        text = readFileSync(o.csv, "utf8");
      } catch (e) {
        throw new CliError(`cannot read --csv ${o.csv}: ${(e as Error).message}`, EXIT_USAGE);
      }
      try {
        return { kind: "csv", points: parseCsvPrices(text, o.csv) };
      } catch (e) {
        throw new CliError((e as Error).message, EXIT_USAGE);
      }
    }
    default:
      throw new CliError(`--scenario must be constant, gbm, jump or csv, got "${o.scenario}"`, EXIT_USAGE);
  }
}

function describe(s: PriceScenario): string {
  switch (s.kind) {
    case "constant":
      return `constant $${s.priceUsd}`;
    case "gbm":
      return `GBM from $${s.startUsd}, vol ${s.volAnnual * 100}%/yr, seed ${s.seed}`;
    case "jump":
      return `$${s.startUsd}, jumping ${s.jumpPct}% at ${s.atSec} s`;
    case "csv":
      return `CSV replay of ${s.points.length} prices`;
  }
}

/**
 * Run the local world until `stop` resolves (Ctrl-C / SIGTERM from the command line): the validator on
 * 127.0.0.1, the fixtures, the stand-in Jupiter Perps program, the price driver and the fill keeper.
 */
export async function runLocalnet(o: LocalnetCliOptions, out: (s: string) => void, untilStop: () => Promise<unknown>): Promise<void> {
  const port = number(o.port, "--port", (n) => Number.isInteger(n) && n >= 0 && n < 65535, "a TCP port (0 picks a free one)");
  const geyserPort = o.geyserPort === undefined ? undefined : number(o.geyserPort, "--geyser-port", (n) => Number.isInteger(n) && n >= 0 && n <= 65535, "a TCP port (0 picks a free one)");
  const slotMs = number(o.slotMs, "--slot-ms", (n) => n >= 10 && n <= MAX_TIMER_MS, `milliseconds from 10 to ${MAX_TIMER_MS}`);
  const markets = o.markets.split(",").map((m) => m.trim().toUpperCase());
  const bad = markets.find((m) => !isMarketSymbol(m));
  if (bad) throw new CliError(`--markets takes ${MARKET_SYMBOLS.join(", ")}, got "${bad}"`, EXIT_USAGE);
  const scenarios: Partial<Record<CustodySymbol, PriceScenario>> = {};
  (markets as MarketSymbol[]).forEach((m, i) => (scenarios[m] = scenarioFor(m, i, o)));
  const speed = number(o.speed, "--speed", (n) => n > 0, "a positive number");
  const intervalMs = number(o.priceIntervalMs, "--price-interval-ms", (n) => n >= 10 && n <= MAX_TIMER_MS, `milliseconds from 10 to ${MAX_TIMER_MS}`);
  const fillKeeper = o.fillKeeper
    ? {
        delayMs: number(o.fillDelayMs, "--fill-delay-ms", (n) => n >= 0 && n <= MAX_TIMER_MS, `milliseconds from 0 to ${MAX_TIMER_MS}`),
        rejectRate: number(o.rejectRate, "--reject-rate", (n) => n >= 0 && n <= 1, "between 0 and 1"),
        delayPastExpiry: o.fillPastExpiry ?? false,
        liquidate: o.liquidate,
      }
    : (false as const);

  const fork = forkOptions(o, out);

  let world: Awaited<ReturnType<typeof startLocalWorld>>;
  try {
    world = await startLocalWorld({
      port,
      slotMs,
      // A fork's oracles are the remote's (frozen or re-fetched) unless a scenario is asked for.
      scenarios: fork && !o.scenarioGiven ? undefined : scenarios,
      priceDriver: { speed, intervalMs },
      fillKeeper,
      fork,
      geyser: geyserPort === undefined ? undefined : { port: geyserPort },
      onFillKeeperError: (e) => out(`fill keeper error: ${e.message}`),
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES") throw new CliError(`--port ${port} ${code === "EADDRINUSE" ? "is in use" : "needs privileges"} (${code}); fix: choose another port, or --port 0 for a free one`, EXIT_USAGE);
    if (e instanceof ForkStartError) throw new CliError(e.message, EXIT_RUNTIME);
    if (e instanceof ForkCacheError) throw new CliError(e.message, EXIT_USAGE);
    if (e instanceof Error && e.message.startsWith("cannot serve Geyser gRPC")) throw new CliError(`--geyser-port: ${e.message}`, EXIT_USAGE);
    throw e;
  }
  // Signals are listened for once the world serves: a command line that fails above leaves nothing behind.
  const stop = untilStop();
  try {
    const rel = (p: string) => relative(process.cwd(), p) || p;
    out("gamma-keeper localnet");
    out(`  RPC          ${world.url}`);
    out(`  WebSocket    ${world.wsUrl}`);
    if (world.geyserUrl) out(`  Geyser gRPC  ${world.geyserUrl} (Yellowstone: accounts and slots; rpc.accountStream: geyser)`);
    out(`  slots        every ${slotMs} ms; the Clock follows wall time${fork ? ", from the remote's slot and time at start" : ""}`);
    if (fork) {
      out(`  fork of      ${redactUrl(fork.url)}: accounts fetched on first read, then local; nothing is ever sent to it but reads`);
      if (fork.cacheDir) out(`  fork cache   ${rel(fork.cacheDir)} (${world.fork?.stats.fromCache ?? 0} accounts loaded)`);
      const others = fork.refreshSec !== undefined ? `re-fetched from the remote every ${fork.refreshSec} s` : "frozen as first fetched";
      out(`  oracles      ${o.scenarioGiven ? `${Object.keys(scenarios).join(", ")} driven by the price scenario, the others ${others}` : others}`);
    }
    if (fork && !fork.standIn) out(`  program      ${world.program.toBase58()} (the remote's, fetched with its ProgramData on first use)`);
    else out(`  program      ${world.program.toBase58()} (stand-in Jupiter Perpetuals, ${rel(PERPS_SO_PATH)})`);
    if (world.fills && fillKeeper) {
      out(`  fill keeper  ${world.fills.publicKey.toBase58()} (derived from the public seed "${FILL_KEEPER_SEED}")`);
      out(`               delay ${fillKeeper.delayMs} ms, reject rate ${fillKeeper.rejectRate}${fillKeeper.delayPastExpiry ? ", fills only after expiry" : ""}${fillKeeper.liquidate ? ", liquidates" : ", no liquidations"}`);
    } else out("  fill keeper  off: requests stay open until they expire or are cancelled");
    if (!fork || o.scenarioGiven) for (const [m, s] of Object.entries(scenarios)) out(`  price ${m.padEnd(6)} ${describe(s)}, speed x${speed}, written every ${intervalMs} ms`);
    if (!fork) {
      out(`  accounts     ${world.loaded.length} loaded from ${rel(FIXTURES_DIR)}:`);
      for (const a of world.loaded) out(`    ${a.file.padEnd(34)} ${a.address.toBase58()}`);
    }
    out("Serving until interrupted (Ctrl-C).");
    world.fills?.on("outcome", (f) =>
      out(`fill: ${f.change} request ${f.request.toBase58()} of ${f.owner.toBase58()} ${f.result}${f.errorCode ? ` (error ${f.errorCode})` : ""}`),
    );
    world.fills?.on("liquidation", (l) => out(`liquidation: position ${l.position.toBase58()} of ${l.owner.toBase58()} (${l.signature})`));
    await stop;
  } finally {
    await world.close();
    out("localnet stopped");
  }
}

/** The fork flags, checked before anything starts (the cache directory is created only by a valid command line). */
function forkOptions(o: LocalnetCliOptions, out: (s: string) => void): ForkOptions | undefined {
  if (o.fork === undefined) {
    const orphan = o.standIn ? "--stand-in" : o.forkRefreshSec !== undefined ? "--fork-refresh-sec" : o.forkCache !== undefined ? "--fork-cache" : undefined;
    if (orphan) throw new CliError(`${orphan} applies to a fork only; add --fork URL (the cluster to fork)`, EXIT_USAGE);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(o.fork);
  } catch {
    throw new CliError(`--fork must be an http(s) JSON-RPC URL, got ${redactUrl(o.fork)}`, EXIT_USAGE);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new CliError(`--fork must be an http(s) JSON-RPC URL, got ${redactUrl(o.fork)}`, EXIT_USAGE);
  const refreshSec =
    o.forkRefreshSec === undefined ? undefined : number(o.forkRefreshSec, "--fork-refresh-sec", (n) => n >= 0.1 && n * 1000 <= MAX_TIMER_MS, `seconds from 0.1 to ${Math.floor(MAX_TIMER_MS / 1000)}`);
  if (o.forkCache !== undefined && o.forkCache.trim() === "") throw new CliError("--fork-cache needs a directory", EXIT_USAGE);
  return { url: o.fork, standIn: o.standIn ?? false, refreshSec, cacheDir: o.forkCache, onError: (e) => out(`fork: ${e.message}`) };
}
