import * as fs from "node:fs";
import * as path from "node:path";
import { PublicKey } from "@solana/web3.js";
import YAML from "yaml";
import { z } from "zod";
import { MARKET_SYMBOLS, type MarketSymbol } from "../../programs-client";
import { DEFAULT_SWAP_API_URL } from "../execution/swap-quote";

/**
 * The keeper's configuration: one file (YAML or JSON) validated here, so every later layer can trust it.
 * Every error names its path in the file and what a valid value looks like.
 */

const pubkey = z.string().refine((s) => {
  try {
    new PublicKey(s);
    return true;
  } catch {
    return false;
  }
}, "must be a base58 public key");
const market = z.enum(MARKET_SYMBOLS as [MarketSymbol, ...MarketSymbol[]]);
const positive = z.number().positive();
const nonNegative = z.number().nonnegative();
const perMarket = <T extends z.ZodTypeAny>(v: T) => z.record(market, v).default({});

const legSchema = z.object({
  underlying: market,
  kind: z.enum(["call", "put"]),
  strike: positive,
  expiry: z.union([z.string(), z.number()]).describe("ISO-8601 time or unix seconds"),
  quantity: z.number(),
  impliedVol: z.number().gt(0).lt(20),
});

const policySchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("whalley-wilmott"), riskAversion: positive }),
  z.object({ kind: z.literal("zakamouline"), riskAversion: positive }),
  z.object({ kind: z.literal("fixed"), thresholdTokens: perMarket(positive) }),
  z.object({ kind: z.literal("clock"), intervalSec: positive }),
]);

const limitsSchema = z.object({
  maxNetDeltaTokens: perMarket(positive),
  maxNotionalUsd: positive,
  maxLeverage: positive.max(100),
  maxTradesPerHour: z.number().int().positive(),
  dailyFeeBudgetUsd: positive,
  maxConsecutiveFailures: z.number().int().positive().default(5),
  breakerCooldownSec: positive.default(300),
});

const mandateSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, "use letters, digits, - and _"),
  wallet: pubkey,
  /** Solana CLI keypair file (JSON array). */
  keypairFile: z.string(),
  markets: z.array(market).nonempty(),
  hedgeRatio: z.number().min(0).max(2).default(1),
  targetNetDelta: perMarket(z.number()),
  policy: policySchema.default({ kind: "whalley-wilmott", riskAversion: 0.3 }),
  trade: z
    .object({ minTradeUsd: nonNegative.default(10), maxTradeUsd: positive.default(50_000), cooldownSec: nonNegative.default(5) })
    .default({}),
  targetLeverage: positive.max(100).default(3),
  slippageBps: z.number().int().positive().max(1000).default(100),
  longCollateral: z.enum(["underlying", "usdc"]).default("underlying"),
  /** Slippage allowed on the USDC -> underlying swap of a USDC-funded long (the request's jupiterMinimumOut). */
  swapSlippageBps: z.number().int().positive().max(1000).default(50),
  limits: limitsSchema,
  exposures: z
    .object({
      options: z.array(legSchema).default([]),
      optionsFile: z.string().optional(),
      wallets: z
        .array(
          z.union([
            z.object({ address: pubkey, market: z.literal("SOL"), kind: z.literal("native") }),
            z.object({ tokenAccount: pubkey, market, kind: z.literal("token") }),
          ]),
        )
        .default([]),
      jlp: z.object({ tokenAccount: pubkey }).optional(),
      offsets: perMarket(z.number()),
    })
    .default({}),
});

export const configSchema = z.object({
  rpc: z.object({ url: z.string().url(), wsUrl: z.string().url().optional() }),
  stateDir: z.string().default("./state"),
  dryRun: z.boolean().default(false),
  killFile: z.string().optional(),
  loop: z.object({ backupPollMs: z.number().int().min(100).default(2000) }).default({}),
  oracle: z
    .object({ maxAgeSec: positive.default(20), maxConfBps: positive.default(100), maxDivergenceBps: positive.default(100), jlpAumToleranceBps: positive.default(100) })
    .default({}),
  execution: z
    .object({
      priorityFee: z
        .object({
          percentile: z.number().min(0).max(100).default(75),
          floorMicroLamports: nonNegative.default(1_000),
          capMicroLamports: positive.default(2_000_000),
          maxAgeSec: positive.default(30),
          fallbackMicroLamports: nonNegative.default(10_000),
          staticMicroLamports: nonNegative.optional(),
          refreshMs: z.number().int().min(200).default(5_000),
        })
        .default({}),
      computeUnitMargin: z.number().min(1).max(3).default(1.2),
      minComputeUnits: z.number().int().positive().default(50_000),
      rebroadcastMs: z.number().int().min(200).default(2_000),
      pollMs: z.number().int().min(50).default(500),
      blockhashRefreshMs: z.number().int().min(200).default(2_000),
      /** Jupiter's swap API, asked for jupiterMinimumOut when a long is funded in USDC. */
      swapApi: z
        .object({ url: z.string().url().default(DEFAULT_SWAP_API_URL), apiKey: z.string().optional(), timeoutMs: z.number().int().min(100).default(3_000) })
        .default({}),
    })
    .default({}),
  mandates: z.array(mandateSchema).nonempty(),
});

export type KeeperConfig = z.infer<typeof configSchema>;
export type MandateConfig = KeeperConfig["mandates"][number];

export class ConfigError extends Error {}

/** Zod issues as "path: message" lines. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  ${i.path.length ? i.path.join(".") : "(top level)"}: ${i.message}`).join("\n");
}

/** Parses and validates a config object; relative paths resolve against `baseDir`. */
export function parseConfig(data: unknown, source: string, baseDir: string): KeeperConfig {
  const r = configSchema.safeParse(data);
  if (!r.success) throw new ConfigError(`${source} is not a valid keeper config:\n${describeIssues(r.error)}`);
  const cfg = r.data;
  const names = new Set<string>();
  for (const [i, m] of cfg.mandates.entries()) {
    if (names.has(m.name)) throw new ConfigError(`${source}: mandates.${i}.name "${m.name}" is used twice; names key the journal, make them unique`);
    names.add(m.name);
    m.keypairFile = path.resolve(baseDir, m.keypairFile);
    if (m.exposures.optionsFile) m.exposures.optionsFile = path.resolve(baseDir, m.exposures.optionsFile);
  }
  cfg.stateDir = path.resolve(baseDir, cfg.stateDir);
  if (cfg.killFile) cfg.killFile = path.resolve(baseDir, cfg.killFile);
  return cfg;
}

export function loadConfigFile(file: string): KeeperConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read config ${file}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new ConfigError(`${file} is not valid ${/\.json$/i.test(file) ? "JSON" : "YAML"}: ${(e as Error).message}`);
  }
  return parseConfig(data, file, path.dirname(path.resolve(file)));
}
