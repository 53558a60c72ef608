import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import type { Logger } from "pino";
import YAML from "yaml";
import type { KeeperConfig } from "../app/config";
import { ConfigError, configSecrets, loadConfigFile, redactedConfig } from "../app/config-load";
import { formatEvent, type KeeperEvent } from "../app/events";
import { Keeper } from "../app/keeper";
import { KeypairError, loadMandateKey } from "../app/keypair";
import { DEMO_MANDATE, startLocalDemo, type LocalDemo } from "../app/local-demo";
import { createLogger, logEvent } from "../ops/logger";
import { slippageBps } from "../market/fill-report";
import type { LastFill } from "../app/records";
import { redactUrl } from "../ops/redact";
import { CliError, EXIT_USAGE } from "./cli-error";

type Print = (s: string) => void;

export interface RunCliOptions {
  config?: string;
  dryRun?: boolean;
  durationSec?: string;
  /** path=value overrides, applied after the file and GAMMA_KEEPER__ environment variables. */
  set?: string[];
  /** Log format override: auto (pretty on a TTY), json or pretty. */
  log?: string;
}

export function loadConfig(file: string, o: { dryRun?: boolean; set?: string[] } = {}): KeeperConfig {
  try {
    const cfg = loadConfigFile(file, { env: process.env, set: o.set });
    if (o.dryRun) cfg.dryRun = true;
    return cfg;
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
}

function newKeeper(cfg: KeeperConfig, emit: (e: KeeperEvent) => void, demo?: LocalDemo): Keeper {
  try {
    return new Keeper(cfg, { emit, keypairs: demo ? new Map([[DEMO_MANDATE, demo.wallet]]) : undefined });
  } catch (e) {
    if (e instanceof KeypairError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
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

/** Logs every event and counts what the exit summary needs. */
function eventSink(log: Logger) {
  const counts = { decisions: 0, trades: 0, requests: 0, filled: 0, rejected: 0, expired: 0, other: 0 };
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
  };
  return { emit, counts };
}

function summary(keeper: Keeper, counts: ReturnType<typeof eventSink>["counts"], log: Logger) {
  const nowSec = Math.floor(Date.now() / 1000);
  log.info(
    { event: "summary", cycles: keeper.ticks, ...counts },
    `summary: ${keeper.ticks} cycles, ${counts.decisions} decisions (${counts.trades} to trade), ${counts.requests} requests: ${counts.filled} filled, ${counts.rejected} rejected, ${counts.expired} expired, ${counts.other} other`,
  );
  for (const r of keeper.runners) {
    const inFlight = r.inFlightRequests();
    log.info(
      { event: "summary", mandate: r.name, feesTodayUsd: Number(r.feesTodayUsd6(nowSec)) / 1e6, inFlight: inFlight.map((f) => ({ market: f.market, request: f.request, phase: f.phase })) },
      `${r.name}: fees today $${(Number(r.feesTodayUsd6(nowSec)) / 1e6).toFixed(2)}; ${inFlight.length ? `handed over to the next run: ${inFlight.map((f) => `${f.market} ${f.request} (${f.phase})`).join(", ")}` : "nothing in flight"}`,
    );
  }
}

/**
 * `run`: the live keeper until SIGINT/SIGTERM (or --duration): then it stops deciding, leaves in-flight sends
 * journaled for the next run, flushes the journal and exits 0. Without --config, the embedded localnet demo.
 */
export async function runKeeper(opts: RunCliOptions, out: Print, stop: Promise<unknown>): Promise<void> {
  let demo: LocalDemo | undefined;
  let cfg: KeeperConfig;
  if (opts.config) cfg = loadConfig(opts.config, opts);
  else {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "gamma-keeper-demo-"));
    out(`no --config: starting the embedded localnet demo (a long SOL straddle hedged on SOL perps; state in ${stateDir})`);
    demo = await startLocalDemo({ stateDir });
    cfg = demo.cfg;
    cfg.log.format = "pretty";
    if (opts.dryRun) cfg.dryRun = true;
    out(`localnet at ${demo.world.url}; hedging wallet ${demo.wallet.publicKey.toBase58()}`);
  }
  const format = (opts.log ?? cfg.log.format) as KeeperConfig["log"]["format"];
  if (!["auto", "json", "pretty"].includes(format)) throw new CliError(`--log must be auto, json or pretty, got "${opts.log}"`, EXIT_USAGE);
  const log = createLogger({ level: cfg.log.level, format, secrets: configSecrets(cfg), destination: lineStream(out) });
  const { emit, counts } = eventSink(log);
  const keeper = newKeeper(cfg, emit, demo);
  const endpoints = [cfg.rpc.url, ...cfg.rpc.fallbacks.map((e) => e.url)].map(redactUrl).join(", ");
  log.info({ event: "start", mandates: cfg.mandates.map((m) => m.name), dryRun: cfg.dryRun }, `keeper: ${cfg.mandates.length} mandate(s) on ${endpoints}${cfg.dryRun ? " (dry run: nothing is sent)" : ""}`);
  // The kill switch by signal, for an operator without access to the kill file: USR1 engages, USR2 releases.
  const killSignals: [NodeJS.Signals, boolean][] = [["SIGUSR1", true], ["SIGUSR2", false]];
  const onKill = killSignals.map(([signal, on]) => {
    const handler = () => {
      keeper.setKillSwitch(on);
      log.warn({ event: "kill-switch", engaged: on, signal }, on ? `${signal}: kill switch engaged, no new requests (SIGUSR2 releases it)` : `${signal}: kill switch released`);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  try {
    await keeper.start();
    if (keeper.metricsPort !== null) log.info({ event: "metrics", port: keeper.metricsPort }, `metrics, /health and /ready on ${cfg.metrics.host}:${keeper.metricsPort}`);
    const duration = opts.durationSec === undefined ? null : Number(opts.durationSec);
    if (duration !== null && !(duration > 0)) throw new CliError(`--duration must be seconds > 0, got "${opts.durationSec}"`, EXIT_USAGE);
    await (duration === null ? stop : Promise.race([stop, new Promise((r) => setTimeout(r, duration * 1000))]));
    log.info({ event: "stopping" }, "stopping: no new decisions; in-flight sends stay journaled for the next run");
  } finally {
    for (const [signal, handler] of onKill) process.off(signal, handler);
    await keeper.stop(true);
    summary(keeper, counts, log);
    await demo?.close();
  }
}

/** `config check`: every problem with its path and fix, or the effective config with secrets redacted. */
export function runConfigCheck(opts: { file: string; set?: string[] }, out: Print): void {
  const cfg = loadConfig(opts.file, opts);
  const problems: string[] = [];
  for (const m of cfg.mandates) {
    try {
      const kp = loadMandateKey(m);
      out(`mandate ${m.name}: signer ${kp.publicKey.toBase58()} matches the wallet`);
    } catch (e) {
      if (!(e instanceof KeypairError)) throw e;
      problems.push(`mandates.${m.name}: ${e.message}`);
    }
  }
  if (problems.length) throw new CliError(`${opts.file}: the config is valid but a key is not usable:\n${problems.map((p) => `  ${p}`).join("\n")}`, EXIT_USAGE);
  out(`${opts.file} is valid. Effective config (secrets redacted):`);
  out(YAML.stringify(redactedConfig(cfg)).trimEnd());
}

/** `plan`: one decision cycle with nothing sent. */
export async function runPlan(opts: { config: string; set?: string[] }, out: Print): Promise<void> {
  const cfg = loadConfig(opts.config, { dryRun: true, set: opts.set });
  const keeper = newKeeper(cfg, (e) => out(formatEvent(e)));
  try {
    for (const r of keeper.runners) await r.tick({ send: false });
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
  const decisions = new Map<string, Extract<KeeperEvent, { kind: "decision" }>>();
  const vetoes: string[] = [];
  const keeper = newKeeper(cfg, (e) => {
    if (e.kind === "decision") decisions.set(`${e.mandate}/${e.market}`, e);
    if (e.kind === "veto") vetoes.push(formatEvent(e));
  });
  try {
    const nowSec = Math.floor(Date.now() / 1000);
    for (const r of keeper.runners) {
      r.resume();
      await r.tick({ send: false });
      out(`mandate ${r.name}: fees today $${(Number(r.feesTodayUsd6(nowSec)) / 1e6).toFixed(2)}`);
      const snap = r.lastSnapshot!;
      for (const m of snap.markets) {
        const d = decisions.get(`${r.name}/${m.symbol}`);
        const age = (x: typeof m.pyth) => (x.ok ? `${x.value.ageSec}s` : "unreadable");
        const ext = r.lastExternal;
        out(
          `  ${m.symbol}: price $${m.markPriceUsd6 === null ? "?" : (Number(m.markPriceUsd6) / 1e6).toFixed(4)} (Pyth age ${age(m.pyth)}, Doves age ${age(m.doves)})` +
            (d
              ? `; exposure ${(d.netDelta - d.hedgeTokens).toFixed(4)} (wallets ${(ext?.walletTokens[m.symbol] ?? 0).toFixed(4)}, JLP ${(ext?.jlpTokens[m.symbol] ?? 0).toFixed(4)}); perp ${d.hedgeTokens.toFixed(4)}; net ${d.netDelta.toFixed(4)}; band ${d.bandCenter.toFixed(4)} ± ${d.bandHalfWidth.toFixed(4)}; would ${d.action}: ${d.reason}`
              : ""),
        );
      }
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
