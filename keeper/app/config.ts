import { PublicKey } from "@solana/web3.js";
import { z } from "zod";
import { MARKET_SYMBOLS, type MarketSymbol } from "../../programs-client";
import { DEFAULT_SWAP_API_URL } from "../execution/swap-quote";
import { expirySeconds, relativeExpiryProblem } from "../exposure/book-file";

/**
 * The keeper's configuration schema: validated once (config-load.ts), so every later layer can trust it.
 */

/** The field's path already says "expiry": a relative expiry's own problem (+0d, out of range), else the usual fix. */
function configExpiryProblem(v: unknown): string {
  const problem = relativeExpiryProblem(v, 0);
  if (problem) return problem.slice("expiry ".length);
  return `${JSON.stringify(v)} is not a date; fix: write an ISO-8601 time such as 2027-06-25T08:00:00Z, unix seconds, or +30d / +12h (days or hours from the start)`;
}

const pubkey = z.string().refine((s) => {
  try {
    new PublicKey(s);
    return true;
  } catch {
    return false;
  }
}, "must be a base58 public key");
const market = z.enum(MARKET_SYMBOLS as [MarketSymbol, ...MarketSymbol[]]);
/** Unknown keys are errors: a misspelt limit must not silently fall back to its default. */
const obj = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict();
const positive = z.number().positive();
const nonNegative = z.number().nonnegative();
const perMarket = <T extends z.ZodTypeAny>(v: T) => z.record(market, v).default({});

const legSchema = obj({
  underlying: market,
  kind: z.enum(["call", "put"]),
  strike: positive,
  expiry: z
    .union([z.string(), z.number()])
    // Any load time will do to check the form; the keeper resolves a relative expiry once, when it loads the book.
    .refine((v) => expirySeconds(v, 0) !== null, (v) => ({ message: configExpiryProblem(v) }))
    .describe("ISO-8601 time, unix seconds, or +Nd / +Nh from the keeper's start"),
  quantity: z.number(),
  impliedVol: z.number().gt(0).lt(20),
});

const policySchema = z.discriminatedUnion("kind", [
  obj({ kind: z.literal("whalley-wilmott"), riskAversion: positive }),
  obj({ kind: z.literal("zakamouline"), riskAversion: positive }),
  obj({ kind: z.literal("fixed"), thresholdTokens: perMarket(positive) }),
  obj({ kind: z.literal("clock"), intervalSec: positive }),
]);

const limitsSchema = obj({
  maxNetDeltaTokens: perMarket(positive),
  maxNotionalUsd: positive,
  maxLeverage: positive.max(100),
  maxTradesPerHour: z.number().int().positive(),
  dailyFeeBudgetUsd: positive,
  maxConsecutiveFailures: z.number().int().positive().default(5),
  breakerCooldownSec: positive.default(300),
});

