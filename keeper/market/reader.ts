import type { PublicKey } from "@solana/web3.js";
import {
  type Custody,
  type CustodyAddresses,
  type MarketSymbol,
  MAINNET,
  type OraclePrice,
  PROGRAM_IDS,
  type Pool,
  type Position,
  type PositionRequest,
  SYSVAR_CLOCK_PUBKEY,
  clockUnixTimestamp,
  confRatioBps,
  custodyByAddress,
  decodeAccount,
  decodeOracleAccount,
  marketOfCustody,
  ownedAccountFilters,
  priceAgeSec,
  priceUsd6,
} from "../../programs-client";
import { addressKey } from "../lib/address-key";
import type { AccountSource, RawAccount } from "./account-source";
import { accruedBorrowUsd6, cumulativeInterestRateAt, leverageBps, positionDeltaBase, unrealisedPnlUsd6 } from "./position-math";

export type Reading<T> = { ok: true; value: T } | { ok: false; error: string };

export interface PriceReading {
  address: PublicKey;
  oracle: OraclePrice;
  priceUsd6: bigint;
  ageSec: bigint;
  /** conf/price in bps, rounded up; null for Doves, which publishes no confidence. */
  confBps: bigint | null;
}

export interface MarketView {
  symbol: MarketSymbol;
  custodyAddress: PublicKey;
  custody: Reading<Custody>;
  pyth: Reading<PriceReading>;
  /** Doves aggregated feed: the price Jupiter fills and marks positions at. */
  doves: Reading<PriceReading>;
  /** Doves if readable, else Pyth, else null. */
  markPriceUsd6: bigint | null;
}

export interface PositionView {
  address: PublicKey;
  position: Position;
  market: MarketSymbol | null;
  /** False once sizeUsd is 0: the program keeps closed position accounts. */
  open: boolean;
  /** Signed token base units at the market's decimals (+ long, - short). */
  deltaBase: bigint;
  decimals: number;
  leverageBps: bigint | null;
  unrealisedPnlUsd6: bigint | null;
  /** Borrow accrued and not yet charged; null when the collateral custody was not read. */
  accruedBorrowUsd6: bigint | null;
}

export interface RequestView {
  address: PublicKey;
  request: PositionRequest;
  market: MarketSymbol | null;
}

export interface MarketSnapshot {
  /** The latest slot any part of the snapshot was read at. */
  slot: number;
  /** The slot of the one getMultipleAccounts read (markets, pool, clock and `extra`): those accounts agree with it. */
  accountsSlot: number;
  nowSec: bigint;
  /** The chain's Clock at that slot: Jupiter's clock for request expiry. Null if the sysvar did not read. */
  chainNowSec: bigint | null;
  owner: PublicKey;
  pool: Reading<Pool>;
  markets: MarketView[];
  positions: PositionView[];
  requests: RequestView[];
  /** Everything that did not read or check out, one line each, for logs. */
  issues: string[];
  /** The caller's `extraKeys`, read in the same call (null: no such account), by base58 address. */
  extra: Map<string, RawAccount | null>;
}

export interface SnapshotQuery {
  owner: PublicKey;
  markets: readonly MarketSymbol[];
  /** Wall-clock unix seconds, passed in so the reader stays free of clocks. */
  nowSec: bigint;
  pool?: PublicKey;
  custodies?: Record<MarketSymbol, CustodyAddresses>;
  /** More accounts the caller needs this cycle (wallets, collateral, JLP), read in the same call at the same slot. */
  extraKeys?: readonly PublicKey[];
}

/** Decoded accounts by their bytes' identity: the account cache hands out the same Buffer until the account changes. */
const decoded = new WeakMap<Buffer, Map<string, unknown>>();

/**
 * Each account decoded once per change, not once per cycle and mandate: a cycle reads the same custodies, pool and
 * oracles for every mandate, and Borsh decoding was most of a snapshot's cost. Results are shared, never mutated.
 */
