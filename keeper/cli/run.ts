import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import type { Logger } from "pino";
import type { KeeperConfig } from "../app/config";
import type { Keypair } from "@solana/web3.js";
import { configSecrets, loadConfigFile } from "../app/config-load";
import type { KeeperEvent } from "../mandate/events";
import { Keeper } from "../app/keeper";
import { KeypairError, loadMandateKey } from "../app/keypair";
import type { LocalDemo } from "../app/local-demo";
import { createLogger, isRoutine, logEvent } from "../ops/logger";
import { type SessionTally, heartbeatDue, heartbeatLine, summaryLine, tallyEvent, tallyFields } from "../ops/session-tally";
import { formatEvent, shortKey } from "../ops/terminal-format";
import { slippageBps } from "../market/fill-report";
import type { LastFill } from "../mandate/records";
import { redactUrl, scrubSecrets } from "../lib/redact";
import { CliError, EXIT_RUNTIME, EXIT_USAGE } from "./cli-error";

type Print = (s: string) => void;

export interface RunCliOptions {
  config?: string;
  dryRun?: boolean;
  durationSec?: string;
  /** path=value overrides, applied after the file and GAMMA_KEEPER__ environment variables. */
  set?: string[];
  /** Log format override: auto (pretty on a TTY), json or pretty. */
  log?: string;
  /** Whether `out` writes to a terminal (the process's stdout is a TTY): decides `--log auto`. */
  terminal?: boolean;
  /** The demo's temporary state directory is kept on exit (and a report command printed), not removed. */
  keepState?: boolean;
}

/** A config file after environment and --set overrides; its problems are ConfigErrors (exit 2, see main). */
export function loadConfig(file: string, o: { dryRun?: boolean; set?: string[] } = {}): KeeperConfig {
  const cfg = loadConfigFile(file, { env: process.env, set: o.set });
  if (o.dryRun) cfg.dryRun = true;
  return cfg;
}

/**
 * Every mandate's signer, loaded before anything starts: a mandate that cannot sign is a config the operator must
 * fix, not a keeper that runs the other mandates (under systemd that looked healthy and never restarted).
 */
export function loadSigners(cfg: KeeperConfig): Map<string, Keypair> {
  const keys = new Map<string, Keypair>();
  const problems: string[] = [];
  for (const m of cfg.mandates) {
    try {
      keys.set(m.name, loadMandateKey(m));
    } catch (e) {
      if (!(e instanceof KeypairError)) throw e;
      problems.push(`mandates.${m.name}: ${e.message}`);
    }
  }
  if (problems.length === 1) throw new CliError(problems[0]!, EXIT_USAGE);
  if (problems.length) throw new CliError(`${problems.length} mandates cannot load their key:\n${problems.map((p) => `  ${p}`).join("\n")}`, EXIT_USAGE);
  return keys;
}

/** --duration: whole or fractional seconds that setTimeout can wait (it fires at once beyond 2^31-1 ms). */
const MAX_DURATION_SEC = Math.floor((2 ** 31 - 1) / 1000);

function parseDuration(text: string | undefined): number | null {
  if (text === undefined) return null;
  const sec = Number(text);
  if (text.trim() === "" || !(sec > 0 && sec <= MAX_DURATION_SEC)) {
    throw new CliError(`--duration must be seconds > 0 and at most ${MAX_DURATION_SEC} (~24 days), got "${text}"; fix: e.g. --duration 3600, or leave it out to run until SIGTERM`, EXIT_USAGE);
  }
  return sec;
}

const LOG_FORMATS = ["auto", "json", "pretty"] as const;

function parseLogFormat(text: string | undefined): KeeperConfig["log"]["format"] | undefined {
  if (text === undefined || (LOG_FORMATS as readonly string[]).includes(text)) return text as KeeperConfig["log"]["format"] | undefined;
  throw new CliError(`--log must be auto, json or pretty, got "${text}"`, EXIT_USAGE);
}

/**
 * A decision cycle for plan and status. The chain not answering is the world failing (exit 1, one line naming
 * the endpoint without its key); an error of the keeper's own code keeps its stack.
 */
