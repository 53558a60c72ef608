import { readFileSync } from "node:fs";
import { Keypair, PublicKey, SYSVAR_CLOCK_PUBKEY, SYSVAR_RENT_PUBKEY, SystemProgram, Transaction, TransactionInstruction } from "@solana/web3.js";
import { PROGRAM_IDS } from "../../programs-client";
import type { LocalChain } from "../validator/chain";
import { PERPS_SO_PATH } from "./paths";

/** Put the stand-in Jupiter Perps program at the real program id (owned by the upgradeable loader). */
export function addPerpsProgram(chain: LocalChain, soPath = PERPS_SO_PATH): void {
  chain.svm.addProgram(PROGRAM_IDS.perpetuals.toBytes(), readFileSync(soPath));
}

export const BPF_LOADER_UPGRADEABLE = new PublicKey("BPFLoaderUpgradeab1e11111111111111111111111");
/** Bytes of an upgradeable-loader Write instruction's payload that fit a 1232-byte transaction with two signers. */
const WRITE_CHUNK = 900;
const BUFFER_HEADER = 37; // enum tag u32 + Option<authority>
const PROGRAM_SIZE = 36; // enum tag u32 + programdata address

/** Signs, sends and confirms one transaction; throws if it fails. */
export type SendTransaction = (tx: Transaction, signers: Keypair[]) => Promise<void> | void;

function loaderIx(keys: [PublicKey, boolean, boolean][], data: Buffer): TransactionInstruction {
  return new TransactionInstruction({
    programId: BPF_LOADER_UPGRADEABLE,
    keys: keys.map(([pubkey, isSigner, isWritable]) => ({ pubkey, isSigner, isWritable })),
    data,
  });
}

/**
 * Deploy an SBF program the way `solana program deploy` does: a buffer written in chunks, then
 * DeployWithMaxDataLen, which runs the loader's deploy-time ELF checks and verifier (addProgram skips them).
 */
export async function deployWithUpgradeableLoader(
  send: SendTransaction,
  opts: { payer: Keypair; program: Keypair; so: Buffer; rent: (bytes: number) => number },
): Promise<{ programData: PublicKey }> {
  const { payer, program, so, rent } = opts;
  const buffer = Keypair.generate();
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const u64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  await send(
    new Transaction().add(
      SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: buffer.publicKey, lamports: rent(BUFFER_HEADER + so.length), space: BUFFER_HEADER + so.length, programId: BPF_LOADER_UPGRADEABLE }),
      loaderIx([[buffer.publicKey, false, true], [payer.publicKey, false, false]], u32(0)), // InitializeBuffer
    ),
    [payer, buffer],
  );
  for (let offset = 0; offset < so.length; offset += WRITE_CHUNK) {
    const chunk = so.subarray(offset, offset + WRITE_CHUNK);
    const data = Buffer.concat([u32(1), u32(offset), u64(chunk.length), chunk]); // Write
    await send(new Transaction().add(loaderIx([[buffer.publicKey, false, true], [payer.publicKey, true, false]], data)), [payer]);
  }
  const [programData] = PublicKey.findProgramAddressSync([program.publicKey.toBuffer()], BPF_LOADER_UPGRADEABLE);
  await send(
    new Transaction().add(
      SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: program.publicKey, lamports: rent(PROGRAM_SIZE), space: PROGRAM_SIZE, programId: BPF_LOADER_UPGRADEABLE }),
      loaderIx(
        [
          [payer.publicKey, true, true],
          [programData, false, true],
          [program.publicKey, false, true],
          [buffer.publicKey, false, true],
          [SYSVAR_RENT_PUBKEY, false, false],
          [SYSVAR_CLOCK_PUBKEY, false, false],
          [SystemProgram.programId, false, false],
          [payer.publicKey, true, false],
        ],
        Buffer.concat([u32(2), u64(so.length * 2)]), // DeployWithMaxDataLen
      ),
    ),
    [payer, program],
  );
  return { programData };
}
