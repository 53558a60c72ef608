import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Connection } from "@solana/web3.js";
import bs58 from "bs58";
import type { KeeperConfig } from "../../keeper/app/config";
import type { KeeperEvent } from "../../keeper/mandate/events";
import { formatEvent } from "../../keeper/ops/terminal-format";
import { Keeper } from "../../keeper/app/keeper";
import { DEMO_MANDATE, type LocalDemo, startLocalDemo } from "../../keeper/app/local-demo";
import { main } from "../../keeper/cli/main";
import { FillKeeper } from "../../localnet/fill-keeper/fill-keeper";
import { PriceDriver } from "../../localnet/fixtures/price-driver";
import { LocalnetServer } from "../../localnet/validator/server";
import { rpc } from "../helpers/localnet";
import { MAINNET, decodeAccount, encodeAccount } from "../../programs-client";
import { ConnectionAccountSource } from "../../keeper/market/account-source";
import { readMarketSnapshot } from "../../keeper/market/reader";
import { sleep, until } from "../helpers/wait";


/** Prometheus text format: `name{a="b",...} value` lines into name -> [{labels, value}]. */
function parseMetrics(text: string): Map<string, { labels: Record<string, string>; value: number }[]> {
  const out = new Map<string, { labels: Record<string, string>; value: number }[]>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    const list = out.get(m[1]!) ?? [];
    list.push({ labels, value: Number(m[3]) });
    out.set(m[1]!, list);
  }
  return out;
}

