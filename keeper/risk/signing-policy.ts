import { ComputeBudgetProgram, PublicKey, SystemInstruction, SystemProgram, type TransactionInstruction } from "@solana/web3.js";
import { PROGRAM_IDS } from "../../programs-client";
import { PERPETUALS_IDL } from "../../programs-client/idl";

/**
 * The last check before a key signs: the transaction may only hold ComputeBudget, System, Token, ATA and
 * Jupiter Perps instructions, every one acting for the mandate's own wallet. A bug elsewhere (or a tampered
 * config) cannot make the keeper sign a transfer to someone else or call another program. Pure.
 */

export class SigningPolicyError extends Error {}

/** Perps instructions a hedging wallet needs: open/close requests and cancelling its own. */
const PERPS_ALLOWED = new Set(["createIncreasePositionMarketRequest", "createDecreasePositionMarketRequest", "closePositionRequest2", "closePositionRequest3"]);

function perpsInstructionTable(): Map<string, { name: string; ownerIndex: number }> {
  const table = new Map<string, { name: string; ownerIndex: number }>();
  for (const ix of PERPETUALS_IDL.instructions) {
    if (!PERPS_ALLOWED.has(ix.name)) continue;
    const ownerIndex = ix.accounts.findIndex((a: { name: string }) => a.name === "owner");
    table.set(Buffer.from(ix.discriminator).toString("hex"), { name: ix.name, ownerIndex });
  }
  return table;
}
const PERPS_TABLE = perpsInstructionTable();

/** SPL Token instruction tags the keeper may use: SyncNative (17) and CloseAccount (9) of its own wSOL account. */
const TOKEN_SYNC_NATIVE = 17;
const TOKEN_CLOSE_ACCOUNT = 9;
/** ATA program: Create (0 or empty data) and CreateIdempotent (1). */
const ATA_CREATE = new Set([0, 1]);

function refuse(index: number, ix: TransactionInstruction, why: string): never {
  throw new SigningPolicyError(`refusing to sign: instruction ${index} (program ${ix.programId.toBase58()}) ${why}`);
}

function checkSystem(i: number, ix: TransactionInstruction, wallet: PublicKey) {
  const type = SystemInstruction.decodeInstructionType(ix);
  if (type !== "Transfer") refuse(i, ix, `is a System ${type}; only transfers from the wallet (to wrap SOL) are allowed`);
  const { fromPubkey } = SystemInstruction.decodeTransfer(ix);
  if (!fromPubkey.equals(wallet)) refuse(i, ix, `transfers from ${fromPubkey.toBase58()}, not the mandate wallet`);
}

function checkToken(i: number, ix: TransactionInstruction, wallet: PublicKey) {
  const tag = ix.data[0];
  if (tag === TOKEN_SYNC_NATIVE && ix.data.length === 1) return;
  if (tag === TOKEN_CLOSE_ACCOUNT && ix.data.length === 1) {
    const [, destination, authority] = ix.keys;
    if (destination?.pubkey.equals(wallet) && authority?.pubkey.equals(wallet)) return;
    refuse(i, ix, "closes a token account into or by someone other than the mandate wallet");
  }
  refuse(i, ix, `is SPL Token instruction ${tag}; only SyncNative and CloseAccount are allowed`);
}

function checkAta(i: number, ix: TransactionInstruction, wallet: PublicKey) {
  if (!(ix.data.length === 0 || (ix.data.length === 1 && ATA_CREATE.has(ix.data[0]!)))) refuse(i, ix, "is not an ATA create");
  const [payer, , owner] = ix.keys;
  if (!payer?.pubkey.equals(wallet) || !owner?.pubkey.equals(wallet)) refuse(i, ix, "creates an ATA not paid for and owned by the mandate wallet");
}

function checkPerps(i: number, ix: TransactionInstruction, wallet: PublicKey) {
  const entry = PERPS_TABLE.get(ix.data.subarray(0, 8).toString("hex"));
  if (!entry) refuse(i, ix, "is a Jupiter Perps instruction the keeper never sends");
  const owner = ix.keys[entry.ownerIndex];
  if (!owner?.pubkey.equals(wallet)) refuse(i, ix, `${entry.name} names owner ${owner?.pubkey.toBase58() ?? "(missing)"}, not the mandate wallet`);
}

export function checkSigningPolicy(instructions: readonly TransactionInstruction[], feePayer: PublicKey, wallet: PublicKey): void {
  if (!feePayer.equals(wallet)) throw new SigningPolicyError(`refusing to sign: fee payer ${feePayer.toBase58()} is not the mandate wallet ${wallet.toBase58()}`);
  instructions.forEach((ix, i) => {
    for (const k of ix.keys) {
      if (k.isSigner && !k.pubkey.equals(wallet)) refuse(i, ix, `asks ${k.pubkey.toBase58()} to sign`);
    }
    const program = ix.programId;
    if (program.equals(ComputeBudgetProgram.programId)) return;
    if (program.equals(SystemProgram.programId)) return checkSystem(i, ix, wallet);
    if (program.equals(PROGRAM_IDS.token)) return checkToken(i, ix, wallet);
    if (program.equals(PROGRAM_IDS.associatedToken)) return checkAta(i, ix, wallet);
    if (program.equals(PROGRAM_IDS.perpetuals)) return checkPerps(i, ix, wallet);
    refuse(i, ix, "calls a program outside the allow-list (ComputeBudget, System, Token, ATA, Jupiter Perps)");
  });
}
