import { BorshInstructionCoder } from "@coral-xyz/anchor";
import { type AccountMeta, type PublicKey, TransactionInstruction } from "@solana/web3.js";
import { PROGRAM_IDS } from "./addresses";
import { toAnchor } from "./convert";
import { PERPETUALS_IDL } from "./idl";
import {
  associatedTokenAddress,
  eventAuthorityPda,
  perpetualsPda,
  positionPda,
  positionRequestPda,
  transferAuthorityPda,
} from "./pda";
import type { Side } from "./types";

const coder = new BorshInstructionCoder(PERPETUALS_IDL);
const PERPS = PROGRAM_IDS.perpetuals;

export type PerpsInstructionName =
  | "createIncreasePositionMarketRequest"
  | "createDecreasePositionMarketRequest"
  | "closePositionRequest2"
  | "closePositionRequest3"
  | "increasePosition4"
  | "increasePositionWithInternalSwap"
  | "decreasePosition4"
  | "liquidateFullPosition4";

/**
 * Account metas in the IDL's order with the IDL's signer/writable flags, so a builder cannot get the order wrong.
 * An optional account left out takes the program id in its slot, read-only (Anchor's convention).
 */
function accountMetas(name: PerpsInstructionName, accounts: Record<string, PublicKey | undefined>): AccountMeta[] {
  const ix = PERPETUALS_IDL.instructions.find((i) => i.name === name)!;
  return ix.accounts.map((acc) => {
    const a = acc as { name: string; writable?: boolean; signer?: boolean; optional?: boolean };
    const key = accounts[a.name];
    if (!key) {
      if (a.optional) return { pubkey: PERPS, isSigner: false, isWritable: false };
      throw new Error(`${name}: account ${a.name} is required`);
    }
    return { pubkey: key, isSigner: a.signer ?? false, isWritable: a.writable ?? false };
  });
}

function encodeData(name: PerpsInstructionName, params: object | undefined): Buffer {
  const args = params === undefined ? {} : { params: toAnchor(PERPETUALS_IDL, paramsType(name), params) };
  return coder.encode(name, args);
}

function paramsType(name: PerpsInstructionName) {
  const ix = PERPETUALS_IDL.instructions.find((i) => i.name === name)!;
  return ix.args[0]!.type;
}

function instruction(name: PerpsInstructionName, accounts: Record<string, PublicKey | undefined>, params?: object) {
  return new TransactionInstruction({ programId: PERPS, keys: accountMetas(name, accounts), data: encodeData(name, params) });
}

const commonProgramAccounts = () => ({
  perpetuals: perpetualsPda(),
  tokenProgram: PROGRAM_IDS.token,
  associatedTokenProgram: PROGRAM_IDS.associatedToken,
  systemProgram: PROGRAM_IDS.system,
  eventAuthority: eventAuthorityPda(),
  program: PERPS,
});

export interface RequestAddresses {
  position: PublicKey;
  positionRequest: PublicKey;
  positionRequestAta: PublicKey;
}

export interface IncreaseRequestArgs {
  owner: PublicKey;
  pool: PublicKey;
  /** The market's custody. */
  custody: PublicKey;
  /** Long: the market's custody; short: the USDC custody. */
  collateralCustody: PublicKey;
  /** Mint paid in; equal to the collateral custody's mint unless a Jupiter swap is wanted. */
  inputMint: PublicKey;
  /** Owner's token account for inputMint; defaults to the owner's ATA. */
  fundingAccount?: PublicKey;
  side: Exclude<Side, "none">;
  sizeUsdDelta: bigint;
  collateralTokenDelta: bigint;
  /** Worst acceptable price, USD x 1e6: a maximum for longs, a minimum for shorts. */
  priceSlippage: bigint;
  jupiterMinimumOut: bigint | null;
  /** Unique per request of this position: it is a PDA seed and the keeper's idempotency key. */
  counter: bigint;
  referral?: PublicKey;
}

