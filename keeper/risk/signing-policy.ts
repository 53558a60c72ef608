import { ComputeBudgetInstruction, ComputeBudgetProgram, PublicKey, SystemInstruction, SystemProgram, type TransactionInstruction } from "@solana/web3.js";
import {
  MAINNET,
  MARKET_SYMBOLS,
  NATIVE_MINT,
  PROGRAM_IDS,
  associatedTokenAddress,
  eventAuthorityPda,
  perpetualsPda,
  positionPda,
  positionRequestPda,
} from "../../programs-client";
import { PERPETUALS_IDL } from "../../programs-client/idl";
import { decodePerpsInstruction } from "../../programs-client/transaction-decode";

/**
 * The last check before a key signs: the transaction may only hold ComputeBudget, System, Token, ATA and
 * Jupiter Perps instructions, every account of which is the mandate wallet's own or a fixed program account.
 * A bug elsewhere (or a tampered config) cannot make the keeper sign a transfer to someone else, route a
 * decrease's proceeds to a stranger, name a stranger as referral, or bid an absurd priority fee. Pure.
 */

/** Machine-readable reason of a refusal; also the `reason` label of gk_signing_refusals_total. */
export type SigningRefusalCode =
  | "fee-payer"
  | "foreign-signer"
  | "foreign-program"
  | "malformed"
  | "system-instruction"
  | "transfer-source"
  | "transfer-destination"
  | "token-instruction"
  | "token-account"
  | "ata-create"
  | "perps-instruction"
  | "perps-owner"
  | "funding-account"
  | "receiving-account"
  | "owner-ata"
  | "request-accounts"
  | "program-account"
  | "referral"
  | "keeper-slot"
  | "compute-budget"
  | "compute-unit-price"
  | "compute-unit-limit"
  | "priority-fee";

export class SigningPolicyError extends Error {
  constructor(
    readonly code: SigningRefusalCode,
    message: string,
    /** Index of the offending instruction in the transaction, when one is to blame. */
    readonly instructionIndex: number | null = null,
  ) {
    super(message);
    this.name = "SigningPolicyError";
  }
}

export interface SigningPolicy {
  /** The mandate's hedging wallet: the only signer, fee payer, owner and destination allowed. */
  wallet: PublicKey;
  /** The one referral account a request may name besides none (the program id in the slot). */
  referral: PublicKey | null;
  maxComputeUnitPriceMicroLamports: number;
  maxComputeUnitLimit: number;
  /** CU price x CU limit / 1e6, per transaction. */
  maxPriorityFeeLamports: number;
}

const PERPS = PROGRAM_IDS.perpetuals;

/** Perps instructions a hedging wallet needs: open/close requests and cancelling its own. */
type PerpsAllowed = "createIncreasePositionMarketRequest" | "createDecreasePositionMarketRequest" | "closePositionRequest2" | "closePositionRequest3";
const PERPS_ALLOWED: ReadonlySet<string> = new Set<PerpsAllowed>(["createIncreasePositionMarketRequest", "createDecreasePositionMarketRequest", "closePositionRequest2", "closePositionRequest3"]);

/** Account names in the IDL's order, so the checks name accounts, never indexes. */
const PERPS_TABLE = new Map<string, { name: PerpsAllowed; accounts: string[] }>(
  PERPETUALS_IDL.instructions
    .filter((ix) => PERPS_ALLOWED.has(ix.name))
    .map((ix) => [Buffer.from(ix.discriminator).toString("hex"), { name: ix.name as PerpsAllowed, accounts: ix.accounts.map((a: { name: string }) => a.name) }]),
);

/** Accounts the allowed perps instructions name (each names some) that can only ever be one address. */
const FIXED_PERPS_ACCOUNTS: Record<string, PublicKey> = {
  perpetuals: perpetualsPda(),
  tokenProgram: PROGRAM_IDS.token,
  associatedTokenProgram: PROGRAM_IDS.associatedToken,
  systemProgram: PROGRAM_IDS.system,
  eventAuthority: eventAuthorityPda(),
  program: PERPS,
};

/** SPL Token instruction tags the keeper may use, on its own wSOL account only. */
const TOKEN_CLOSE_ACCOUNT = 9;
const TOKEN_SYNC_NATIVE = 17;

/** Compute the runtime grants per instruction when no SetComputeUnitLimit is given. */
const DEFAULT_UNITS_PER_INSTRUCTION = 200_000;
/** Solana's per-transaction compute ceiling. */
export const MAX_COMPUTE_UNITS = 1_400_000;

class Checker {
  constructor(
    readonly i: number,
    readonly ix: TransactionInstruction,
    readonly p: SigningPolicy,
  ) {}

