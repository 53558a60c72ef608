import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, type KeeperConfig, loadConfigFile } from "../app/config";
import { formatEvent, type KeeperEvent } from "../app/events";
import { Keeper } from "../app/keeper";
import { KeypairError } from "../app/keypair";
import { DEMO_MANDATE, startLocalDemo, type LocalDemo } from "../app/local-demo";
import { redactUrl } from "../ops/redact";
import { CliError, EXIT_USAGE } from "./cli-error";

type Print = (s: string) => void;

export interface RunCliOptions {
  config?: string;
  dryRun?: boolean;
  durationSec?: string;
}

function loadConfig(file: string, dryRun: boolean | undefined): KeeperConfig {
  try {
    const cfg = loadConfigFile(file);
    if (dryRun) cfg.dryRun = true;
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

/** Prints every request, outcome, veto and warning, trades always, and a hold only when its reason changes. */
function printer(out: Print) {
  const lastHold = new Map<string, string>();
  const lastVeto = new Map<string, string>();
  const counts = { decisions: 0, trades: 0, requests: 0, filled: 0, rejected: 0, expired: 0, other: 0 };
  const emit = (e: KeeperEvent) => {
    const key = `${"mandate" in e ? e.mandate : ""}/${"market" in e ? e.market : ""}`;
    if (e.kind === "decision") {
      counts.decisions++;
      if (e.action === "hold") {
        const reason = e.reason.replace(/[-\d.]+/g, "#");
        if (lastHold.get(key) === reason) return;
        lastHold.set(key, reason);
      } else {
        counts.trades++;
        lastHold.delete(key);
      }
    }
    if (e.kind === "veto") {
      const reasons = e.reasons.join(";");
      if (lastVeto.get(key) === reasons) return;
      lastVeto.set(key, reasons);
    } else lastVeto.delete(key);
    if (e.kind === "request" && e.stage === "intent") counts.requests++;
    if (e.kind === "outcome") {
      if (e.result === "filled" || e.result === "rejected" || e.result === "expired") counts[e.result]++;
      else counts.other++;
    }
    out(`${new Date().toISOString()} ${formatEvent(e)}`);
  };
  return { emit, counts };
}

function summary(keeper: Keeper, counts: ReturnType<typeof printer>["counts"], out: Print) {
  out("");
  out(`summary: ${keeper.ticks} cycles, ${counts.decisions} decisions (${counts.trades} to trade), ${counts.requests} requests: ${counts.filled} filled, ${counts.rejected} rejected, ${counts.expired} expired, ${counts.other} other`);
  const nowSec = Math.floor(Date.now() / 1000);
  for (const r of keeper.runners) {
    const inFlight = r.inFlightRequests();
    out(`  ${r.name}: fees today $${(Number(r.feesTodayUsd6(nowSec)) / 1e6).toFixed(2)}; ${inFlight.length ? `in flight: ${inFlight.map((f) => `${f.market} ${f.request} (${f.phase})`).join(", ")}` : "nothing in flight"}`);
  }
}

/** `run`: the live keeper until interrupted (or --duration). Without --config, the embedded localnet demo. */
export async function runKeeper(opts: RunCliOptions, out: Print, stop: Promise<unknown>): Promise<void> {
  let demo: LocalDemo | undefined;
  let cfg: KeeperConfig;
  if (opts.config) cfg = loadConfig(opts.config, opts.dryRun);
  else {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "gamma-keeper-demo-"));
    out(`no --config: starting the embedded localnet demo (a long SOL straddle hedged on SOL perps; state in ${stateDir})`);
    demo = await startLocalDemo({ stateDir });
    cfg = demo.cfg;
    if (opts.dryRun) cfg.dryRun = true;
    out(`localnet at ${demo.world.url}; hedging wallet ${demo.wallet.publicKey.toBase58()}`);
  }
  const { emit, counts } = printer(out);
  const keeper = newKeeper(cfg, emit, demo);
  out(`keeper: ${cfg.mandates.length} mandate(s) on ${redactUrl(cfg.rpc.url)}${cfg.dryRun ? " (dry run: nothing is sent)" : ""}`);
  try {
    await keeper.start();
    const duration = opts.durationSec === undefined ? null : Number(opts.durationSec);
    if (duration !== null && !(duration > 0)) throw new CliError(`--duration must be seconds > 0, got "${opts.durationSec}"`, EXIT_USAGE);
    await (duration === null ? stop : Promise.race([stop, new Promise((r) => setTimeout(r, duration * 1000))]));
  } finally {
    await keeper.stop(true);
    summary(keeper, counts, out);
    await demo?.close();
  }
}

/** `plan`: one decision cycle with nothing sent. */
export async function runPlan(opts: { config: string }, out: Print): Promise<void> {
  const cfg = loadConfig(opts.config, true);
  const keeper = newKeeper(cfg, (e) => out(formatEvent(e)));
  try {
    for (const r of keeper.runners) await r.tick({ send: false });
  } finally {
    await keeper.stop(true);
  }
}

/** `status`: per mandate and market, prices, exposures, hedge, band, the request in flight and today's fees. */
export async function runStatus(opts: { config: string }, out: Print): Promise<void> {
  const cfg = loadConfig(opts.config, true);
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
      const inFlight = r.inFlightRequests();
      const open = snap.requests.map((q) => `${q.market ?? "?"} ${q.address.toBase58()}`);
      out(`  in flight: ${inFlight.length ? inFlight.map((f) => `${f.market} ${f.id} ${f.request} (${f.phase})`).join(", ") : "none"}; open requests on chain: ${open.length ? open.join(", ") : "none"}`);
    }
    for (const v of vetoes) out(`  ${v}`);
  } finally {
    await keeper.stop(true);
  }
}
