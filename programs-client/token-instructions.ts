import { PublicKey, SystemProgram, TransactionInstruction } from "@solana/web3.js";
import { PROGRAM_IDS } from "./addresses";
import { associatedTokenAddress } from "./pda";

/** The few SPL instructions this project sends: ATA creation, and wrapping SOL into wSOL to post as collateral. */

export const NATIVE_MINT = new PublicKey("So11111111111111111111111111111111111111112");

export function createAtaIdempotent(payer: PublicKey, owner: PublicKey, mint: PublicKey): TransactionInstruction {
  return new TransactionInstruction({
    programId: PROGRAM_IDS.associatedToken,
    keys: [
      { pubkey: payer, isSigner: true, isWritable: true },
      { pubkey: associatedTokenAddress(mint, owner), isSigner: false, isWritable: true },
      { pubkey: owner, isSigner: false, isWritable: false },
      { pubkey: mint, isSigner: false, isWritable: false },
      { pubkey: PROGRAM_IDS.system, isSigner: false, isWritable: false },
      { pubkey: PROGRAM_IDS.token, isSigner: false, isWritable: false },
    ],
    data: Buffer.from([1]),
  });
}

/** ATA create (idempotent) + transfer + SyncNative: `lamports` more wSOL in the owner's ATA. */
export function wrapSolInstructions(owner: PublicKey, lamports: bigint): TransactionInstruction[] {
  const ata = associatedTokenAddress(NATIVE_MINT, owner);
  return [
    createAtaIdempotent(owner, owner, NATIVE_MINT),
    SystemProgram.transfer({ fromPubkey: owner, toPubkey: ata, lamports }),
    new TransactionInstruction({ programId: PROGRAM_IDS.token, keys: [{ pubkey: ata, isSigner: false, isWritable: true }], data: Buffer.from([17]) }),
  ];
}
