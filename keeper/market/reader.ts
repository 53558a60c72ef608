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

function decodeAs<T>(decode: () => { ok: true; value: T } | { ok: false; error: Error }): Reading<T> {
  const d = decode();
  return d.ok ? d : { ok: false, error: d.error.message };
}

function missing(what: string, address: PublicKey): Reading<never> {
  return { ok: false, error: `${what} ${address.toBase58()} does not exist` };
}

function readPrice(address: PublicKey, account: RawAccount | null, nowSec: bigint, slot: number): Reading<PriceReading> {
  if (!account) return missing("oracle account", address);
  const d = decodeOracleAccount(account.owner, account.data, slot);
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
  const raw = accounts.get(addr.custody.toBase58()) ?? null;
  const custody: Reading<Custody> = raw
    ? decodeAs(() => decodeAccount("Custody", raw.data, raw.owner))
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
  const pyth = readPrice(addr.pythPriceUpdate, accounts.get(addr.pythPriceUpdate.toBase58()) ?? null, nowSec, slot);
  const doves = readPrice(addr.dovesAg, accounts.get(addr.dovesAg.toBase58()) ?? null, nowSec, slot);
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
    accruedBorrowUsd6: rates.has(position.collateralCustody.toBase58()) ? accruedBorrowUsd6(position, rates.get(position.collateralCustody.toBase58())!) : null,
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
  const ownSet = new Set(own.map((k) => k.toBase58()));
  const extraKeys = (query.extraKeys ?? []).filter((k) => !ownSet.has(k.toBase58()));
  const keys = [...own, ...extraKeys];

  const [multi, positionsRes, requestsRes] = await Promise.all([
    source.getMultipleAccounts(keys),
    source.getProgramAccounts(PROGRAM_IDS.perpetuals, ownedAccountFilters("Position", query.owner)),
    source.getProgramAccounts(PROGRAM_IDS.perpetuals, ownedAccountFilters("PositionRequest", query.owner)),
  ]);
  const accounts = new Map(keys.map((k, i) => [k.toBase58(), multi.accounts[i] ?? null]));
  const issues: string[] = [];
  const clockRaw = accounts.get(SYSVAR_CLOCK_PUBKEY.toBase58());
  const chainNowSec = clockRaw ? clockUnixTimestamp(clockRaw.data) : null;

  const poolRaw = accounts.get(poolAddress.toBase58()) ?? null;
  const pool: Reading<Pool> = poolRaw ? decodeAs(() => decodeAccount("Pool", poolRaw.data, poolRaw.owner)) : missing("pool", poolAddress);
  if (!pool.ok) issues.push(`pool: ${pool.error}`);

  const markets = marketAddrs.map((a) => readMarket(a, accounts, query.nowSec, multi.slot, issues));

  // Each custody's borrow counter brought forward to the chain's clock: the stored one is stale by the time since
  // the custody last changed, and borrow accrues on Jupiter's clock, not the keeper's.
  const borrowNowSec = chainNowSec ?? query.nowSec;
  const rates = new Map<string, bigint>();
  for (const m of markets) if (m.custody.ok) rates.set(m.custodyAddress.toBase58(), cumulativeInterestRateAt(m.custody.value, borrowNowSec));
  const stableRaw = accounts.get(stable.toBase58());
  const stableCustody = stableRaw ? decodeAccount("Custody", stableRaw.data, stableRaw.owner) : null;
  if (stableCustody?.ok) rates.set(stable.toBase58(), cumulativeInterestRateAt(stableCustody.value, borrowNowSec));

  const positions: PositionView[] = [];
  for (const { pubkey, account } of positionsRes.accounts) {
    const d = decodeAccount("Position", account.data, account.owner);
    if (d.ok) positions.push(viewPosition(pubkey, d.value, markets, rates));
    else issues.push(`position ${pubkey.toBase58()}: ${d.error.message}`);
  }

  const requests: RequestView[] = [];
  for (const { pubkey, account } of requestsRes.accounts) {
    const d = decodeAccount("PositionRequest", account.data, account.owner);
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
    extra: new Map((query.extraKeys ?? []).map((k) => [k.toBase58(), accounts.get(k.toBase58()) ?? null])),
  };
}
