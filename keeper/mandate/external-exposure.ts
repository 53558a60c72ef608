import { PublicKey } from "@solana/web3.js";
import {
  MAINNET,
  type MarketSymbol,
  associatedTokenAddress,
  decodeAccount,
  decodeMint,
  decodeOracleAccount,
  decodeTokenAccount,
  marketOfCustody,
  priceUsd6,
} from "../../programs-client";
import { jlpExposure, type JlpCustodyInput } from "../exposure/jlp";
import type { AccountSource, RawAccount } from "../market/account-source";
import { type MarketSnapshot, decodeOnce } from "../market/reader";
import { addressKey } from "../lib/address-key";
import type { MandateConfig } from "../app/config";

/** Exposure read from accounts other than the perps: watched vault wallets, a JLP holding, the wallet's collateral. */
export interface ExternalExposure {
  walletTokens: Partial<Record<MarketSymbol, number>>;
  jlpTokens: Partial<Record<MarketSymbol, number>>;
  jlpAumGapBps: number | null;
  /** The hedging wallet's balances of collateral mints (base units), keyed by mint. */
  collateralBalances: Map<string, bigint>;
  /** The hedging wallet's SOL, which pays transaction fees and rent. */
  walletLamports: bigint;
  warnings: string[];
}

const SOL_DECIMALS = 9;

/** The accounts a mandate's external exposure lives in. Fixed by the mandate, so derived once (ATAs are PDAs). */
export interface ExternalAccounts {
  wallet: PublicKey;
  /** USDC and each traded market's mint, with the wallet's ATA of it. */
  collateral: { mint: PublicKey; ata: PublicKey }[];
  /** One per `exposures.wallets` entry, in order. */
  watched: PublicKey[];
  jlpHolding: PublicKey | null;
  /**
   * Everything the cycle's snapshot should read in its one call: the above, and for JLP the mint and every
   * custody in the address table with its Doves feed.
   */
  keys: PublicKey[];
}

export function externalAccounts(m: MandateConfig, wallet: PublicKey): ExternalAccounts {
  const mints = [MAINNET.custodies.USDC.mint, ...m.markets.map((k) => MAINNET.custodies[k].mint)];
  const collateral = mints.map((mint) => ({ mint, ata: associatedTokenAddress(mint, wallet) }));
  const watched = m.exposures.wallets.map((w) => new PublicKey(w.kind === "native" ? w.address : w.tokenAccount));
  const jlpHolding = m.exposures.jlp ? new PublicKey(m.exposures.jlp.tokenAccount) : null;
  const keys = [...collateral.map((c) => c.ata), wallet, ...watched];
  if (jlpHolding) {
    keys.push(jlpHolding, MAINNET.jlpMint);
    for (const c of Object.values(MAINNET.custodies)) keys.push(c.custody, c.dovesAg);
  }
  return { wallet, collateral, watched, jlpHolding, keys };
}

/** Accounts from the snapshot's extra reads; any the snapshot did not read (a pool custody missing from the address table) in one more call. */
async function accountsOf(source: AccountSource, snap: MarketSnapshot, keys: readonly PublicKey[]): Promise<(RawAccount | null)[]> {
  const missing = keys.filter((k) => !snap.extra.has(addressKey(k)));
  const fetched = new Map<string, RawAccount | null>();
  if (missing.length) {
    const { accounts } = await source.getMultipleAccounts(missing);
    missing.forEach((k, i) => fetched.set(addressKey(k), accounts[i] ?? null));
  }
  return keys.map((k) => snap.extra.get(addressKey(k)) ?? fetched.get(addressKey(k)) ?? null);
}