function metricValue(metrics: ReturnType<typeof parseMetrics>, name: string, labels: Record<string, string>): number | undefined {
  return metrics.get(name)?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

const probe = async (port: number, route: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${route}`);
  return { status: res.status, body: await res.text() };
};

/**
 * `gamma-keeper run --config FILE --log json` in this process, on a demo world: the wallet's key in a 0600 file,
 * +60 SOL to hedge, `edit` applied to the config. Returns the log lines, a stop (SIGTERM's path) and the exit code.
 */
function runCliOn(demo: LocalDemo, stateDir: string, edit: (cfg: KeeperConfig) => void) {
  const keyFile = path.join(stateDir, "wallet.json");
  fs.writeFileSync(keyFile, JSON.stringify(Array.from(demo.wallet.secretKey)), { mode: 0o600 });
  const cfg: KeeperConfig = structuredClone(demo.cfg);
  cfg.mandates[0]!.keypairFile = keyFile;
  cfg.mandates[0]!.exposures.offsets = { SOL: 60 };
  edit(cfg);
  const configFile = path.join(stateDir, "config.json");
  fs.writeFileSync(configFile, JSON.stringify(cfg));
  const lines: string[] = [];
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const exit = main(["run", "--config", configFile, "--log", "json"], (s) => lines.push(s), (s) => lines.push(s), () => stopped);
  return { lines, stop, exit };
}

describe("operations on localnet: secrets, metrics, health and readiness through the CLI", function () {
  this.timeout(180_000);
  let demo: LocalDemo;
  let stateDir: string;
  after(async () => {
    await demo?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("a run with a real key and an RPC URL carrying an API key: no secret in any log line, error or metric; /metrics parses; /health and /ready follow the loop and the oracle", async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-ops-"));
    demo = await startLocalDemo({ stateDir, scenario: { kind: "constant", priceUsd: 150 } });
    const apiKey = "APIKEY-7f3c9a51e2";
    const world = demo.world;
    const { lines, stop, exit } = runCliOn(demo, stateDir, (cfg) => {
      cfg.rpc = {
        url: `${world.url}/v2/${apiKey}`,
        wsUrl: `${world.wsUrl}/?api-key=${apiKey}`,
        // A dead fallback with its own key: failed calls go through it, so its errors are exercised too.
        fallbacks: [{ url: `http://127.0.0.1:9/rpc?api-key=${apiKey}-fallback` }],
        timeoutMs: 8_000,
        accountStream: "websocket",
      };
      cfg.oracle.maxAgeSec = 4;
      cfg.metrics = { ...cfg.metrics, port: 0, maxTickAgeSec: 3 };
      cfg.loop.reconcileSec = 0.5;
    });
    await until("the metrics port to be logged", 20_000, () => lines.some((l) => l.includes('"event":"metrics"')));
    const port = (JSON.parse(lines.find((l) => l.includes('"event":"metrics"'))!) as { port: number }).port;
    await until("a fill", 30_000, () => lines.some((l) => l.includes('"event":"outcome"') && l.includes('"result":"filled"')));

    // Borrow: raise the USDC custody's cumulative rate by 1e6 (0.1% of size), as a long stretch of accrual would. The short now owes 0.1% of its size, and the P&L must say so.
    let shortSizeUsd = 0;
    await until("the short to settle", 20_000, async () => {
      const snap = await readMarketSnapshot(new ConnectionAccountSource(demo.world.connection), { owner: demo.wallet.publicKey, markets: ["SOL"], nowSec: demo.world.chain.nowSec() });
      shortSizeUsd = Number(snap.positions.find((p) => p.open)?.position.sizeUsd ?? 0n) / 1e6;
      return snap.requests.length === 0 && shortSizeUsd > 0;
    });
    const usdcCustody = MAINNET.custodies.USDC.custody;
    const raw = demo.world.chain.getAccount(usdcCustody)!;
    const decoded = decodeAccount("Custody", raw.data);
    assert.ok(decoded.ok);
    const custody = decoded.value;
    custody.fundingRateState.cumulativeInterestRate += 1_000_000n;
    demo.world.chain.setAccount(usdcCustody, { ...raw, data: encodeAccount("Custody", custody, raw.data.length) });

    // Injected 503s on getMultipleAccounts, which decisions no longer make (they read the account cache) but the
    // cache's background re-read does, every 500 ms here: the pool retries them on the dead fallback, so RPC errors
    // are logged and counted.
    await rpc(demo.world.url, "localnet_setFaults", [{ failRate: 1, failStatus: 503, methods: ["getMultipleAccounts"], seed: 5 }]);
    await sleep(3_000);
    await rpc(demo.world.url, "localnet_setFaults", [{}]);

    const metricsText = (await probe(port, "/metrics")).body;
    const metrics = parseMetrics(metricsText);
    const sol = { mandate: DEMO_MANDATE, market: "SOL" };
    assert.ok(Math.abs(metricValue(metrics, "gk_price_usd", sol)! - 150) < 0.01, "price gauge");
    assert.ok(metricValue(metrics, "gk_price_age_seconds", sol)! <= 4);
    assert.ok(metricValue(metrics, "gk_request_outcomes_total", { ...sol, outcome: "filled" })! >= 1);
    assert.ok(metricValue(metrics, "gk_band_half_width_tokens", sol)! > 0);
    assert.ok(metricValue(metrics, "gk_fill_latency_seconds_count", sol)! >= 1);
    assert.ok(metricValue(metrics, "gk_priority_fee_lamports_total", sol)! > 0);
    assert.ok(metricValue(metrics, "gk_compute_units_count", sol)! >= 1);
    assert.ok(metricValue(metrics, "gk_trade_fees_usd_total", sol)! > 0);
    for (const component of ["gamma", "theta", "delta", "fees", "borrow"]) assert.notEqual(metricValue(metrics, "gk_pnl_usd", { ...sol, component }), undefined, component);
    const borrowUsd = metricValue(metrics, "gk_pnl_usd", { ...sol, component: "borrow" })!;
    // The stand-in also accrues borrow on the USDC custody's curve by the second: a few seconds at ~10 %/yr is well
    // under 1e-6 of the size.
    assert.ok(borrowUsd <= -shortSizeUsd * 0.001 + 1e-6 && borrowUsd >= -shortSizeUsd * 0.001 - shortSizeUsd * 1e-6, `borrow ${borrowUsd} for $${shortSizeUsd} short at 0.1%`);
    assert.ok((metrics.get("gk_rpc_errors_total") ?? []).reduce((a, s) => a + s.value, 0) >= 1, "RPC errors counted");
    assert.ok(metricValue(metrics, "gk_ws_notifications_total", {})! > 0);

    assert.equal((await probe(port, "/health")).status, 200);
    await until("/ready", 15_000, async () => (await probe(port, "/ready")).status === 200);

    demo.world.prices.stop();
    await until("/ready to fail on a stale oracle", 15_000, async () => {
      const r = await probe(port, "/ready");
      return r.status === 503 && /SOL: oracle \d+s old/.test(r.body);
    });
    assert.equal((await probe(port, "/health")).status, 200, "a stale oracle is not a dead loop");
    demo.world.prices.start();
    await until("/ready to recover", 15_000, async () => (await probe(port, "/ready")).status === 200);

    // Stall the loop: the account stream goes silent, so each cycle re-reads over RPC first, and those reads hang
    // past the health limit (until the 8 s call deadline).
    await rpc(demo.world.url, "localnet_silenceWebSockets", [true]);
    await rpc(demo.world.url, "localnet_setFaults", [{ latencyMs: 20_000, methods: ["getMultipleAccounts", "getProgramAccounts"] }]);
    await until("/health to fail while the loop is stuck", 15_000, async () => {
      const r = await probe(port, "/health");
      return r.status === 503 && /last cycle .*s ago/.test(r.body);
    });
    await rpc(demo.world.url, "localnet_setFaults", [{}]);
    await rpc(demo.world.url, "localnet_silenceWebSockets", [false]);
    await until("/health to recover", 30_000, async () => (await probe(port, "/health")).status === 200);
    const finalMetrics = (await probe(port, "/metrics")).body;

    stop();
    assert.equal(await exit, 0, "SIGTERM-style stop exits 0");
    assert.ok(lines.some((l) => l.includes('"event":"summary"')), "summary logged on exit");
    assert.ok(lines.some((l) => l.includes('"event":"warning"') && l.includes("every RPC endpoint failed")), "the fallback's errors were logged");

    const secrets = [apiKey, bs58.encode(demo.wallet.secretKey), JSON.stringify(Array.from(demo.wallet.secretKey)), Buffer.from(demo.wallet.secretKey).toString("base64"), Buffer.from(demo.wallet.secretKey).toString("hex")];
    const everything = [...lines, metricsText, finalMetrics];
    for (const text of everything) for (const s of secrets) assert.ok(!text.includes(s), `a secret leaked into: ${text.slice(0, 200)}`);
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `not a JSON log line: ${l}`);
  });
});

