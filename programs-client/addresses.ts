import { PublicKey } from "@solana/web3.js";

/** Program ids the keeper reads or calls. */
export const PROGRAM_IDS = {
  perpetuals: new PublicKey("PERPHjGBqRHArX4DySjwM6UJHiR3sWAatqfdBS2qQJu"),
  pythReceiver: new PublicKey("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ"),
  // Owner of the sponsored shard-0 price feed PDAs' seeds (the accounts themselves are owned by the receiver).
  pythPushOracle: new PublicKey("pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT"),
  pythLegacyOracle: new PublicKey("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH"),
  doves: new PublicKey("DoVEsk76QybCEHQGzkvYPWLQu9gzNoZZZt3TPiL597e"),
  token: new PublicKey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
  associatedToken: new PublicKey("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"),
  system: new PublicKey("11111111111111111111111111111111"),
} as const;

export type CustodySymbol = "SOL" | "ETH" | "BTC" | "USDC" | "USDT";
/** Markets a hedge can trade: the non-stable custodies. */
export type MarketSymbol = "SOL" | "ETH" | "BTC";
export const MARKET_SYMBOLS: readonly MarketSymbol[] = ["SOL", "ETH", "BTC"];
export const CUSTODY_SYMBOLS: readonly CustodySymbol[] = ["SOL", "ETH", "BTC", "USDC", "USDT"];

export interface CustodyAddresses {
  symbol: CustodySymbol;
  custody: PublicKey;
  mint: PublicKey;
  decimals: number;
  tokenAccount: PublicKey;
  /** Pyth PriceUpdateV2 sponsored feed (custody.oracle.oracleAccount). */
  pythPriceUpdate: PublicKey;
  pythFeedIdHex: string;
  /** Doves Edge feed (custody.dovesOracle). */
  dovesEdge: PublicKey;
  /** Doves aggregated feed (custody.dovesAgOracle): the price Jupiter marks positions to. */
  dovesAg: PublicKey;
}

function custody(
  symbol: CustodySymbol,
  keys: [custody: string, mint: string, tokenAccount: string, pyth: string, edge: string, ag: string],
  decimals: number,
  pythFeedIdHex: string,
): CustodyAddresses {
  const [c, mint, tokenAccount, pyth, edge, ag] = keys.map((k) => new PublicKey(k)) as PublicKey[];
  return {
    symbol,
    custody: c!,
    mint: mint!,
    decimals,
    tokenAccount: tokenAccount!,
    pythPriceUpdate: pyth!,
    pythFeedIdHex,
    dovesEdge: edge!,
    dovesAg: ag!,
  };
}