  refuse(code: SigningRefusalCode, why: string): never {
    throw new SigningPolicyError(code, `refusing to sign: instruction ${this.i} (program ${this.ix.programId.toBase58()}) ${why}`, this.i);
  }

  keyCount(n: number, what: string) {
    if (this.ix.keys.length !== n) this.refuse("malformed", `${what} has ${this.ix.keys.length} accounts, expected ${n}`);
  }

  /** `key` must be `expected`; `code` and `what` name the account and why it matters. */
  expect(code: SigningRefusalCode, key: PublicKey, expected: PublicKey, what: string) {
    if (!key.equals(expected)) this.refuse(code, `${what} is ${key.toBase58()}, expected ${expected.toBase58()}`);
  }
}

function checkSystem(c: Checker) {
  let type: string;
  try {
    type = SystemInstruction.decodeInstructionType(c.ix);
  } catch (e) {
    c.refuse("malformed", `is a System instruction that does not decode (${(e as Error).message}); refusing what cannot be read`);
  }
  if (type !== "Transfer") c.refuse("system-instruction", `is a System ${type}; only transfers from the wallet into its own wSOL account (wrapping SOL) are allowed`);
  c.keyCount(2, "the System transfer");
  let transfer: ReturnType<typeof SystemInstruction.decodeTransfer>;
  try {
    transfer = SystemInstruction.decodeTransfer(c.ix);
  } catch (e) {
    c.refuse("malformed", `is a System transfer that does not decode (${(e as Error).message})`);
  }
  c.expect("transfer-source", transfer.fromPubkey, c.p.wallet, "the System transfer's source (only the mandate wallet's SOL may move)");
  const wsol = associatedTokenAddress(NATIVE_MINT, c.p.wallet);
  c.expect("transfer-destination", transfer.toPubkey, wsol, `the destination of a System transfer of ${transfer.lamports} lamports (only the wallet's own wSOL account, to wrap SOL)`);
}

function checkToken(c: Checker) {
  const tag = c.ix.data[0];
  const wsol = associatedTokenAddress(NATIVE_MINT, c.p.wallet);
  if (tag === TOKEN_SYNC_NATIVE && c.ix.data.length === 1) {
    c.keyCount(1, "SyncNative");
    return c.expect("token-account", c.ix.keys[0]!.pubkey, wsol, "the account SyncNative updates (only the wallet's wSOL account)");
  }
  if (tag === TOKEN_CLOSE_ACCOUNT && c.ix.data.length === 1) {
    c.keyCount(3, "CloseAccount");
    const [account, destination, authority] = c.ix.keys.map((k) => k.pubkey) as [PublicKey, PublicKey, PublicKey];
    c.expect("token-account", account, wsol, "the account CloseAccount closes (only the wallet's wSOL account, to unwrap)");
    c.expect("transfer-destination", destination, c.p.wallet, "where CloseAccount sends the lamports (only the mandate wallet)");
    return c.expect("token-account", authority, c.p.wallet, "CloseAccount's authority");
  }
  c.refuse("token-instruction", `is SPL Token instruction ${tag ?? "(empty data)"} with ${c.ix.data.length} bytes of data; only SyncNative and CloseAccount of the wallet's wSOL account are allowed`);
}

function checkAta(c: Checker) {
  const d = c.ix.data;
  if (!(d.length === 0 || (d.length === 1 && (d[0] === 0 || d[0] === 1)))) c.refuse("ata-create", "is not an ATA Create or CreateIdempotent");
  c.keyCount(6, "the ATA create");
  const [payer, ata, owner, mint, system, token] = c.ix.keys.map((k) => k.pubkey) as [PublicKey, PublicKey, PublicKey, PublicKey, PublicKey, PublicKey];
  c.expect("ata-create", payer, c.p.wallet, "the ATA create's payer");
  c.expect("ata-create", owner, c.p.wallet, "the created ATA's owner");
  c.expect("ata-create", ata, associatedTokenAddress(mint, c.p.wallet), `the created account (the wallet's ATA of ${mint.toBase58()})`);
  c.expect("program-account", system, PROGRAM_IDS.system, "the ATA create's System program");
  c.expect("program-account", token, PROGRAM_IDS.token, "the ATA create's Token program");
}

type Side = "long" | "short";

/** Every position of the wallet in this pool that a market custody could hold: long in itself, short in a stable. */
function walletPositionCandidates(wallet: PublicKey, pool: PublicKey, custodies: readonly PublicKey[]): PublicKey[] {
  const c = MAINNET.custodies;
  return custodies.flatMap((custody) => [
    positionPda(wallet, pool, custody, custody, "long"),
    positionPda(wallet, pool, custody, c.USDC.custody, "short"),
    positionPda(wallet, pool, custody, c.USDT.custody, "short"),
  ]);
}

