import type { PublicKey } from "@solana/web3.js";

/**
 * Decoded account shapes. Integers of 64 bits and more are bigint; smaller ones are number.
 * Every `*Usd` and price field is USD x 1e6; token amounts are in the mint's base units.
 */
export type Side = "none" | "long" | "short";
export type RequestChange = "none" | "increase" | "decrease";
export type RequestType = "market" | "trigger";
export type OracleType = "none" | "test" | "pyth";

export interface Permissions {
  allowSwap: boolean;
  allowAddLiquidity: boolean;
  allowRemoveLiquidity: boolean;
  allowIncreasePosition: boolean;
  allowDecreasePosition: boolean;
  allowCollateralWithdrawal: boolean;
  allowLiquidatePosition: boolean;
}

export interface Perpetuals {
  permissions: Permissions;
  pools: PublicKey[];
  admin: PublicKey;
  transferAuthorityBump: number;
  perpetualsBump: number;
  inceptionTime: bigint;
}

export interface FundingRateState {
  /** Cumulative borrow rate, scaled by 1e9. */
  cumulativeInterestRate: bigint;
  lastUpdate: bigint;
  hourlyFundingDbps: bigint;
}

export interface JumpRateState {
  minRateBps: bigint;
  maxRateBps: bigint;
  targetRateBps: bigint;
  /** Scaled by 1e9. */
  targetUtilizationRate: bigint;
}

export interface Pool {
  name: string;
  custodies: PublicKey[];
  aumUsd: bigint;
  limit: { maxAumUsd: bigint; tokenWeightageBufferBps: bigint; buffer: bigint };
  fees: {
    swapMultiplier: bigint;
    stableSwapMultiplier: bigint;
    addRemoveLiquidityBps: bigint;
    swapBps: bigint;
    taxBps: bigint;
    stableSwapBps: bigint;
    stableSwapTaxBps: bigint;
    liquidationRewardBps: bigint;
    protocolShareBps: bigint;
  };
  poolApr: { lastUpdated: bigint; feeAprBps: bigint; realizedFeeUsd: bigint };
  maxRequestExecutionSec: bigint;
  bump: number;
  lpTokenBump: number;
  inceptionTime: bigint;
  parameterUpdateOracle: { prefix: number; key: Buffer };
  aumUsdUpdatedAt: bigint;
  maxTriggerPriceDiffBps: bigint;
  disableClosePositionRequest: boolean;
  maxLpTokenPriceChangeBps: bigint;
  aumUsdRefreshedAtSlot: bigint;
}

export interface Custody {
  pool: PublicKey;
  mint: PublicKey;
  tokenAccount: PublicKey;
  decimals: number;
  isStable: boolean;
  oracle: { oracleAccount: PublicKey; oracleType: OracleType; buffer: bigint; maxPriceAgeSec: number };
  pricing: {
    tradeImpactFeeScalar: bigint;
    buffer: bigint;
    swapSpread: bigint;
    /** BPS: 10_000 is 1x. */
    maxLeverage: bigint;
    maxGlobalLongSizes: bigint;
    maxGlobalShortSizes: bigint;
  };
  permissions: Permissions;
  targetRatioBps: bigint;
  assets: {
    feesReserves: bigint;
    owned: bigint;
    locked: bigint;
    guaranteedUsd: bigint;
    globalShortSizes: bigint;
    globalShortAveragePrices: bigint;
  };
  fundingRateState: FundingRateState;
  bump: number;
  tokenAccountBump: number;
  increasePositionBps: bigint;
  decreasePositionBps: bigint;
  maxPositionSizeUsd: bigint;
  dovesOracle: PublicKey;
  jumpRateState: JumpRateState;
  dovesAgOracle: PublicKey;
  priceImpactBuffer: {
    openInterest: bigint[];
    lastUpdated: bigint;
    feeFactor: bigint;
    exponent: number;
    deltaImbalanceThresholdDecimal: bigint;
    maxFeeBps: bigint;
  };
  borrowLendParameters: {
    borrowsLimitInBps: bigint;
    maintainanceMarginBps: bigint;
    protocolFeeBps: bigint;
    liquidationMargin: bigint;
    liquidationFeeBps: bigint;
  };
  borrowsFundingRateState: FundingRateState;
  debt: bigint;
  borrowLendInterestsAccured: bigint;
  borrowLimitInTokenAmount: bigint;
  minInterestFeeBps: bigint;
  minInterestFeeGracePeriodSeconds: bigint;
  totalStakedAmountLamports: bigint;
  maxTotalStakedAmountLamports: bigint;
  externalSwapFeeMultiplierBps: bigint;
  disableClosePositionRequest: boolean;
  withdrawalLimitTokenAmount: bigint;
  withdrawalTokenAmountAccumulated: bigint;
  withdrawalLimitLastResetAt: bigint;
  withdrawalLimitIntervalSeconds: bigint;
}

export interface Position {
  owner: PublicKey;
  pool: PublicKey;
  /** The market traded. */
  custody: PublicKey;
  /** Long: same as custody; short: the USDC custody. */
  collateralCustody: PublicKey;
  openTime: bigint;
  updateTime: bigint;
  side: Side;
  /** Average entry price, USD x 1e6. */
  price: bigint;
  /** Notional, USD x 1e6; 0 means closed (the account is kept). */
  sizeUsd: bigint;
  collateralUsd: bigint;
  realisedPnlUsd: bigint;
  cumulativeInterestSnapshot: bigint;
  lockedAmount: bigint;
  bump: number;
}

export interface PositionRequest {
  owner: PublicKey;
  pool: PublicKey;
  custody: PublicKey;
  position: PublicKey;
  mint: PublicKey;
  openTime: bigint;
  updateTime: bigint;
  sizeUsdDelta: bigint;
  collateralDelta: bigint;
  requestChange: RequestChange;
  requestType: RequestType;
  side: Side;
  priceSlippage: bigint | null;
  jupiterMinimumOut: bigint | null;
  preSwapAmount: bigint | null;
  triggerPrice: bigint | null;
  triggerAboveThreshold: boolean | null;
  entirePosition: boolean | null;
  executed: boolean;
  counter: bigint;
  bump: number;
  referral: PublicKey | null;
}

export type VerificationLevel = { kind: "partial"; numSignatures: number } | "full";

export interface PriceUpdateV2 {
  writeAuthority: PublicKey;
  verificationLevel: VerificationLevel;
  priceMessage: {
    feedId: Buffer;
    price: bigint;
    conf: bigint;
    exponent: number;
    publishTime: bigint;
    prevPublishTime: bigint;
    emaPrice: bigint;
    emaConf: bigint;
  };
  postedSlot: bigint;
}

export interface AgPriceFeed {
  mint: PublicKey;
  edgeFeed: PublicKey;
  clFeed: PublicKey;
  pythFeed: PublicKey;
  pythFeedId: Buffer;
  price: bigint;
  expo: number;
  timestamp: bigint;
  config: { maxAgPriceAgeSec: number; maxPriceFeedAgeSec: number; maxPriceDiffBps: bigint };
  bump: number;
}

/** Every account kind the keeper decodes, by its Anchor account name. */
export interface AccountKinds {
  Perpetuals: Perpetuals;
  Pool: Pool;
  Custody: Custody;
  Position: Position;
  PositionRequest: PositionRequest;
  PriceUpdateV2: PriceUpdateV2;
  AgPriceFeed: AgPriceFeed;
}
export type AccountKind = keyof AccountKinds;