export function createIncreasePositionMarketRequest(args: IncreaseRequestArgs): { instruction: TransactionInstruction } & RequestAddresses {
  const position = positionPda(args.owner, args.pool, args.custody, args.collateralCustody, args.side);
  const positionRequest = positionRequestPda(position, args.counter, "increase");
  const positionRequestAta = associatedTokenAddress(args.inputMint, positionRequest);
  const ix = instruction(
    "createIncreasePositionMarketRequest",
    {
      ...commonProgramAccounts(),
      owner: args.owner,
      fundingAccount: args.fundingAccount ?? associatedTokenAddress(args.inputMint, args.owner),
      pool: args.pool,
      position,
      positionRequest,
      positionRequestAta,
      custody: args.custody,
      collateralCustody: args.collateralCustody,
      inputMint: args.inputMint,
      referral: args.referral,
    },
    args,
  );
  return { instruction: ix, position, positionRequest, positionRequestAta };
}

export type IncreaseRequestParams = Pick<IncreaseRequestArgs, "sizeUsdDelta" | "collateralTokenDelta" | "side" | "priceSlippage" | "jupiterMinimumOut" | "counter">;

/** The data of createIncreasePositionMarketRequest alone: for a transaction whose accounts were compiled once. */
export function encodeIncreaseRequestData(params: IncreaseRequestParams): Buffer {
  return encodeData("createIncreasePositionMarketRequest", params);
}

export interface DecreaseRequestArgs {
  owner: PublicKey;
  pool: PublicKey;
  custody: PublicKey;
  collateralCustody: PublicKey;
  side: Exclude<Side, "none">;
  /** Mint paid out; the owner's ATA of it receives the proceeds unless receivingAccount is given. */
  desiredMint: PublicKey;
  receivingAccount?: PublicKey;
  collateralUsdDelta: bigint;
  sizeUsdDelta: bigint;
  /** Worst acceptable price, USD x 1e6: a minimum for longs, a maximum for shorts. */
  priceSlippage: bigint;
  jupiterMinimumOut: bigint | null;
  entirePosition: boolean | null;
  counter: bigint;
  referral?: PublicKey;
}

export function createDecreasePositionMarketRequest(args: DecreaseRequestArgs): { instruction: TransactionInstruction } & RequestAddresses {
  const position = positionPda(args.owner, args.pool, args.custody, args.collateralCustody, args.side);
  const positionRequest = positionRequestPda(position, args.counter, "decrease");
  const positionRequestAta = associatedTokenAddress(args.desiredMint, positionRequest);
  const ix = instruction(
    "createDecreasePositionMarketRequest",
    {
      ...commonProgramAccounts(),
      owner: args.owner,
      receivingAccount: args.receivingAccount ?? associatedTokenAddress(args.desiredMint, args.owner),
      pool: args.pool,
      position,
      positionRequest,
      positionRequestAta,
      custody: args.custody,
      collateralCustody: args.collateralCustody,
      desiredMint: args.desiredMint,
      referral: args.referral,
    },
    args,
  );
  return { instruction: ix, position, positionRequest, positionRequestAta };
}

export type DecreaseRequestParams = Pick<DecreaseRequestArgs, "collateralUsdDelta" | "sizeUsdDelta" | "priceSlippage" | "jupiterMinimumOut" | "entirePosition" | "counter">;

/** The data of createDecreasePositionMarketRequest alone: for a transaction whose accounts were compiled once. */
export function encodeDecreaseRequestData(params: DecreaseRequestParams): Buffer {
  return encodeData("createDecreasePositionMarketRequest", params);
}

export interface CloseRequestArgs {
  owner: PublicKey;
  pool: PublicKey;
  position: PublicKey;
  positionRequest: PublicKey;
  /** The request's mint (inputMint or desiredMint); its funds return to the owner's ATA of it. */
  mint: PublicKey;
  ownerAta?: PublicKey;
  /** Jupiter's keeper when it closes the request; left out when the owner cancels (the owner pays as fee payer). */
  keeper?: PublicKey;
}

function closeAccounts(args: CloseRequestArgs) {
  return {
    ...commonProgramAccounts(),
    keeper: args.keeper,
    owner: args.owner,
    ownerAta: args.ownerAta ?? associatedTokenAddress(args.mint, args.owner),
    pool: args.pool,
    positionRequest: args.positionRequest,
    positionRequestAta: associatedTokenAddress(args.mint, args.positionRequest),
    position: args.position,
    mint: args.mint,
  };
}

export function closePositionRequest3(args: CloseRequestArgs & { custody: PublicKey }): TransactionInstruction {
  return instruction("closePositionRequest3", { ...closeAccounts(args), custody: args.custody });
}