describe("the kill switch through the CLI: a kill file, SIGUSR1 and SIGUSR2; logged, exported and on /ready", function () {
  this.timeout(60_000);
  let demo: LocalDemo | undefined;
  let stateDir: string;
  after(async () => {
    await demo?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("no request while the file exists or after SIGUSR1; the first one goes out once both are released; each change logged once, gk_kill_switch and /ready follow", async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-kill-"));
    demo = await startLocalDemo({ stateDir, scenario: { kind: "constant", priceUsd: 150 } });
    const killFile = path.join(stateDir, "KILL");
    fs.writeFileSync(killFile, "");
    const { lines, stop, exit } = runCliOn(demo, stateDir, (cfg) => {
      cfg.killFile = killFile;
      cfg.metrics = { ...cfg.metrics, port: 0 };
    });
    const vetoes = () => lines.filter((l) => l.includes('"event":"veto"') && l.includes("kill switch engaged")).length;
    const intents = () => lines.filter((l) => l.includes('"event":"request"') && l.includes('"stage":"intent"')).length;
    const killChanges = () => lines.filter((l) => l.includes('"event":"kill-switch"')).map((l) => {
        const { engaged, by, was } = JSON.parse(l) as { engaged: boolean; by: string[]; was: string[] };
        return { engaged, by, was };
      });
    const gauge = async (port: number) => metricValue(parseMetrics((await probe(port, "/metrics")).body), "gk_kill_switch", {});
    await until("a veto while the kill file exists", 20_000, () => vetoes() >= 1);
    await until("the metrics port to be logged", 20_000, () => lines.some((l) => l.includes('"event":"metrics"')));
    const port = (JSON.parse(lines.find((l) => l.includes('"event":"metrics"'))!) as { port: number }).port;
    const ready = await probe(port, "/ready");
    assert.equal(ready.status, 503);
    assert.ok((JSON.parse(ready.body) as { reasons: string[] }).reasons.includes(`kill switch engaged by kill file ${killFile}: no new requests`), ready.body);
    assert.equal(await gauge(port), 1);
    process.emit("SIGUSR1");
    fs.rmSync(killFile);
    const held = vetoes();
    await until("vetoes to go on under SIGUSR1 after the file is gone", 20_000, () => vetoes() >= held + 2);
    assert.equal(intents(), 0);
    assert.equal(await gauge(port), 1);
    process.emit("SIGUSR2");
    await until("a request once released", 20_000, () => intents() >= 1);
    assert.equal(await gauge(port), 0);
    assert.ok(!(await probe(port, "/ready")).body.includes("kill switch"), "/ready no longer names the kill switch");
    // Once per change, however many cycles ran in between: the file, the signal joining it, the file gone, released.
    const file = `kill file ${killFile}`;
    assert.deepEqual(killChanges(), [
      { engaged: true, by: [file], was: [] },
      { engaged: true, by: ["SIGUSR1", file], was: [file] },
      { engaged: true, by: ["SIGUSR1"], was: ["SIGUSR1", file] },
      { engaged: false, by: [], was: ["SIGUSR1"] },
    ]);
    stop();
    assert.equal(await exit, 0);
    assert.equal(process.listenerCount("SIGUSR1"), 0, "the run removed its signal handlers");
  });

  it("while holding in band (no trade to veto), a touched kill file is logged and exported at the next cycle, with no /ready probe", async () => {
    await demo?.close();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-kill-hold-"));
    demo = await startLocalDemo({ stateDir, scenario: { kind: "constant", priceUsd: 150 } });
    const killFile = path.join(stateDir, "KILL");
    const { lines, stop, exit } = runCliOn(demo, stateDir, (cfg) => {
      cfg.killFile = killFile;
      cfg.metrics = { ...cfg.metrics, port: 0 };
      cfg.mandates[0]!.exposures.offsets = {};
      cfg.mandates[0]!.exposures.options = [];
    });
    await until("the metrics port to be logged", 20_000, () => lines.some((l) => l.includes('"event":"metrics"')));
    const port = (JSON.parse(lines.find((l) => l.includes('"event":"metrics"'))!) as { port: number }).port;
    await until("a hold", 20_000, () => lines.some((l) => l.includes('"event":"decision"') || l.includes('"event":"heartbeat"')));
    fs.writeFileSync(killFile, "");
    await until("the kill switch to be logged without a probe", 10_000, () => lines.some((l) => l.includes('"event":"kill-switch"') && l.includes('"engaged":true')));
    assert.equal(metricValue(parseMetrics((await probe(port, "/metrics")).body), "gk_kill_switch", {}), 1);
    fs.rmSync(killFile);
    await until("the release to be logged without a probe", 10_000, () => lines.some((l) => l.includes('"event":"kill-switch"') && l.includes('"engaged":false')));
    assert.equal(lines.filter((l) => l.includes('"event":"veto"')).length, 0, "nothing to veto while in band");
    stop();
    assert.equal(await exit, 0);
  });
});

describe("RPC failover and WebSocket recovery on localnet", function () {
  this.timeout(120_000);
  let demo: LocalDemo | undefined;
  let second: LocalnetServer | undefined;
  let fills: FillKeeper | undefined;
  let frozen: PriceDriver | undefined;
  let keeper: Keeper | undefined;
  let stateDir: string;
  after(async () => {
    await keeper?.stop(true);
    frozen?.stop();
    await fills?.stop();
    await second?.close();
    await demo?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("a WebSocket drop is resubscribed; stopping the first of two endpoints moves the keeper to the second without a missed hedge", async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-failover-"));
    demo = await startLocalDemo({ stateDir, fillKeeper: false, scenario: { kind: "gbm", startUsd: 150, volAnnual: 1.2, seed: 77 }, priceSpeed: 600 });
    // A second RPC server on the same chain, like a second provider, and the fill keeper on it.
    second = new LocalnetServer(demo.world.chain);
    const ep2 = await second.listen(0, 400);
    fills = new FillKeeper({ connection: new Connection(ep2.url, "confirmed"), delayMs: 200 });
    demo.world.chain.airdrop(fills.publicKey, 1_000_000_000_000n);
    fills.start();
    const cfg = demo.cfg;
    cfg.rpc.fallbacks = [ep2];
    cfg.rpc.timeoutMs = 2_000;
    cfg.mandates[0]!.exposures.offsets = { SOL: 60 };
    const events: KeeperEvent[] = [];
    keeper = new Keeper(cfg, { emit: (e) => events.push(e), keypairs: new Map([[DEMO_MANDATE, demo.wallet]]) });
    await keeper.start();
    const filled = () => events.filter((e): e is Extract<KeeperEvent, { kind: "outcome" }> => e.kind === "outcome" && e.result === "filled");
    await until("the first fill", 30_000, () => filled().length >= 1);

    const notifications = async () => (await keeper!.metrics.registry.getSingleMetric("gk_ws_notifications_total")!.get()).values[0]!.value;
    await until("notifications", 10_000, async () => (await notifications()) > 0);
    await rpc(demo.world.url, "localnet_disconnectWebSockets");
    const afterDrop = await notifications();
    await until("notifications again after the drop (resubscribed)", 20_000, async () => (await notifications()) >= afterDrop + 5);

    const fillsBefore = filled().length;
    await demo.world.server.close();
    await until("the switch to the second endpoint", 20_000, () => keeper!.rpc.activeIndex === 1);
    const switchedAt = events.length;
    await until("hedging through the second endpoint", 40_000, () => filled().length > fillsBefore && events.slice(switchedAt).some((e) => e.kind === "outcome" && e.result === "filled"));
    await until("notifications on the second endpoint", 15_000, () => Date.now() - keeper!.lastNotificationMs < 2_000);

    // Hold the price where it is (fresh, so fills still work) and let the hedge settle.
    demo.world.prices.stop();
    const last = demo.world.prices.tick().SOL!;
    frozen = new PriceDriver(demo.world.chain, { SOL: { kind: "constant", priceUsd: last } });
    frozen.start();
    await until("the hedge back inside its band", 40_000, () => {
      const open = keeper!.runners[0]!.inFlightRequests().length;
      const d = events.filter((e): e is Extract<KeeperEvent, { kind: "decision" }> => e.kind === "decision").at(-1);
      if (open > 0 || d === undefined || d.action !== "hold") return false;
      // Settled means inside the band, or outside it by less than the smallest order worth sending
      // (the band centre keeps drifting with time to expiry even at a frozen price).
      return Math.abs(d.hedgeTokens - d.bandCenter) <= d.bandHalfWidth + 1e-9 || d.reason.includes("below minimum trade");
    }).catch((e: Error) => {
      throw new Error(`${e.message}; last events:\n${events.slice(-12).map(formatEvent).join("\n")}`);
    });
    const warnings = events.filter((e) => e.kind === "warning").map((e) => (e as { message: string }).message);
    assert.ok(warnings.some((w) => w.includes("RPC now served by endpoint #1")), warnings.join("\n"));
  });
});