/** From the accounts the snapshot read with `ExternalAccounts.keys`; an unreadable account is a warning and counts as zero, never a crash. */
export async function readExternalExposure(source: AccountSource, m: MandateConfig, ext: ExternalAccounts, snap: MarketSnapshot, aumToleranceBps: number): Promise<ExternalExposure> {
  const out: ExternalExposure = { walletTokens: {}, jlpTokens: {}, jlpAumGapBps: null, collateralBalances: new Map(), walletLamports: 0n, warnings: [] };
  const watched = m.exposures.wallets;
  const jlp = m.exposures.jlp;
  const pool = snap.pool.ok ? snap.pool.value : null;
  const custodyKeys = jlp && pool ? pool.custodies : [];
  const keys: PublicKey[] = [...ext.collateral.map((c) => c.ata), ext.wallet, ...ext.watched];
  if (ext.jlpHolding) keys.push(ext.jlpHolding, MAINNET.jlpMint, ...custodyKeys);
  const accounts = await accountsOf(source, snap, keys);

  ext.collateral.forEach(({ mint }, i) => {
    const a = accounts[i];
    const t = a ? decodeOnce("TokenAccount", a, () => decodeTokenAccount(a.data)) : null;
    out.collateralBalances.set(addressKey(mint), t?.ok ? t.value.amount : 0n);
  });

  out.walletLamports = BigInt(accounts[ext.collateral.length]?.lamports ?? 0);
  let at = ext.collateral.length + 1;
  for (const w of watched) {
    const a = accounts[at++];
    if (!a) {
      out.warnings.push(`watched ${w.kind === "native" ? w.address : w.tokenAccount} does not exist; counted as 0`);
      continue;
    }
    let tokens: number;
    if (w.kind === "native") tokens = a.lamports / 10 ** SOL_DECIMALS;
    else {
      const t = decodeTokenAccount(a.data);
      if (!t.ok) {
        out.warnings.push(`watched token account ${w.tokenAccount}: ${t.error.message}; counted as 0`);
        continue;
      }
      const expected = MAINNET.custodies[w.market].mint;
      if (!t.value.mint.equals(expected)) {
        out.warnings.push(`watched token account ${w.tokenAccount} holds mint ${t.value.mint.toBase58()}, not ${w.market} (${expected.toBase58()}); ignored`);
        continue;
      }
      tokens = Number(t.value.amount) / 10 ** MAINNET.custodies[w.market].decimals;
    }
    out.walletTokens[w.market] = (out.walletTokens[w.market] ?? 0) + tokens;
  }

  if (jlp && pool) {
    const holdingRaw = accounts[at++];
    const mintRaw = accounts[at++];
    const holding = holdingRaw ? decodeTokenAccount(holdingRaw.data) : null;
    const mint = mintRaw ? decodeMint(mintRaw.data) : null;
    if (!holding?.ok || !mint?.ok) {
      out.warnings.push(`JLP holding ${jlp.tokenAccount} or the JLP mint is unreadable; JLP delta counted as 0`);
      return out;
    }
    const custodies = new Map<string, JlpCustodyInput>();
    const oracleKeys: PublicKey[] = [];
    const decoded = custodyKeys.map((k) => {
      const raw = accounts[at++];
      const c = raw ? decodeAccount("Custody", raw.data, raw.owner) : null;
      if (c?.ok) oracleKeys.push(c.value.dovesAgOracle);
      return c?.ok ? c.value : null;
    });
    const oracles = await accountsOf(source, snap, oracleKeys);
    let oi = 0;
    for (const [i, c] of decoded.entries()) {
      if (!c) {
        out.warnings.push(`pool custody ${custodyKeys[i]!.toBase58()} unreadable; JLP delta counted as 0`);
        return out;
      }
      const raw = oracles[oi++];
      const price = raw ? decodeOracleAccount(raw.owner, raw.data, snap.slot) : null;
      if (!price?.ok) {
        out.warnings.push(`Doves price of custody ${custodyKeys[i]!.toBase58()} unreadable; JLP delta counted as 0`);
        return out;
      }
      custodies.set(custodyKeys[i]!.toBase58(), { custody: c, priceUsd6: priceUsd6(price.value) });
    }
    const e = jlpExposure({ jlpAmount: holding.value.amount, jlpSupply: mint.value.supply }, pool, custodies);
    out.jlpAumGapBps = e.aumGapBps;
    if (Math.abs(e.aumGapBps) > aumToleranceBps) {
      out.warnings.push(`JLP: computed AUM ${e.computedAumUsd6} differs from pool.aumUsd ${pool.aumUsd} by ${e.aumGapBps} bps (> ${aumToleranceBps}); the pool model or its inputs are off`);
    }
    for (const [address, tokens] of e.deltaTokens) {
      const market = marketOfCustody(new PublicKey(address));
      if (market) out.jlpTokens[market] = tokens;
    }
  }
  return out;
}