export function closePositionRequest2(args: CloseRequestArgs): TransactionInstruction {
  return instruction("closePositionRequest2", closeAccounts(args));
}

/** The oracle accounts a fill reads for one custody. */
export interface CustodyOracles {
  custody: PublicKey;
  dovesPriceAccount: PublicKey;
  pythnetPriceAccount: PublicKey;
}

export interface FillArgs {
  keeper: PublicKey;
  pool: PublicKey;
  positionRequest: PublicKey;
  /** The request's mint, whose ATA owned by the request holds the funds in flight. */
  requestMint: PublicKey;
  position: PublicKey;
  custody: CustodyOracles;
  collateralCustody: CustodyOracles & { tokenAccount: PublicKey };
}

/** The market and collateral custodies with the oracles a fill or a liquidation prices them at. */
function custodyAccounts(args: Pick<FillArgs, "custody" | "collateralCustody">) {
  return {
    custody: args.custody.custody,
    custodyDovesPriceAccount: args.custody.dovesPriceAccount,
    custodyPythnetPriceAccount: args.custody.pythnetPriceAccount,
    collateralCustody: args.collateralCustody.custody,
    collateralCustodyDovesPriceAccount: args.collateralCustody.dovesPriceAccount,
    collateralCustodyPythnetPriceAccount: args.collateralCustody.pythnetPriceAccount,
    collateralCustodyTokenAccount: args.collateralCustody.tokenAccount,
  };
}

function fillAccounts(args: FillArgs) {
  return {
    ...commonProgramAccounts(),
    keeper: args.keeper,
    pool: args.pool,
    positionRequest: args.positionRequest,
    positionRequestAta: associatedTokenAddress(args.requestMint, args.positionRequest),
    position: args.position,
    ...custodyAccounts(args),
  };
}

/** Jupiter's keeper fills an increase request (used by the localnet fill emulator). */
export function increasePosition4(args: FillArgs): TransactionInstruction {
  return instruction("increasePosition4", fillAccounts(args), {});
}

/**
 * Jupiter's keeper fills an increase request funded in another custody's mint (USDC for a long), swapping it
 * into the collateral token through the pool (used by the localnet fill emulator).
 */
export function increasePositionWithInternalSwap(args: FillArgs & { receivingCustody: CustodyOracles & { tokenAccount: PublicKey } }): TransactionInstruction {
  const r = args.receivingCustody;
  return instruction(
    "increasePositionWithInternalSwap",
    {
      ...fillAccounts(args),
      receivingCustody: r.custody,
      receivingCustodyDovesPriceAccount: r.dovesPriceAccount,
      receivingCustodyPythnetPriceAccount: r.pythnetPriceAccount,
      receivingCustodyTokenAccount: r.tokenAccount,
    },
    {},
  );
}

/** Jupiter's keeper fills a decrease request (used by the localnet fill emulator). */
export function decreasePosition4(args: FillArgs & { owner: PublicKey }): TransactionInstruction {
  return instruction("decreasePosition4", { ...fillAccounts(args), owner: args.owner, transferAuthority: transferAuthorityPda() }, {});
}

/** The instruction name a Jupiter Perps instruction's first 8 bytes stand for, if it is one of ours. */
export function perpsInstructionName(data: Uint8Array): PerpsInstructionName | undefined {
  const head = Buffer.from(data.subarray(0, 8));
  const ix = PERPETUALS_IDL.instructions.find((i) => Buffer.from(i.discriminator).equals(head));
  return ix?.name as PerpsInstructionName | undefined;
}

/**
 * A keeper liquidates a whole position whose collateral no longer covers its maintenance margin (used by the
 * localnet fill emulator, which also acts as liquidator). Accounts as in the public IDL (monakki/jup-perps-client @91cec15).
 */
export function liquidateFullPosition4(args: {
  signer: PublicKey;
  pool: PublicKey;
  position: PublicKey;
  custody: CustodyOracles;
  collateralCustody: CustodyOracles & { tokenAccount: PublicKey };
}): TransactionInstruction {
  return instruction(
    "liquidateFullPosition4",
    {
      ...commonProgramAccounts(),
      signer: args.signer,
      pool: args.pool,
      position: args.position,
      ...custodyAccounts(args),
    },
    {},
  );
}