const mandateSchema = obj({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, "use letters, digits, - and _"),
  wallet: pubkey,
  /** Solana CLI keypair file (JSON array, mode 0600). Exactly one of keypairFile and keypairEnv. */
  keypairFile: z.string().optional(),
  /** Name of an environment variable holding the secret key in base58. */
  keypairEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name such as GK_DAO_KEY").optional(),
  markets: z.array(market).nonempty(),
  hedgeRatio: z.number().min(0).max(2).default(1),
  targetNetDelta: perMarket(z.number()),
  policy: policySchema.default({ kind: "whalley-wilmott", riskAversion: 0.3 }),
  trade: obj({ minTradeUsd: nonNegative.default(10), maxTradeUsd: positive.default(50_000), cooldownSec: nonNegative.default(5) })
    .default({}),
  targetLeverage: positive.max(100).default(3),
  /**
   * Keeps each hedge position away from liquidation (keeper/strategy/collateral-policy.ts): below `floorSigmas` daily
   * standard deviations of the market the keeper deposits, above `ceilingSigmas` it withdraws, to the target leverage.
   * `annualVol` measures the distance: the market's annualised volatility, per market (a forecast replaces it later).
   * It is also the vol of the hedge's flow band where no option gives one (keeper/mandate/hedge-terms.ts).
   */
  collateral: obj({
    enabled: z.boolean().default(true),
    floorSigmas: positive.max(100).default(3),
    ceilingSigmas: positive.max(10_000).default(12),
    minChangeUsd: positive.default(10),
    annualVol: obj({ SOL: positive.max(10).default(0.8), ETH: positive.max(10).default(0.7), BTC: positive.max(10).default(0.6) }).default({}),
  })
    .refine((c) => c.ceilingSigmas > c.floorSigmas, { message: "ceilingSigmas must be above floorSigmas, or deposits and withdrawals would follow each other", path: ["ceilingSigmas"] })
    .default({}),
  slippageBps: z.number().int().positive().max(1000).default(100),
  longCollateral: z.enum(["underlying", "usdc"]).default("underlying"),
  /** Slippage allowed on the USDC -> underlying swap of a USDC-funded long (the request's jupiterMinimumOut). */
  swapSlippageBps: z.number().int().positive().max(1000).default(50),
  limits: limitsSchema,
  exposures: obj({
      options: z.array(legSchema).default([]),
      optionsFile: z.string().optional(),
      wallets: z
        .array(
          z.union([
            obj({ address: pubkey, market: z.literal("SOL"), kind: z.literal("native") }),
            obj({ tokenAccount: pubkey, market, kind: z.literal("token") }),
          ]),
        )
        .default([]),
      /**
       * `deltaVolTokens`: how far pool flows move the holding's delta, per market, in tokens of the underlying per
       * √year (a backtest's book.jlp.flowVolTokens). The Whalley-Wilmott band of a JLP delta with no options beside it is
       * sized from it and the market's vol (collateral.annualVol); config-load.ts refuses such a mandate without it.
       */
      jlp: obj({ tokenAccount: pubkey, deltaVolTokens: z.record(market, positive).optional() }).optional(),
      offsets: perMarket(z.number()),
    })
    .default({}),
});