async function tickOnce(keeper: Keeper, r: Keeper["runners"][number]): Promise<void> {
  try {
    await r.tick({ send: false });
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || !(e instanceof Error)) throw e;
    const reason = scrubSecrets(e.message.split("\n")[0]!, configSecrets(keeper.cfg));
    throw new CliError(`mandate ${r.name}: cannot read the chain: ${reason}`, EXIT_RUNTIME);
  }
}

/** Lines for `out`, one per write: pino's destination when the CLI runs in-process (tests) or to stdout. */
function lineStream(out: Print): NodeJS.WritableStream {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) out(line);
      done();
    },
  });
}

/** Logs every event, a heartbeat per market while it holds, and counts what the exit summary needs. */
function eventSink(log: Logger, heartbeatSec: number) {
  const counts = { decisions: 0, trades: 0, requests: 0, filled: 0, rejected: 0, expired: 0, other: 0 };
  const tally: SessionTally = new Map();
  const emit = (e: KeeperEvent) => {
    if (e.kind === "decision") {
      counts.decisions++;
      if (e.action === "trade") counts.trades++;
    }
    if (e.kind === "request" && e.stage === "intent") counts.requests++;
    if (e.kind === "outcome") {
      if (e.result === "filled" || e.result === "rejected" || e.result === "expired") counts[e.result]++;
      else counts.other++;
    }
    logEvent(log, e);
    const market = tallyEvent(tally, e);
    if (!market) return;
    const nowMs = Date.now();
    if (!isRoutine(e)) market.lastShownMs = nowMs;
    else if (heartbeatDue(market, e, nowMs, heartbeatSec)) {
      market.lastShownMs = nowMs;
      log.info({ event: "heartbeat", ...tallyFields(market) }, heartbeatLine(market));
    }
  };
  return { emit, counts, tally };
}

/** A dry run's exit line for one mandate: what it would have sent, per market, as filled at the expected prices. */
export function dryRunSummary(name: string, fills: ReturnType<Keeper["runners"][number]["dryRunFills"]>): string {
  const usd = (v: bigint) => `${v < 0n ? "-" : ""}$${(Math.abs(Number(v)) / 1e6).toFixed(2)}`;
  const orders = [...fills.values()].reduce((n, f) => n + f.orders, 0);
  const count = (n: number) => `${n} order${n === 1 ? "" : "s"}`;
  const markets = [...fills].map(([market, f]) => `${market} ${count(f.orders)}, net ${f.deltaTokens.toFixed(4)} ${market} (${usd(f.sizeUsd6)}), est. fees ${usd(f.estimatedFeeUsd6)}`);
  return `${name}: dry run would have sent ${count(orders)}${markets.length ? `: ${markets.join("; ")}` : ""}`;
}

function summary(keeper: Keeper, { counts, tally }: Pick<ReturnType<typeof eventSink>, "counts" | "tally">, log: Logger) {
  const nowSec = Math.floor(Date.now() / 1000);
  log.info(
    { event: "summary", cycles: keeper.ticks, ...counts },
    `summary: ${keeper.ticks} cycles, ${counts.decisions} decisions (${counts.trades} to trade), ${counts.requests} requests: ${counts.filled} filled, ${counts.rejected} rejected, ${counts.expired} expired, ${counts.other} other`,
  );
  for (const r of keeper.runners) {
    const inFlight = r.inFlightRequests();
    log.info(
      { event: "summary", mandate: r.name, feesTodayUsd: Number(r.feesTodayUsd6(nowSec)) / 1e6, inFlight: inFlight.map((f) => ({ market: f.market, request: f.request, phase: f.phase })) },
      `${r.name}: fees today $${(Number(r.feesTodayUsd6(nowSec)) / 1e6).toFixed(2)}${keeper.cfg.dryRun ? " (with the dry run's estimates)" : ""}; ${inFlight.length ? `handed over to the next run: ${inFlight.map((f) => `${f.market} ${shortKey(f.request)} (${f.phase})`).join(", ")}` : "nothing in flight"}`,
    );
    for (const t of tally.values()) if (t.mandate === r.name) log.info({ event: "summary", ...tallyFields(t) }, summaryLine(t));
    if (keeper.cfg.dryRun) {
      const fills = r.dryRunFills();
      const perMarket = Object.fromEntries([...fills].map(([m, f]) => [m, { orders: f.orders, netTokens: f.deltaTokens, netUsd: Number(f.sizeUsd6) / 1e6, estimatedFeesUsd: Number(f.estimatedFeeUsd6) / 1e6 }]));
      log.info({ event: "summary", mandate: r.name, dryRun: perMarket }, dryRunSummary(r.name, fills));
    }
  }
}