export function decodeOnce<K extends "Custody" | "Pool" | "Position" | "PositionRequest">(kind: K, raw: RawAccount): ReturnType<typeof decodeAccount<K>>;
export function decodeOnce<T>(kind: string, raw: RawAccount, decode: () => T): T;
export function decodeOnce(kind: string, raw: RawAccount, decode?: () => unknown): unknown {
  let byKind = decoded.get(raw.data);
  if (!byKind) decoded.set(raw.data, (byKind = new Map()));
  if (!byKind.has(kind)) byKind.set(kind, decode ? decode() : decodeAccount(kind as "Custody", raw.data, raw.owner));
  return byKind.get(kind);
}

function decodeAs<T>(decode: () => { ok: true; value: T } | { ok: false; error: Error }): Reading<T> {
  const d = decode();
  return d.ok ? d : { ok: false, error: d.error.message };
}

function missing(what: string, address: PublicKey): Reading<never> {
  return { ok: false, error: `${what} ${address.toBase58()} does not exist` };
}

function readPrice(address: PublicKey, account: RawAccount | null, nowSec: bigint, slot: number): Reading<PriceReading> {
  if (!account) return missing("oracle account", address);
  const d = decodeOnce(`oracle@${slot}`, account, () => decodeOracleAccount(account.owner, account.data, slot));
  if (!d.ok) return { ok: false, error: d.error.message };
  const oracle = d.value;
  return {
    ok: true,
    value: { address, oracle, priceUsd6: priceUsd6(oracle), ageSec: priceAgeSec(oracle, nowSec), confBps: confRatioBps(oracle) },
  };
}

function readMarket(
  addr: CustodyAddresses,
  accounts: Map<string, RawAccount | null>,
  nowSec: bigint,
  slot: number,
  issues: string[],
): MarketView {
  const symbol = addr.symbol as MarketSymbol;
  const raw = accounts.get(addressKey(addr.custody)) ?? null;
  const custody: Reading<Custody> = raw
    ? decodeAs(() => decodeOnce("Custody", raw))
    : missing("custody", addr.custody);
  if (custody.ok) {
    // The custody names its own oracles; a table that disagrees would price the hedge off the wrong feed.
    if (!custody.value.oracle.oracleAccount.equals(addr.pythPriceUpdate)) {
      issues.push(`${symbol}: custody names Pyth feed ${custody.value.oracle.oracleAccount.toBase58()}, the address table ${addr.pythPriceUpdate.toBase58()}`);
    }
    if (!custody.value.dovesAgOracle.equals(addr.dovesAg)) {
      issues.push(`${symbol}: custody names Doves feed ${custody.value.dovesAgOracle.toBase58()}, the address table ${addr.dovesAg.toBase58()}`);
    }
  }
  const pyth = readPrice(addr.pythPriceUpdate, accounts.get(addressKey(addr.pythPriceUpdate)) ?? null, nowSec, slot);
  const doves = readPrice(addr.dovesAg, accounts.get(addressKey(addr.dovesAg)) ?? null, nowSec, slot);
  for (const [name, r] of [["custody", custody], ["pyth", pyth], ["doves", doves]] as const) {
    if (!r.ok) issues.push(`${symbol} ${name}: ${r.error}`);
  }
  const markPriceUsd6 = doves.ok ? doves.value.priceUsd6 : pyth.ok ? pyth.value.priceUsd6 : null;
  return { symbol, custodyAddress: addr.custody, custody, pyth, doves, markPriceUsd6 };
}

function viewPosition(address: PublicKey, position: Position, markets: MarketView[], rates: Map<string, bigint>): PositionView {
  const market = markets.find((m) => m.custodyAddress.equals(position.custody));
  const decimals = market?.custody.ok ? market.custody.value.decimals : (custodyByAddress(position.custody)?.decimals ?? 0);
  const mark = market?.markPriceUsd6 ?? null;
  return {
    address,
    position,
    market: market?.symbol ?? marketOfCustody(position.custody),
    open: position.sizeUsd > 0n,
    deltaBase: positionDeltaBase(position, decimals),
    decimals,
    leverageBps: leverageBps(position),
    unrealisedPnlUsd6: mark === null ? null : unrealisedPnlUsd6(position, mark),
    accruedBorrowUsd6: rates.has(addressKey(position.collateralCustody)) ? accruedBorrowUsd6(position, rates.get(addressKey(position.collateralCustody))!) : null,
  };
}