const httpUrl = z.string().url().refine((s) => /^https?:\/\//i.test(s), "must start with http:// or https://");
const wsUrl = z.string().url().refine((s) => /^wss?:\/\//i.test(s), "must start with ws:// or wss://");
const endpoint = obj({ url: httpUrl, wsUrl: wsUrl.optional() });

export const configSchema = obj({
  /** The primary endpoint; `fallbacks` are tried in order when it is unhealthy. */
  rpc: obj({
    url: httpUrl,
    wsUrl: wsUrl.optional(),
    fallbacks: z.array(endpoint).default([]),
    timeoutMs: z.number().int().min(100).default(10_000),
    /** Where account updates come from: the endpoint's WebSocket, or a Yellowstone gRPC (Geyser) endpoint. */
    accountStream: z.enum(["websocket", "geyser"]).default("websocket"),
    geyser: obj({ url: httpUrl, xToken: z.string().min(1).optional() }).optional(),
  }).refine((r) => r.accountStream !== "geyser" || r.geyser !== undefined, {
    message: "accountStream geyser needs rpc.geyser.url (the Yellowstone gRPC endpoint, e.g. https://host:443) and, for most providers, rpc.geyser.xToken",
    path: ["geyser"],
  }),
  stateDir: z.string().default("./state"),
  dryRun: z.boolean().default(false),
  killFile: z.string().optional(),
  loop: obj({
    backupPollMs: z.number().int().min(100).default(2000),
    /** No decision on account state older than this: a stream gap not yet re-read, or a silent stream. */
    maxStateAgeMs: z.number().int().min(100).default(5_000),
    /** The account stream counts as dropped (a gap: everything is re-read) after this long without a slot. */
    streamSilenceMs: z.number().int().min(100).default(3_000),
    /** Every account followed is re-read over RPC this often, whatever the stream says. */
    reconcileSec: positive.default(60),
  }).default({}),
  oracle: obj({ maxAgeSec: positive.default(20), maxConfBps: positive.default(100), maxDivergenceBps: positive.default(100), jlpAumToleranceBps: positive.default(100) }).default({}),
  execution: obj({
    priorityFee: obj({
      percentile: z.number().min(0).max(100).default(75),
      floorMicroLamports: nonNegative.default(1_000),
      capMicroLamports: positive.default(2_000_000),
      maxAgeSec: positive.default(30),
      fallbackMicroLamports: nonNegative.default(10_000),
      staticMicroLamports: nonNegative.optional(),
      refreshMs: z.number().int().min(200).default(5_000),
    }).default({}),
    computeUnitMargin: z.number().min(1).max(3).default(1.2),
    minComputeUnits: z.number().int().positive().default(50_000),
    /** The limit of a request kind not yet calibrated (its simulation at start failed): safe, not cheap. */
    defaultComputeUnits: z.number().int().positive().default(400_000),
    rebroadcastMs: z.number().int().min(200).default(2_000),
    pollMs: z.number().int().min(50).default(500),
    blockhashRefreshMs: z.number().int().min(200).default(2_000),
    /** Seconds past Jupiter's execution window after which the keeper cancels its own still-open request. */
    cancelExpiredAfterSec: nonNegative.default(30),
    /** Jupiter's swap API, asked for jupiterMinimumOut when a long is funded in USDC. */
    swapApi: obj({ url: httpUrl.default(DEFAULT_SWAP_API_URL), apiKey: z.string().optional(), timeoutMs: z.number().int().min(100).default(3_000) }).default({}),
    /** The one referral account a request may name; none when unset (keeper/risk/signing-policy.ts). */
    referral: pubkey.optional(),
    /** Caps the signing policy enforces on every transaction, whatever the fee tracker quotes. */
    signing: obj({
      maxComputeUnitPriceMicroLamports: positive.default(5_000_000),
      maxComputeUnitLimit: z.number().int().positive().max(1_400_000).default(1_400_000),
      maxPriorityFeeLamports: positive.default(10_000_000),
    }).default({}),
  })
    .superRefine((x, ctx) => {
      // Otherwise the keeper would build transactions its own signing policy refuses.
      const cap = x.signing.maxComputeUnitPriceMicroLamports;
      if (x.priorityFee.capMicroLamports > cap) ctx.addIssue({ code: "custom", path: ["priorityFee", "capMicroLamports"], message: `must be at most execution.signing.maxComputeUnitPriceMicroLamports (${cap})` });
      if ((x.priorityFee.staticMicroLamports ?? 0) > cap) ctx.addIssue({ code: "custom", path: ["priorityFee", "staticMicroLamports"], message: `must be at most execution.signing.maxComputeUnitPriceMicroLamports (${cap})` });
      if (x.minComputeUnits > x.signing.maxComputeUnitLimit) ctx.addIssue({ code: "custom", path: ["minComputeUnits"], message: `must be at most execution.signing.maxComputeUnitLimit (${x.signing.maxComputeUnitLimit})` });
      if (x.defaultComputeUnits > x.signing.maxComputeUnitLimit || x.defaultComputeUnits < x.minComputeUnits) ctx.addIssue({ code: "custom", path: ["defaultComputeUnits"], message: `must be between execution.minComputeUnits (${x.minComputeUnits}) and execution.signing.maxComputeUnitLimit (${x.signing.maxComputeUnitLimit})` });
    })
    .default({}),
  /** Prometheus metrics, /health and /ready on one HTTP port; off unless a port is set. */
  metrics: obj({
    port: z.number().int().min(0).max(65_535).optional(),
    host: z.string().default("127.0.0.1"),
    /** /health fails when no cycle completed for this long. */
    maxTickAgeSec: positive.default(30),
    /** /ready needs every hedging wallet to hold at least this much SOL for fees. */
    minWalletSol: nonNegative.default(0.05),
  }).default({}),
  log: obj({
    level: z.enum(["trace", "debug", "info", "warn", "error"]).default("info"),
    format: z.enum(["auto", "json", "pretty"]).default("auto"),
    /** While a market holds, a line with its state every this many seconds of wall time; 0 turns it off. */
    heartbeatSec: nonNegative.default(30),
  }).default({}),
  /** Mandate files (a DAO's mandate kept apart from the operator's config), merged into `mandates`. */
  mandateFiles: z.array(z.string()).default([]),
  mandates: z.array(mandateSchema).default([]),
});

export type KeeperConfig = z.infer<typeof configSchema>;
export type MandateConfig = KeeperConfig["mandates"][number];
export { mandateSchema };