function checkPerps(c: Checker) {
  const entry = PERPS_TABLE.get(Buffer.from(c.ix.data.subarray(0, 8)).toString("hex"));
  if (!entry) c.refuse("perps-instruction", "is a Jupiter Perps instruction the keeper never sends");
  c.keyCount(entry.accounts.length, entry.name);
  const acc = new Map(entry.accounts.map((name, k) => [name, c.ix.keys[k]!.pubkey]));
  const a = (name: string) => acc.get(name)!;
  const decoded = decodePerpsInstruction(c.ix.data, c.ix.keys.map((k) => k.pubkey));
  if (!decoded.known || decoded.name !== entry.name) c.refuse("malformed", `${entry.name}: its arguments do not decode against the IDL`);
  const args = (decoded.args.params ?? {}) as { side?: string; counter?: bigint };

  c.expect("perps-owner", a("owner"), c.p.wallet, `${entry.name}'s owner`);
  for (const [name, key] of Object.entries(FIXED_PERPS_ACCOUNTS)) if (acc.has(name)) c.expect("program-account", a(name), key, `${entry.name}'s ${name}`);

  if (entry.name === "createIncreasePositionMarketRequest" || entry.name === "createDecreasePositionMarketRequest") {
    const referral = a("referral");
    if (!referral.equals(PERPS) && !(c.p.referral && referral.equals(c.p.referral))) {
      c.refuse("referral", `${entry.name} names referral ${referral.toBase58()}; only none${c.p.referral ? ` or the configured ${c.p.referral.toBase58()}` : " (execution.referral is not set)"}`);
    }
    const counter = args.counter!;
    const pool = a("pool");
    const custody = a("custody");
    const collateralCustody = a("collateralCustody");
    if (entry.name === "createIncreasePositionMarketRequest") {
      const side = args.side;
      if (side !== "long" && side !== "short") c.refuse("malformed", `${entry.name} has side ${side}`);
      const mint = a("inputMint");
      c.expect("funding-account", a("fundingAccount"), associatedTokenAddress(mint, c.p.wallet), `${entry.name}'s fundingAccount (the wallet's ATA of the input mint)`);
      const position = positionPda(c.p.wallet, pool, custody, collateralCustody, side);
      c.expect("request-accounts", a("position"), position, `${entry.name}'s position (the wallet's ${side} PDA for this pool, custody and collateral custody)`);
      const request = positionRequestPda(position, counter, "increase");
      c.expect("request-accounts", a("positionRequest"), request, `${entry.name}'s positionRequest (PDA of the position and counter ${counter})`);
      c.expect("request-accounts", a("positionRequestAta"), associatedTokenAddress(mint, request), `${entry.name}'s positionRequestAta`);
    } else {
      const mint = a("desiredMint");
      c.expect("receiving-account", a("receivingAccount"), associatedTokenAddress(mint, c.p.wallet), `${entry.name}'s receivingAccount, where the proceeds go (the wallet's ATA of the desired mint)`);
      const sides: Side[] = ["long", "short"];
      const position = sides.map((s) => positionPda(c.p.wallet, pool, custody, collateralCustody, s)).find((p) => p.equals(a("position")));
      if (!position) c.refuse("request-accounts", `${entry.name}'s position ${a("position").toBase58()} is not the wallet's position for this pool, custody and collateral custody`);
      const request = positionRequestPda(position, counter, "decrease");
      c.expect("request-accounts", a("positionRequest"), request, `${entry.name}'s positionRequest (PDA of the position and counter ${counter})`);
      c.expect("request-accounts", a("positionRequestAta"), associatedTokenAddress(mint, request), `${entry.name}'s positionRequestAta`);
    }
    return;
  }

  // An owner cancel: no keeper, funds back to the wallet's ATA of the request's mint.
  c.expect("keeper-slot", a("keeper"), PERPS, `${entry.name}'s keeper (an owner cancel names none)`);
  const mint = a("mint");
  c.expect("owner-ata", a("ownerAta"), associatedTokenAddress(mint, c.p.wallet), `${entry.name}'s ownerAta, where the request's funds return (the wallet's ATA of the request's mint)`);
  c.expect("request-accounts", a("positionRequestAta"), associatedTokenAddress(mint, a("positionRequest")), `${entry.name}'s positionRequestAta`);
  const custodies = entry.name === "closePositionRequest3" ? [a("custody")] : MARKET_SYMBOLS.map((s) => MAINNET.custodies[s].custody);
  if (!walletPositionCandidates(c.p.wallet, a("pool"), custodies).some((p) => p.equals(a("position")))) {
    c.refuse("request-accounts", `${entry.name}'s position ${a("position").toBase58()} is not one of the wallet's positions in pool ${a("pool").toBase58()}`);
  }
}

