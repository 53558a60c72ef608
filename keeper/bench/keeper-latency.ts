/**
 * Keeper benchmarks, printed with the machine they ran on:
 * 1. The decision core's ticks per second (greeks + policy for one market) for a 200-leg book, against a 2-leg
 *    book in the same run as the baseline: the ratio travels between machines, absolute rates do not.
 * 2. Latency from an oracle account update to the keeper's signed transaction reaching the validator, on the
 *    embedded localnet with 3 markets and a 200-leg book (p50, p99). It includes the WebSocket notification,
 *    the snapshot read, the simulation for the compute limit, signing and the send.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEMO_MANDATE, startLocalDemo } from "../app/local-demo";
import { Keeper } from "../app/keeper";
import type { KeeperEvent } from "../app/events";
import { valueExposure } from "../exposure/mandate-exposure";
import type { OptionLeg } from "../exposure/options-book";
import { decide } from "../strategy/policy";
import { describeMachine } from "./machine";
import { setOraclePrices, setTokenBalance } from "../../localnet/fixtures/load";
import { DEFAULT_PRICES_USD } from "../../localnet/fixtures/params";
import { MAINNET, type MarketSymbol } from "../../programs-client";

const MARKETS: MarketSymbol[] = ["SOL", "ETH", "BTC"];

function book(legs: number, nowSec: number): OptionLeg[] {
  return Array.from({ length: legs }, (_, i) => {
    const underlying = MARKETS[i % 3]!;
    const spot = DEFAULT_PRICES_USD[underlying];
    return {
      underlying,
      kind: i % 2 ? "put" : "call",
      strike: spot * (0.8 + 0.4 * ((i * 7) % 41) / 40),
      expirySec: nowSec + 86_400 * (7 + (i % 60)),
      // Long only: every market has gamma, so every price move in the latency run changes its hedge.
      quantity: 1 + (i % 4),
      impliedVol: 0.5 + 0.01 * (i % 30),
    } as OptionLeg;
  });
}

function ticksPerSecond(legs: OptionLeg[], seconds: number): number {
  const nowSec = 1_800_000_000;
  let n = 0;
  let spot = 150;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < 100; k++) {
      spot *= 1 + ((n * 7919) % 11 - 5) * 1e-4;
      const e = valueExposure({ market: "SOL", spotUsd: spot, nowSec, legs, walletTokens: 0, jlpTokens: 0, offsetTokens: 0, hedgeRatio: 1, jlpDeltaVarianceRate: 0 });
      decide({
        policy: { kind: "whalley-wilmott", riskAversion: 0.3 },
        limits: { minTradeTokens: 0, maxTradeTokens: Infinity, cooldownSec: 0 },
        costs: { feeBps: 6, impactFeeScalar: 3.75e15 },
        spotUsd: spot,
        exposure: e.greeks,
        hedgeTokens: 0,
        targetNetDelta: 0,
        nowSec,
        lastTradeSec: null,
      });
      n++;
    }
  }
  return n / seconds;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function latency(samples: number) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-bench-"));
  const demo = await startLocalDemo({
    stateDir,
    scenario: { kind: "constant", priceUsd: 150 },
    fillKeeper: { delayMs: 0 },
    config: (c) => {
      const m = c.mandates[0]!;
      m.markets = ["SOL", "ETH", "BTC"];
      m.exposures.options = [];
      m.exposures.offsets = { SOL: 100, ETH: 5, BTC: 0.25 };
      m.trade = { minTradeUsd: 1, maxTradeUsd: 1_000_000, cooldownSec: 0 };
      m.policy = { kind: "fixed", thresholdTokens: { SOL: 0.5, ETH: 0.02, BTC: 0.001 } };
      m.limits.maxNetDeltaTokens = { SOL: 1e6, ETH: 1e6, BTC: 1e6 };
      return c;
    },
  });
  demo.world.prices.stop();
  // Longs post the underlying: the wallet holds some of each.
  for (const market of ["ETH", "BTC"] as const) setTokenBalance(demo.world.chain, demo.wallet.publicKey, MAINNET.custodies[market].mint, 10n ** 12n);
  const legs = book(200, Number(demo.world.chain.nowSec()));
  demo.cfg.mandates[0]!.exposures.options = legs.map((l) => ({ ...l, expiry: l.expirySec }));
  const open = new Set<string>();
  /** Why the moved market did not trade, when it did not: the last hold reason or veto seen for it. */
  const lastWord = new Map<string, string>();
  const keeper = new Keeper(demo.cfg, {
    emit: (e: KeeperEvent) => {
      if (e.kind === "request" && e.stage === "intent") open.add(e.id);
      if (e.kind === "outcome") open.delete(e.id);
      if (e.kind === "outcome" && e.result !== "filled") lastWord.set(e.market, `${e.result}: ${e.detail}`);
      if (e.kind === "decision" && e.action === "hold") lastWord.set(e.market, `hold: ${e.reason}`);
      if (e.kind === "veto") lastWord.set(e.market, `veto: ${e.reasons.join("; ")}`);
      if (e.kind === "warning") lastWord.set(e.market ?? "keeper", `warning: ${e.message}`);
    },
    keypairs: new Map([[DEMO_MANDATE, demo.wallet]]),
  });
  let sentAt = 0;
  demo.world.chain.on("status", () => (sentAt ||= performance.now()));
  const quiet = async () => {
    while (open.size > 0) await new Promise((r) => setTimeout(r, 20));
    await keeper.idle();
  };
  await keeper.start();
  const prices: Record<string, number> = { ...DEFAULT_PRICES_USD };
  const measured: number[] = [];
  const missed: string[] = [];
  for (let i = 0; i < samples + 3; i++) {
    await quiet();
    await new Promise((r) => setTimeout(r, 300));
    const market = MARKETS[i % 3]!;
    // Restamp every feed at its current price, then move one market 3%: its hedge must change, so a request goes out.
    setOraclePrices(demo.world.chain, prices);
    await new Promise((r) => setTimeout(r, 150));
    await quiet();
    prices[market] = prices[market]! * (i % 2 ? 0.97 : 1.03);
    sentAt = 0;
    const t0 = performance.now();
    setOraclePrices(demo.world.chain, prices);
    while (!sentAt && performance.now() - t0 < 10_000) await new Promise((r) => setImmediate(r));
    if (i >= 3 && sentAt) measured.push(sentAt - t0);
    if (i >= 3 && !sentAt) missed.push(`${market}: ${lastWord.get(market) ?? lastWord.get("keeper") ?? "no event"}`);
  }
  await keeper.stop(true);
  await demo.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
  return { ms: measured.sort((a, b) => a - b), missed };
}

async function main() {
  console.log(describeMachine());
  const now = 1_800_000_000 - 86_400;
  const base = ticksPerSecond(book(2, now), 2);
  const big = ticksPerSecond(book(200, now), 2);
  console.log(`decision core (greeks + WW policy, one market): 2-leg book ${base.toFixed(0)} ticks/s (baseline); 200-leg book ${big.toFixed(0)} ticks/s (${(big / base).toFixed(3)}x)`);
  const { ms: lat, missed } = await latency(Number(process.env.SAMPLES ?? 30));
  console.log(`oracle update -> signed transaction at the validator, 3 markets, 200-leg book, ${lat.length} samples: p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${lat.at(-1)!.toFixed(1)} ms`);
  if (missed.length) console.log(`${missed.length} price moves sent nothing within 10 s:\n  ${missed.join("\n  ")}`);
}

void main();