/** The Jupiter Perpetuals JLP pool on mainnet, as decoded from the 2026-04 account dumps. */
export const MAINNET = {
  perpetuals: new PublicKey("H4ND9aYttUVLFmNypZqLjZ52FYiGvdEB45GmwNoKEjTj"),
  pool: new PublicKey("5BUwFW4nRbftYTDMbgxykoFWqWHPzahFSNAaaaJtVKsq"),
  jlpMint: new PublicKey("27G8MtK7VtTcCHkpASjSDdkWWYfoqT6ggEuKidVJidD4"),
  jlpDecimals: 6,
  custodies: {
    SOL: custody(
      "SOL",
      [
        "7xS2gz2bTp3fwCC7knJvUWTEU9Tycczu6VhJYKgi1wdz",
        "So11111111111111111111111111111111111111112",
        "BUvduFTd2sWFagCunBPLupG8fBTJqweLw9DuhruNFSCm",
        "7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE",
        "39cWjvHrpHNz2SbXv6ME4NPhqBDBd4KsjUYv5JkHEAJU",
        "FYq2BWQ1V5P1WFBqr3qB2Kb5yHVvSv7upzKodgQE5zXh",
      ],
      9,
      "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d",
    ),
    ETH: custody(
      "ETH",
      [
        "AQCGyheWPLeo6Qp9WpYS9m3Qj479t7R636N9ey1rEjEn",
        "7vfCXTUXx5WJV5JADk17DUJ4ksgau7utNKj4b963voxs",
        "Bgarxg65CEjN3kosjCW5Du3wEqvV3dpCGDR3a2HRQsYJ",
        "42amVS4KgzR9rA28tkVYqVXjq9Qa8dcZQMbH5EYFX6XC",
        "5URYohbPy32nxK1t3jAHVNfdWY2xTubHiFvLrE3VhXEp",
        "AFZnHPzy4mvVCffrVwhewHbFc93uTHvDSFrVH7GtfXF1",
      ],
      8,
      "ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace",
    ),
    BTC: custody(
      "BTC",
      [
        "5Pv3gM9JrFFH883SWAhvJC9RPYmo8UNxuFtv5bMMALkm",
        "3NZ9JMVBmGAqocybic2c7LQCJScmgsAZ6vQqTDzcqmJh",
        "FgpXg2J3TzSs7w3WGYYE7aWePdrxBVLCXSxmAKnCZNtZ",
        "4cSM2e6rvbGQUFiJbqytoVMi5GgghSMr8LwVrT9VPSPo",
        "4HBbPx9QJdjJ7GUe6bsiJjGybvfpDhQMMPXP1UEa7VT5",
        "hUqAT1KQ7eW1i6Csp9CXYtpPfSAvi835V7wKi5fRfmC",
      ],
      8,
      "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43",
    ),
    USDC: custody(
      "USDC",
      [
        "G18jKKXQwBbrHeiK3C9MRXhkHsLHf7XgCSisykV46EZa",
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
        "WzWUoCmtVv7eqAbU3BfKPU3fhLP6CXR8NCJH78UK9VS",
        "Dpw1EAVrSB1ibxiDQyTAW6Zip3J4Btk2x4SgApQCeFbX",
        "A28T5pKtscnhDo6C1Sz786Tup88aTjt8uyKewjVvPrGk",
        "6Jp2xZUTWdDD2ZyUPRzeMdc6AFQ5K3pFgZxk2EijfjnM",
      ],
      6,
      "eaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a",
    ),
    USDT: custody(
      "USDT",
      [
        "4vkNeXiYEUizLdrpdPS1eC2mccyM4NUPRtERrk6ZETkk",
        "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB",
        "Gex24YznvguMad1mBzTQ7a64U1CJy59gvsStQmNnnwAd",
        "HT2PLQBcG5EiCcNSaMHAjSgd9F98ecpATbk4Sk5oYuM",
        "AGW7q2a3WxCzh5TB2Q6yNde1Nf41g3HLaaXdybz7cbBU",
        "Fgc93D641F8N2d1xLjQ4jmShuD3GE3BsCXA56KBQbF5u",
      ],
      6,
      "2b89b9dc8fdf9f34709a5b106b472f0f39bb6ca9ce04b0fd7f2e971688e2e53b",
    ),
  } satisfies Record<CustodySymbol, CustodyAddresses>,
} as const;

export function isMarketSymbol(s: string): s is MarketSymbol {
  return (MARKET_SYMBOLS as readonly string[]).includes(s);
}

export function custodyBySymbol(symbol: CustodySymbol): CustodyAddresses {
  return MAINNET.custodies[symbol];
}

/** The known custody whose address is `address`, if any. */
export function custodyByAddress(address: PublicKey): CustodyAddresses | undefined {
  return CUSTODY_SYMBOLS.map(custodyBySymbol).find((c) => c.custody.equals(address));
}

/** The market a custody address trades, if it is a known non-stable custody. */
export function marketOfCustody(address: PublicKey): MarketSymbol | null {
  const symbol = custodyByAddress(address)?.symbol;
  return symbol && isMarketSymbol(symbol) ? symbol : null;
}
