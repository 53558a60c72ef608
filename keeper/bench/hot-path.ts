/**
 * The hot path, measured keeper-side with the localnet in another process (its work is not the keeper's):
 * 1. One mandate, 3 markets, a 200-leg book: from the oracle notification reaching the keeper to the signed
 *    request handed to the RPC client, p50/p99, with the stages between (keeper/lib/trace.ts) and the HTTP
 *    requests the keeper made in that window, by method.
 * 2. 20 mandates on the same 3 markets: from the notification to the LAST mandate's request on the wire.
 * Each sample moves one market's Pyth and Doves prices 3% over RPC (surfnet_setAccount), so its hedge must change.
 *
 *   npm run bench:hot-path [-- --samples 60 --mandates 20]
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Keypair } from "@solana/web3.js";
import { type CustodySymbol, MAINNET, type MarketSymbol } from "../../programs-client";
import { setOraclePrices } from "../../localnet/fixtures/load";
import { DEFAULT_PRICES_USD } from "../../localnet/fixtures/params";
import { configSchema, type KeeperConfig } from "../app/config";
import { Keeper } from "../app/keeper";
import type { KeeperEvent } from "../mandate/events";
import type { TraceStage } from "../lib/trace";
import { runFund } from "../cli/fund";
import { describeMachine } from "./machine";

const MARKETS: MarketSymbol[] = ["SOL", "ETH", "BTC"];
const STAGES: TraceStage[] = ["notified", "cycle", "decided", "signed", "journaled", "sent"];
const ROOT = path.resolve(__dirname, "../..");

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number, got ${process.argv[i + 1]}`);
  return v;
}

/** `gamma-keeper localnet` in a child process; resolves with its RPC URL once it serves. */
async function startLocalnet(): Promise<{ url: string; child: ChildProcess }> {
  // Oracles are written by the bench only (a constant SOL rewritten once a day), fills at once.
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "keeper/cli/main.ts"), "localnet", "--port", "0", "--price-interval-ms", "86400000", "--fill-delay-ms", "0"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /RPC\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`localnet exited (${code}) before serving:\n${out}`)));
  });
  child.stdout!.resume();
  return { url, child };
}

async function rpc(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  await res.text();
}

/** Oracle accounts for these prices, published now, written over RPC in one batch. */
async function writePrices(url: string, prices: Record<string, number>) {
  const writes: unknown[] = [];
  const writer = {
    setAccount: (address: { toBase58(): string }, a: { data: Buffer; lamports: number; owner: { toBase58(): string } }) =>
      writes.push({ jsonrpc: "2.0", id: writes.length, method: "surfnet_setAccount", params: [address.toBase58(), { data: a.data.toString("hex"), lamports: a.lamports, owner: a.owner.toBase58() }] }),
    nowSec: () => BigInt(Math.floor(Date.now() / 1000)),
  };
  setOraclePrices(writer as unknown as Parameters<typeof setOraclePrices>[0], prices as Partial<Record<CustodySymbol, number>>);
  await rpc(url, writes);
}

function legs(n: number, nowSec: number) {
  return Array.from({ length: n }, (_, i) => {
    const underlying = MARKETS[i % 3]!;
    const spot = DEFAULT_PRICES_USD[underlying];
    return {
      underlying,
      kind: i % 2 ? ("put" as const) : ("call" as const),
      strike: Math.round(spot * (0.8 + (0.4 * ((i * 7) % 41)) / 40)),
      expiry: nowSec + 86_400 * (7 + (i % 60)),
      quantity: 1 + (i % 4),
      impliedVol: 0.5 + 0.01 * (i % 30),
    };
  });
}

function config(url: string, stateDir: string, wallets: Keypair[], bookLegs: number): KeeperConfig {
  const nowSec = Math.floor(Date.now() / 1000);
  return configSchema.parse({
    rpc: { url },
    stateDir,
    loop: { backupPollMs: 60_000 },
    oracle: { maxAgeSec: 60 },
    execution: { priorityFee: { staticMicroLamports: 1000 }, rebroadcastMs: 1000, pollMs: 100, blockhashRefreshMs: 1000, swapApi: { url: `${url}/swap/v1` } },
    mandates: wallets.map((w, i) => ({
      name: `m${i}`,
      wallet: w.publicKey.toBase58(),
      keypairFile: path.join(stateDir, "unused.json"),
      markets: MARKETS,
      policy: { kind: "fixed", thresholdTokens: { SOL: 0.5, ETH: 0.02, BTC: 0.001 } },
      trade: { minTradeUsd: 1, maxTradeUsd: 1_000_000, cooldownSec: 0 },
      targetLeverage: 3,
      limits: { maxNetDeltaTokens: { SOL: 1e6, ETH: 1e6, BTC: 1e6 }, maxNotionalUsd: 1e9, maxLeverage: 10, maxTradesPerHour: 100_000, dailyFeeBudgetUsd: 1e9, maxConsecutiveFailures: 1000, breakerCooldownSec: 1 },
      exposures: { options: legs(bookLegs, nowSec), offsets: { SOL: 100, ETH: 5, BTC: 0.25 } },
    })),
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const fmt = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? `p50 ${pct(s, 50).toFixed(2)} ms, p99 ${pct(s, 99).toFixed(2)} ms (n=${s.length})` : "no samples";
};

/** JSON-RPC methods the process sent, counted from global fetch (the keeper's pool calls it per request). */
function countHttp() {
  const counts = new Map<string, number>();
  const real = globalThis.fetch;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    try {
      const body = JSON.parse(String(init?.body ?? "{}")) as { method?: string } | { method?: string }[];
      for (const b of Array.isArray(body) ? body : [body]) counts.set(b.method ?? "?", (counts.get(b.method ?? "?") ?? 0) + 1);
    } catch {
      counts.set("?", (counts.get("?") ?? 0) + 1);
    }
    return real(input, init);
  }) as typeof fetch;
  return { take: () => new Map(counts), reset: () => counts.clear() };
}

