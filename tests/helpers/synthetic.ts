import { PublicKey } from "@solana/web3.js";
import {
  type AccountKind,
  type AccountKinds,
  type CustodyAddresses,
  MAINNET,
  accountOwner,
  encodeAccount,
} from "../../programs-client";
import type { RawAccount } from "../../keeper/market/account-source";
import { blank, custodyState } from "../../localnet/fixtures/world";

export { blank };

export function raw<K extends AccountKind>(kind: K, value: AccountKinds[K], size?: number): RawAccount {
  return { owner: accountOwner(kind), data: encodeAccount(kind, value, size), lamports: 1_000_000 };
}

export function makeCustody(addr: CustodyAddresses, overrides: Partial<AccountKinds["Custody"]> = {}): AccountKinds["Custody"] {
  return { ...custodyState(addr), ...overrides };
}

export function makePool(): AccountKinds["Pool"] {
  return {
    ...blank("Pool"),
    name: "Pool",
    custodies: Object.values(MAINNET.custodies).map((c) => c.custody),
    aumUsd: 921_723_508_552_819n,
    maxRequestExecutionSec: 45n,
  };
}

export function makePriceUpdate(price: bigint, conf: bigint, exponent: number, publishTime: bigint, feedIdHex: string): AccountKinds["PriceUpdateV2"] {
  const feedId = Buffer.from(feedIdHex, "hex");
  return {
    writeAuthority: PublicKey.default,
    verificationLevel: "full",
    priceMessage: { feedId, price, conf, exponent, publishTime, prevPublishTime: publishTime - 1n, emaPrice: price, emaConf: conf },
    postedSlot: 1n,
  };
}

export function makeAgPriceFeed(addr: CustodyAddresses, price: bigint, expo: number, timestamp: bigint): AccountKinds["AgPriceFeed"] {
  return {
    ...blank("AgPriceFeed"),
    mint: addr.mint,
    edgeFeed: addr.dovesEdge,
    pythFeed: addr.pythPriceUpdate,
    pythFeedId: Buffer.from(addr.pythFeedIdHex, "hex"),
    price,
    expo,
    timestamp,
    config: { maxAgPriceAgeSec: 10, maxPriceFeedAgeSec: 60, maxPriceDiffBps: 50n },
  };
}

export function makePosition(
  owner: PublicKey,
  market: CustodyAddresses,
  side: "long" | "short",
  sizeUsd: bigint,
  price: bigint,
  collateralUsd: bigint,
): AccountKinds["Position"] {
  return {
    ...blank("Position"),
    owner,
    pool: MAINNET.pool,
    custody: market.custody,
    collateralCustody: side === "long" ? market.custody : MAINNET.custodies.USDC.custody,
    side,
    price,
    sizeUsd,
    collateralUsd,
    bump: 255,
  };
}