/**
 * One consistent view of an owner's hedge: the pool, the markets' custodies and oracle prices, every Position
 * of the owner and its open PositionRequests. Oracle, custody and pool accounts come from one
 * getMultipleAccounts call, so they share a slot. Bad accounts become `issues`, never exceptions.
 */
export async function readMarketSnapshot(source: AccountSource, query: SnapshotQuery): Promise<MarketSnapshot> {
  const poolAddress = query.pool ?? MAINNET.pool;
  const table = query.custodies ?? MAINNET.custodies;
  const marketAddrs = query.markets.map((m) => table[m]);
  // USDC's custody too: it is the collateral custody of every short, whose borrow rate it carries.
  const stable = MAINNET.custodies.USDC.custody;
  const own = [poolAddress, stable, SYSVAR_CLOCK_PUBKEY, ...marketAddrs.flatMap((a) => [a.custody, a.pythPriceUpdate, a.dovesAg])];
  const ownSet = new Set(own.map(addressKey));
  const extraKeys = (query.extraKeys ?? []).filter((k) => !ownSet.has(addressKey(k)));
  const keys = [...own, ...extraKeys];

  const [multi, positionsRes, requestsRes] = await Promise.all([
    source.getMultipleAccounts(keys),
    source.getProgramAccounts(PROGRAM_IDS.perpetuals, ownedAccountFilters("Position", query.owner)),
    source.getProgramAccounts(PROGRAM_IDS.perpetuals, ownedAccountFilters("PositionRequest", query.owner)),
  ]);
  const accounts = new Map(keys.map((k, i) => [addressKey(k), multi.accounts[i] ?? null]));
  const issues: string[] = [];
  const clockRaw = accounts.get(addressKey(SYSVAR_CLOCK_PUBKEY));
  const chainNowSec = clockRaw ? clockUnixTimestamp(clockRaw.data) : null;

  const poolRaw = accounts.get(addressKey(poolAddress)) ?? null;
  const pool: Reading<Pool> = poolRaw ? decodeAs(() => decodeOnce("Pool", poolRaw)) : missing("pool", poolAddress);
  if (!pool.ok) issues.push(`pool: ${pool.error}`);

  const markets = marketAddrs.map((a) => readMarket(a, accounts, query.nowSec, multi.slot, issues));

  // Each custody's borrow counter brought forward to the chain's clock: the stored one is stale by the time since
  // the custody last changed, and borrow accrues on Jupiter's clock, not the keeper's.
  const borrowNowSec = chainNowSec ?? query.nowSec;
  const rates = new Map<string, bigint>();
  for (const m of markets) if (m.custody.ok) rates.set(addressKey(m.custodyAddress), cumulativeInterestRateAt(m.custody.value, borrowNowSec));
  const stableRaw = accounts.get(addressKey(stable));
  const stableCustody = stableRaw ? decodeOnce("Custody", stableRaw) : null;
  if (stableCustody?.ok) rates.set(addressKey(stable), cumulativeInterestRateAt(stableCustody.value, borrowNowSec));

  const positions: PositionView[] = [];
  for (const { pubkey, account } of positionsRes.accounts) {
    const d = decodeOnce("Position", account);
    if (d.ok) positions.push(viewPosition(pubkey, d.value, markets, rates));
    else issues.push(`position ${pubkey.toBase58()}: ${d.error.message}`);
  }

  const requests: RequestView[] = [];
  for (const { pubkey, account } of requestsRes.accounts) {
    const d = decodeOnce("PositionRequest", account);
    if (!d.ok) {
      issues.push(`position request ${pubkey.toBase58()}: ${d.error.message}`);
      continue;
    }
    requests.push({ address: pubkey, request: d.value, market: marketOfCustody(d.value.custody) });
  }

  return {
    slot: Math.max(multi.slot, positionsRes.slot, requestsRes.slot),
    accountsSlot: multi.slot,
    nowSec: query.nowSec,
    chainNowSec,
    owner: query.owner,
    pool,
    markets,
    positions,
    requests,
    issues,
    extra: new Map((query.extraKeys ?? []).map((k) => [addressKey(k), accounts.get(addressKey(k)) ?? null])),
  };
}