async function run(url: string, mandates: number, samples: number) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-hot-"));
  const wallets = Array.from({ length: mandates }, () => Keypair.generate());
  for (const w of wallets) await runFund({ owner: w.publicKey.toBase58(), sol: "100", usdc: "10000000", eth: "1000", btc: "100", rpc: url }, () => {});
  const prices: Record<string, number> = { ...DEFAULT_PRICES_USD };
  await writePrices(url, prices);
  const cfg = config(url, stateDir, wallets, 200);
  const open = new Set<string>();
  let marks: { stage: TraceStage; ns: bigint; mandate?: string; market?: string }[] = [];
  const keeper = new Keeper(cfg, {
    emit: (e: KeeperEvent) => {
      if (e.kind === "request" && e.stage === "intent") open.add(e.id);
      if (e.kind === "outcome") open.delete(e.id);
    },
    keypairs: new Map(wallets.map((w, i) => [`m${i}`, w])),
    trace: (stage, at) => marks.push({ stage, ns: process.hrtime.bigint(), ...at }),
  });
  const http = countHttp();
  await keeper.start();
  const quiet = async () => {
    const t0 = Date.now();
    while (open.size > 0 && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 10));
    await keeper.idle();
  };
  const toLast: number[] = [];
  const stages = new Map<string, number[]>();
  const httpInWindow = new Map<string, number>();
  let missed = 0;
  const warmup = 3;
  for (let i = 0; i < samples + warmup; i++) {
    await quiet();
    await new Promise((r) => setTimeout(r, 200));
    const market = MARKETS[i % 3]!;
    prices[market] = prices[market]! * (i % 2 ? 0.97 : 1.03);
    marks = [];
    http.reset();
    const writtenNs = process.hrtime.bigint();
    await writePrices(url, prices);
    const deadline = Date.now() + 10_000;
    const sentFor = () => new Set(marks.filter((m) => m.stage === "sent" && m.market === market).map((m) => m.mandate)).size;
    while (sentFor() < mandates && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    if (i < warmup) continue;
    if (sentFor() < mandates) {
      missed++;
      continue;
    }
    const notified = marks.find((m) => m.stage === "notified" && m.ns > writtenNs);
    if (!notified) {
      missed++;
      continue;
    }
    const sends = marks.filter((m) => m.stage === "sent" && m.market === market);
    const lastSent = sends.at(-1)!;
    toLast.push(Number(lastSent.ns - notified.ns) / 1e6);
    // Stages of the first mandate's request, each measured from the notification.
    const first = sends[0]!;
    let prev = notified.ns;
    for (const stage of STAGES.slice(1)) {
      const m = marks.find((x) => x.stage === stage && x.ns >= prev && (stage === "cycle" || (x.market === market && x.mandate === first.mandate)));
      if (!m) break;
      const list = stages.get(stage) ?? [];
      list.push(Number(m.ns - prev) / 1e6);
      stages.set(stage, list);
      prev = m.ns;
    }
    const callsBeforeSend = http.take();
    for (const [method, n] of callsBeforeSend) if (!method.startsWith("surfnet_")) httpInWindow.set(method, (httpInWindow.get(method) ?? 0) + n);
  }
  await keeper.stop(true);
  fs.rmSync(stateDir, { recursive: true, force: true });
  const measured = toLast.length;
  return { toLast, stages, httpPerSample: [...httpInWindow].map(([m, n]) => `${m} ${(n / Math.max(1, measured)).toFixed(2)}`).join(", "), missed };
}

async function main() {
  const samples = arg("samples", 60);
  const manyMandates = arg("mandates", 20);
  console.log(describeMachine());
  const { url, child } = await startLocalnet();
  try {
    const one = await run(url, 1, samples);
    console.log(`\n1 mandate, 3 markets, 200-leg book: oracle notification at the keeper -> request handed to the RPC: ${fmt(one.toLast)}${one.missed ? `; ${one.missed} samples without a send` : ""}`);
    for (const stage of STAGES.slice(1)) console.log(`  ${`-> ${stage}`.padEnd(14)} ${fmt(one.stages.get(stage) ?? [])}`);
    console.log(`  HTTP requests per sample (price write to the send, incl. the send and background refreshes): ${one.httpPerSample || "none"}`);
    const many = await run(url, manyMandates, Math.max(10, Math.floor(samples / 2)));
    console.log(`\n${manyMandates} mandates on the same 3 markets: notification -> last mandate's request handed to the RPC: ${fmt(many.toLast)}${many.missed ? `; ${many.missed} samples incomplete` : ""}`);
    console.log(`  HTTP requests per sample: ${many.httpPerSample || "none"}`);
    console.log("\ngoals (issue 17): p99 <= 2 ms keeper-side with one mandate; <= 20 ms to the last of 20 mandates; the sends alone on the wire");
  } finally {
    child.kill("SIGINT");
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