/**
 * `run`: the live keeper until SIGINT/SIGTERM (or --duration): then it stops deciding, leaves in-flight sends
 * journaled for the next run, flushes the journal and exits 0. Without --config, the embedded localnet demo.
 */
export async function runKeeper(opts: RunCliOptions, out: Print, untilStop: () => Promise<unknown>): Promise<void> {
  // Flags first: nothing may start (a demo localnet, a journal, a request) on a command line that is wrong.
  const duration = parseDuration(opts.durationSec);
  const logFormat = parseLogFormat(opts.log);
  if (!opts.config && opts.set?.length) throw new CliError("--set needs --config: the demo's config is built in; fix: pass --config FILE or drop --set", EXIT_USAGE);
  if (opts.config && opts.keepState) throw new CliError("--keep-state is for the demo (no --config), whose state directory is temporary; a config's stateDir is always kept; fix: drop --keep-state", EXIT_USAGE);
  let demo: LocalDemo | undefined;
  let cfg: KeeperConfig;
  let keypairs: Map<string, Keypair>;
  if (opts.config) {
    cfg = loadConfig(opts.config, opts);
    keypairs = loadSigners(cfg);
  } else {
    const stateDir = demoStateDir();
    out(`no --config: starting the embedded localnet demo (a long SOL straddle hedged on SOL perps; state in ${stateDir}, ${opts.keepState ? "kept on exit" : "removed on exit unless --keep-state"})`);
    // Loaded here so that a run against a real cluster never loads the localnet and LiteSVM (require: see main.ts).
    const { DEMO_MANDATE, startLocalDemo } = require("../app/local-demo") as typeof import("../app/local-demo");
    demo = await startLocalDemo({ stateDir });
    cfg = demo.cfg;
    // The demo's market runs at 120x: a heartbeat every 5 s of wall time is 10 minutes of it.
    cfg.log.heartbeatSec = 5;
    if (opts.dryRun) cfg.dryRun = true;
    // `report --config <stateDir>/config.json` reads the demo's journal and history, during the run or after it.
    fs.writeFileSync(path.join(stateDir, DEMO_CONFIG_FILE), `${JSON.stringify(cfg, null, 2)}\n`);
    out(`localnet at ${demo.world.url}; hedging wallet ${demo.wallet.publicKey.toBase58()}`);
    keypairs = new Map([[DEMO_MANDATE, demo.wallet]]);
  }
  // Decided from the real stdout (opts.terminal), not from lineStream, which is no TTY.
  const log = createLogger({ level: cfg.log.level, format: logFormat ?? cfg.log.format, secrets: configSecrets(cfg), destination: lineStream(out), terminal: opts.terminal === true });
  const sink = eventSink(log, cfg.log.heartbeatSec);
  const { emit } = sink;
  let keeper: Keeper;
  try {
    // Each change of what holds the kill switch (kill file, SIGUSR1), logged once: the file used to engage silently.
    const onKillSwitch = ({ engaged, by, was }: { engaged: boolean; by: string[]; was: string[] }) =>
      log.warn({ event: "kill-switch", engaged, by, was }, engaged ? `kill switch engaged by ${by.join(" and ")}: no new requests` : `kill switch released (${was.join(" and ")} lifted): requests resume`);
    keeper = new Keeper(cfg, { emit, keypairs, onKillSwitch });
  } catch (e) {
    await demo?.close();
    if (demo) closeDemoState(demo.cfg, opts.keepState === true, out);
    throw e;
  }
  const stop = untilStop();
  const endpoints = [cfg.rpc.url, ...cfg.rpc.fallbacks.map((e) => e.url)].map(redactUrl).join(", ");
  log.info({ event: "start", mandates: cfg.mandates.map((m) => m.name), dryRun: cfg.dryRun }, `keeper: ${cfg.mandates.length} mandate(s) on ${endpoints}${cfg.dryRun ? " (dry run: nothing is sent)" : ""}`);
  // The kill switch by signal, for an operator without access to the kill file: USR1 engages, USR2 releases.
  const killSignals: [NodeJS.Signals, boolean][] = [["SIGUSR1", true], ["SIGUSR2", false]];
  const onKill = killSignals.map(([signal, on]) => {
    // The keeper logs the change (onKillSwitch), if it is one: SIGUSR2 leaves a kill file's hold in place.
    const handler = () => keeper.setKillSwitch(on);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  let durationTimer: NodeJS.Timeout | undefined;
  try {
    await keeper.start();
    if (keeper.metricsPort !== null) log.info({ event: "metrics", port: keeper.metricsPort }, `metrics, /health and /ready on ${cfg.metrics.host}:${keeper.metricsPort}`);
    // The --duration timer is cleared on a signal: left pending it held the process up to the full duration after the summary.
    await (duration === null ? stop : Promise.race([stop, new Promise((r) => (durationTimer = setTimeout(r, duration * 1000)))]));
    log.info({ event: "stopping" }, "stopping: no new decisions; in-flight sends stay journaled for the next run");
  } finally {
    clearTimeout(durationTimer);
    for (const [signal, handler] of onKill) process.off(signal, handler);
    await keeper.stop(true);
    summary(keeper, sink, log);
    await demo?.close();
    if (demo) closeDemoState(demo.cfg, opts.keepState === true, out);
  }
}

const DEMO_CONFIG_FILE = "config.json";

/** A new temporary directory for the demo's state; one that cannot be made is the environment's to fix. */
function demoStateDir(): string {
  const parent = os.tmpdir();
  try {
    return fs.mkdtempSync(path.join(parent, "gamma-keeper-demo-"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "failed";
    throw new CliError(`cannot create the demo's state directory in ${parent} (${code}); fix: point TMPDIR at a writable directory, or run with --config`, EXIT_USAGE);
  }
}

/** The demo's temporary state goes with it, unless --keep-state: then the command that reads it. */
function closeDemoState({ stateDir, mandates }: KeeperConfig, keep: boolean, out: Print): void {
  if (!keep) {
    fs.rmSync(stateDir, { recursive: true, force: true });
    out(`demo state removed (${stateDir}); run with --keep-state to keep it for \`report\``);
    return;
  }
  out(`demo state kept in ${stateDir}; read it with: ${demoReportCommand(path.join(stateDir, DEMO_CONFIG_FILE), mandates[0]!.name)} (or node dist/keeper/cli/main.js report ...); remove the directory when done`);
}

/** `text` as one POSIX shell word in single quotes, each ' inside written as '\'' (close, escaped quote, reopen). */
function singleQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `report` command for the demo's kept state, to paste into a shell: `npx -- gamma-keeper` as README says
 * (gamma-keeper itself is not on PATH), the path quoted whatever TMPDIR holds, the mandate when it needs it.
 */
export function demoReportCommand(configFile: string, mandate: string): string {
  return `npx -- gamma-keeper report --config ${singleQuoted(configFile)} --mandate ${/^[\w.-]+$/.test(mandate) ? mandate : singleQuoted(mandate)}`;
}

/** `plan`: one decision cycle with nothing sent. */
export async function runPlan(opts: { config: string; set?: string[] }, out: Print): Promise<void> {
  const cfg = loadConfig(opts.config, { dryRun: true, set: opts.set });
  const keeper = new Keeper(cfg, { emit: (e) => out(formatEvent(e)), keypairs: loadSigners(cfg) });
  try {
    for (const r of keeper.runners) await tickOnce(keeper, r);
  } finally {
    await keeper.stop(true);
  }
}

/** A market's last fill for `status`: price against the decision's, fees and borrow as the program charged them. */
function describeLastFill(last: LastFill): string {
  const usd = (v: string | bigint) => `$${(Number(v) / 1e6).toFixed(4)}`;
  const { fill, order } = last;
  const price = fill.priceUsd6 === null ? "price unknown (account diff only)" : `at ${usd(fill.priceUsd6)}`;
  const slip =
    fill.priceUsd6 !== null && last.expectedPriceUsd6 !== null
      ? ` vs ${usd(last.expectedPriceUsd6)} expected, slippage ${slippageBps(order.side, order.kind, last.expectedPriceUsd6, BigInt(fill.priceUsd6)).toFixed(2)} bps`
      : "";
  const fee = `fee ${usd(fill.positionFeeUsd6)}${fill.source === "event" ? ` (impact ${usd(fill.priceImpactFeeUsd6)})` : " (estimated)"}`;
  return `${order.kind} ${order.side} ${usd(fill.sizeUsdDelta6)} ${price}${slip}; ${fee}; borrow settled ${usd(fill.borrowFeeUsd6)}; ${new Date(last.atSec * 1000).toISOString()} (${last.id})`;
}

/** `status`: per mandate and market, prices, exposures, hedge, band, the request in flight and today's fees. */
export async function runStatus(opts: { config: string; set?: string[] }, out: Print): Promise<void> {
  const cfg = loadConfig(opts.config, { dryRun: true, set: opts.set });
  const keypairs = loadSigners(cfg);
  const decisions = new Map<string, Extract<KeeperEvent, { kind: "decision" }>>();
  const vetoes: string[] = [];
  const collateral: string[] = [];
  const keeper = new Keeper(cfg, {
    keypairs,
    emit: (e) => {
      if (e.kind === "decision") decisions.set(`${e.mandate}/${e.market}`, e);
      if (e.kind === "collateral" || e.kind === "shortfall") collateral.push(formatEvent(e));
      if (e.kind === "veto") vetoes.push(formatEvent(e));
      if (e.kind === "warning") out(formatEvent(e));
    },
  });
  try {
    const nowSec = Math.floor(Date.now() / 1000);
    for (const r of keeper.runners) {
      r.resume();
      await tickOnce(keeper, r);
      out(`mandate ${r.name}: fees today $${(Number(r.feesTodayUsd6(nowSec)) / 1e6).toFixed(2)}`);
      const snap = r.lastSnapshot!;
      for (const m of snap.markets) {
        const d = decisions.get(`${r.name}/${m.symbol}`);
        const age = (x: typeof m.pyth) => (x.ok ? `${x.value.ageSec}s` : "unreadable");
        const ext = r.lastExternal;
        out(
          `  ${m.symbol}: price $${m.markPriceUsd6 === null ? "?" : (Number(m.markPriceUsd6) / 1e6).toFixed(4)} (Pyth age ${age(m.pyth)}, Doves age ${age(m.doves)})` +
            (d
              ? `; exposure ${(d.netDelta - d.hedgeTokens).toFixed(4)} (wallets ${(ext?.walletTokens[m.symbol] ?? 0).toFixed(4)}, JLP ${(ext?.jlpTokens[m.symbol] ?? 0).toFixed(4)}); perp ${d.hedgeTokens.toFixed(4)} (its band ${d.bandCenter.toFixed(4)} ± ${d.bandHalfWidth.toFixed(4)}); net ${d.netDelta.toFixed(4)}; would ${d.action}: ${d.reason}`
              : ""),
        );
      }
      for (const line of collateral.splice(0)) out(`  ${line}`);
      for (const m of snap.markets) {
        const last = r.lastFill(m.symbol);
        if (last) out(`  ${m.symbol} last fill: ${describeLastFill(last)}`);
      }
      const inFlight = r.inFlightRequests();
      const open = snap.requests.map((q) => `${q.market ?? "?"} ${q.address.toBase58()}`);
      out(`  in flight: ${inFlight.length ? inFlight.map((f) => `${f.market} ${f.id} ${f.request} (${f.phase})`).join(", ") : "none"}; open requests on chain: ${open.length ? open.join(", ") : "none"}`);
    }
    for (const v of vetoes) out(`  ${v}`);
  } finally {
    await keeper.stop(true);
  }
}
