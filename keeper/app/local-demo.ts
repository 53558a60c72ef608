import * as path from "node:path";
import { Keypair } from "@solana/web3.js";
import { MAINNET } from "../../programs-client";
import { setTokenBalance } from "../../localnet/fixtures/load";
import type { PriceScenario } from "../../localnet/fixtures/price-driver";
import type { FillKeeperKnobs } from "../../localnet/fill-keeper/fill-keeper";
import type { ForkOptions } from "../../localnet/fork/fork";
import { startLocalWorld, type LocalWorld, type LocalWorldOptions } from "../../localnet/world";
import { configSchema, type KeeperConfig } from "./config";

/**
 * The embedded default: the localnet in-process (fixtures, stand-in program, fill emulator, a volatile SOL
 * path) and a config for an example mandate, a long SOL straddle hedged on SOL perps with a fresh wallet.
 */
export interface LocalDemoOptions {
  stateDir: string;
  port?: number;
  scenario?: PriceScenario;
  /** Scenario seconds per wall second. */
  priceSpeed?: number;
  /** Fill-keeper knobs; `false` starts none (a test brings its own, e.g. on another RPC server). */
  fillKeeper?: Partial<FillKeeperKnobs> | false;
  /** Replaces the straddle. */
  config?: (base: KeeperConfig) => KeeperConfig;
  wallet?: Keypair;
  /** Run on a fork of another cluster instead of the fixtures (localnet/fork). */
  fork?: ForkOptions;
  /** The other markets' oracles driven on this chain's clock (on a fork they otherwise follow the remote's). */
  otherScenarios?: Record<string, PriceScenario>;
  /** Serve Yellowstone gRPC (Geyser) too, for a keeper with rpc.accountStream "geyser" (world.geyserUrl). */
  geyser?: LocalWorldOptions["geyser"];
}

export interface LocalDemo {
  world: LocalWorld;
  cfg: KeeperConfig;
  wallet: Keypair;
  close(): Promise<void>;
}

export const DEMO_MANDATE = "sol-straddle";

export async function startLocalDemo(opts: LocalDemoOptions): Promise<LocalDemo> {
  const world = await startLocalWorld({
    port: opts.port ?? 0,
    scenarios: { ...opts.otherScenarios, SOL: opts.scenario ?? { kind: "gbm", startUsd: 150, volAnnual: 0.8, seed: 2024 } },
    priceDriver: { speed: opts.priceSpeed ?? 120 },
    fillKeeper: opts.fillKeeper === false ? false : { delayMs: 300, ...opts.fillKeeper },
    fork: opts.fork,
    geyser: opts.geyser,
  });
  const wallet = opts.wallet ?? Keypair.generate();
  world.chain.airdrop(wallet.publicKey, 100_000_000_000n);
  setTokenBalance(world.chain, wallet.publicKey, MAINNET.custodies.USDC.mint, 1_000_000_000_000n);
  setTokenBalance(world.chain, wallet.publicKey, MAINNET.custodies.SOL.mint, 5_000_000_000_000n);
  const expiry = new Date(Number(world.chain.nowSec()) * 1000 + 30 * 86_400_000).toISOString();
  const base = configSchema.parse({
    rpc: { url: world.url, wsUrl: world.wsUrl },
    stateDir: opts.stateDir,
    loop: { backupPollMs: 1000 },
    oracle: { maxAgeSec: 20 },
    execution: { priorityFee: { staticMicroLamports: 1000 }, rebroadcastMs: 1000, pollMs: 100, blockhashRefreshMs: 1000, swapApi: { url: `${world.url}/swap/v1` } },
    mandates: [
      {
        name: DEMO_MANDATE,
        wallet: wallet.publicKey.toBase58(),
        keypairFile: path.join(opts.stateDir, "unused-keypair.json"),
        markets: ["SOL"],
        policy: { kind: "whalley-wilmott", riskAversion: 0.02 },
        trade: { minTradeUsd: 20, maxTradeUsd: 100_000, cooldownSec: 2 },
        targetLeverage: 3,
        limits: { maxNetDeltaTokens: { SOL: 500 }, maxNotionalUsd: 2_000_000, maxLeverage: 10, maxTradesPerHour: 2000, dailyFeeBudgetUsd: 5_000, maxConsecutiveFailures: 20, breakerCooldownSec: 10 },
        exposures: {
          options: [
            { underlying: "SOL", kind: "call", strike: 150, expiry, quantity: 200, impliedVol: 0.6 },
            { underlying: "SOL", kind: "put", strike: 150, expiry, quantity: 200, impliedVol: 0.6 },
          ],
        },
      },
    ],
  });
  const cfg = opts.config ? opts.config(base) : base;
  return { world, cfg, wallet, close: () => world.close() };
}
