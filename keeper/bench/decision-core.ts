/**
 * The decision core's ticks per second (greeks + policy for one market) for a 200-leg book, against a 2-leg book in
 * the same run as the baseline: the ratio travels between machines, absolute rates do not. Printed with the machine.
 * The live path around it (notification to the wire) is keeper/bench/hot-path.ts.
 */
import { valueExposure } from "../exposure/mandate-exposure";
import type { OptionLeg } from "../exposure/options-book";
import { decide } from "../strategy/policy";
import { describeMachine } from "./machine";
import { DEFAULT_PRICES_USD } from "../../localnet/fixtures/params";
import type { MarketSymbol } from "../../programs-client";

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

async function main() {
  console.log(describeMachine());
  const now = 1_800_000_000 - 86_400;
  const base = ticksPerSecond(book(2, now), 2);
  const big = ticksPerSecond(book(200, now), 2);
  console.log(`decision core (greeks + WW policy, one market): 2-leg book ${base.toFixed(0)} ticks/s (baseline); 200-leg book ${big.toFixed(0)} ticks/s (${(big / base).toFixed(3)}x)`);
}

void main();