function decodeComputeBudget(c: Checker): { type: "SetComputeUnitPrice" | "SetComputeUnitLimit"; value: number } {
  let type: string;
  try {
    type = ComputeBudgetInstruction.decodeInstructionType(c.ix);
    if (type === "SetComputeUnitPrice") return { type, value: Number(ComputeBudgetInstruction.decodeSetComputeUnitPrice(c.ix).microLamports) };
    if (type === "SetComputeUnitLimit") return { type, value: ComputeBudgetInstruction.decodeSetComputeUnitLimit(c.ix).units };
  } catch (e) {
    c.refuse("malformed", `is a ComputeBudget instruction that does not decode (${(e as Error).message})`);
  }
  c.refuse("compute-budget", `is ComputeBudget ${type}; only SetComputeUnitLimit and SetComputeUnitPrice are allowed`);
}

/** Decodes the compute budget, refusing duplicates and anything but a limit and a price; caps the fee it bids. */
export function checkComputeBudget(instructions: readonly TransactionInstruction[], p: SigningPolicy) {
  let price: number | null = null;
  let limit: number | null = null;
  instructions.forEach((ix, i) => {
    if (!ix.programId.equals(ComputeBudgetProgram.programId)) return;
    const c = new Checker(i, ix, p);
    const { type, value } = decodeComputeBudget(c);
    if (ix.keys.length !== 0) c.refuse("malformed", `ComputeBudget ${type} names ${ix.keys.length} accounts, expected none`);
    if (type === "SetComputeUnitPrice") {
      if (price !== null) c.refuse("compute-budget", "sets the compute-unit price a second time");
      if (value > p.maxComputeUnitPriceMicroLamports) c.refuse("compute-unit-price", `bids ${value} micro-lamports per CU, above the cap of ${p.maxComputeUnitPriceMicroLamports} (execution.signing.maxComputeUnitPriceMicroLamports)`);
      price = value;
    } else {
      if (limit !== null) c.refuse("compute-budget", "sets the compute-unit limit a second time");
      if (value > p.maxComputeUnitLimit) c.refuse("compute-unit-limit", `asks for ${value} CU, above the cap of ${p.maxComputeUnitLimit} (execution.signing.maxComputeUnitLimit)`);
      limit = value;
    }
  });
  if (price === null) return;
  const others = instructions.filter((ix) => !ix.programId.equals(ComputeBudgetProgram.programId)).length;
  const units = limit ?? Math.min(MAX_COMPUTE_UNITS, DEFAULT_UNITS_PER_INSTRUCTION * others);
  const feeLamports = Math.ceil((price * units) / 1e6);
  if (feeLamports > p.maxPriorityFeeLamports) {
    throw new SigningPolicyError("priority-fee", `refusing to sign: a priority fee of ${feeLamports} lamports (${price} micro-lamports x ${units} CU) is above the cap of ${p.maxPriorityFeeLamports} (execution.signing.maxPriorityFeeLamports)`);
  }
}

export function checkSigningPolicy(instructions: readonly TransactionInstruction[], feePayer: PublicKey, policy: SigningPolicy): void {
  const { wallet } = policy;
  if (!feePayer.equals(wallet)) throw new SigningPolicyError("fee-payer", `refusing to sign: fee payer ${feePayer.toBase58()} is not the mandate wallet ${wallet.toBase58()}`);
  checkComputeBudget(instructions, policy);
  instructions.forEach((ix, i) => {
    const c = new Checker(i, ix, policy);
    for (const k of ix.keys) {
      if (k.isSigner && !k.pubkey.equals(wallet)) c.refuse("foreign-signer", `asks ${k.pubkey.toBase58()} to sign`);
    }
    const program = ix.programId;
    if (program.equals(ComputeBudgetProgram.programId)) return;
    if (program.equals(SystemProgram.programId)) return checkSystem(c);
    if (program.equals(PROGRAM_IDS.token)) return checkToken(c);
    if (program.equals(PROGRAM_IDS.associatedToken)) return checkAta(c);
    if (program.equals(PERPS)) return checkPerps(c);
    c.refuse("foreign-program", "calls a program outside the allow-list (ComputeBudget, System, Token, ATA, Jupiter Perps)");
  });
}

/** The policy a mandate's wallet signs under, from the config's execution section. */
export function signingPolicyFor(
  wallet: PublicKey,
  execution: { referral?: string; signing: { maxComputeUnitPriceMicroLamports: number; maxComputeUnitLimit: number; maxPriorityFeeLamports: number } },
): SigningPolicy {
  return { wallet, referral: execution.referral ? new PublicKey(execution.referral) : null, ...execution.signing };
}
