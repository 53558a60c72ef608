import { AccountType, PriceStatus, parseBaseData, parsePriceData } from "@pythnetwork/client";
import type { PublicKey } from "@solana/web3.js";
import { AccountDecodeError, type Decoded, decodeAccount } from "./accounts";
import { PROGRAM_IDS } from "./addresses";
import type { AgPriceFeed, PriceUpdateV2 } from "./types";

export type OracleSource = "pyth-v2" | "pyth-legacy" | "doves";

/** One price from any oracle: value = price x 10^exponent, with exact integers throughout. */
export interface OraclePrice {
  price: bigint;
  /** Confidence (one standard deviation) in the same units as price; null when the source publishes none (Doves). */
  conf: bigint | null;
  exponent: number;
  /** Unix seconds. */
  publishTime: bigint;
  source: OracleSource;
}

export type Rounding = "floor" | "ceil" | "nearest";

function divRound(n: bigint, d: bigint, rounding: Rounding): bigint {
  const q = n / d;
  const r = n % d;
  if (r === 0n) return q;
  const negative = n < 0n !== d < 0n;
  const down = negative ? q - 1n : q; // floor
  const up = down + 1n; // ceil
  if (rounding === "floor") return down;
  if (rounding === "ceil") return up;
  const twiceR = 2n * (r < 0n ? -r : r);
  const absD = d < 0n ? -d : d;
  if (twiceR === absD) return negative ? down : up; // halves away from zero
  return twiceR > absD ? (negative ? down : up) : q;
}

/** Convert `value x 10^exponent` to USD x 1e6 with exact integer maths. */
export function scaleToUsd6(value: bigint, exponent: number, rounding: Rounding = "nearest"): bigint {
  const shift = exponent + 6;
  if (shift >= 0) return value * 10n ** BigInt(shift);
  return divRound(value, 10n ** BigInt(-shift), rounding);
}

export function priceUsd6(p: OraclePrice, rounding: Rounding = "nearest"): bigint {
  return scaleToUsd6(p.price, p.exponent, rounding);
}

/** conf / price in basis points, rounded up (the cautious side); null when the source has no confidence. */
export function confRatioBps(p: OraclePrice): bigint | null {
  if (p.conf === null || p.price <= 0n) return null;
  return divRound(p.conf * 10_000n, p.price, "ceil");
}

/** Seconds since publication at `nowSec`; negative when the publisher's clock runs ahead of ours. */
export function priceAgeSec(p: OraclePrice, nowSec: bigint): bigint {
  return nowSec - p.publishTime;
}

/**
 * A PriceUpdateV2 as an OraclePrice. Partial verification is refused unless allowed: it lowers the
 * Wormhole guardian threshold, and a hedging keeper has no reason to accept that.
 */
export function oracleFromPriceUpdate(
  update: PriceUpdateV2,
  opts: { allowPartial?: boolean; feedIdHex?: string } = {},
): Decoded<OraclePrice> {
  if (update.verificationLevel !== "full" && !opts.allowPartial) {
    return {
      ok: false,
      error: new AccountDecodeError("PriceUpdateV2", "malformed", `verification level is partial (${update.verificationLevel.numSignatures} signatures); only full is accepted`),
    };
  }
  const m = update.priceMessage;
  if (opts.feedIdHex && m.feedId.toString("hex") !== opts.feedIdHex.toLowerCase()) {
    return {
      ok: false,
      error: new AccountDecodeError("PriceUpdateV2", "malformed", `feed id ${m.feedId.toString("hex")} is not the expected ${opts.feedIdHex}`),
    };
  }
  return { ok: true, value: { price: m.price, conf: m.conf, exponent: m.exponent, publishTime: m.publishTime, source: "pyth-v2" } };
}

export function oracleFromAgPriceFeed(feed: AgPriceFeed): OraclePrice {
  return { price: feed.price, conf: null, exponent: feed.expo, publishTime: feed.timestamp, source: "doves" };
}

/**
 * A legacy (v2 push, Pythnet or pre-2024 fork) Pyth price account through @pythnetwork/client.
 * Only a Trading aggregate is a price; anything else is an error value.
 */
export function oracleFromLegacyPyth(data: Uint8Array, currentSlot?: number): Decoded<OraclePrice> {
  const fail = (detail: string): Decoded<OraclePrice> => ({
    ok: false,
    error: new AccountDecodeError("unknown", "malformed", `legacy Pyth price: ${detail}`),
  });
  const buf = Buffer.from(data);
  let base;
  try {
    base = parseBaseData(buf);
  } catch {
    base = undefined;
  }
  if (!base) return fail("no Pyth magic number");
  if (base.type !== AccountType.Price) return fail(`account type ${AccountType[base.type]} is not Price`);
  if (buf.length < 240) return fail(`${buf.length} bytes, a price account has at least 240`);
  const parsed = parsePriceData(buf, currentSlot);
  if (parsed.status !== PriceStatus.Trading) return fail(`status ${PriceStatus[parsed.status]}, not Trading`);
  return {
    ok: true,
    value: {
      price: parsed.aggregate.priceComponent,
      conf: parsed.aggregate.confidenceComponent,
      exponent: parsed.exponent,
      publishTime: parsed.timestamp,
      source: "pyth-legacy",
    },
  };
}

/** Any supported oracle account, told apart by its owner. */
export function decodeOracleAccount(owner: PublicKey, data: Uint8Array, currentSlot?: number): Decoded<OraclePrice> {
  if (owner.equals(PROGRAM_IDS.pythReceiver)) {
    const d = decodeAccount("PriceUpdateV2", data, owner);
    return d.ok ? oracleFromPriceUpdate(d.value) : d;
  }
  if (owner.equals(PROGRAM_IDS.doves)) {
    const d = decodeAccount("AgPriceFeed", data, owner);
    return d.ok ? { ok: true, value: oracleFromAgPriceFeed(d.value) } : d;
  }
  if (owner.equals(PROGRAM_IDS.pythLegacyOracle)) return oracleFromLegacyPyth(data, currentSlot);
  return {
    ok: false,
    error: new AccountDecodeError("unknown", "wrong-owner", `owner ${owner.toBase58()} is not a Pyth or Doves program`),
  };
}
