import * as fs from "node:fs";
import { Keypair, type PublicKey } from "@solana/web3.js";

export class KeypairError extends Error {}

/** A Solana CLI keypair file (a JSON array of 64 bytes) that must belong to `wallet`. The key never appears in errors. */
export function loadKeypairFile(file: string, wallet: PublicKey): Keypair {
  let bytes: unknown;
  try {
    bytes = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new KeypairError(`cannot read keypair file ${file}: ${(e as NodeJS.ErrnoException).code ?? "not JSON"}; expected the Solana CLI format (a JSON array of 64 numbers)`);
  }
  if (!Array.isArray(bytes) || bytes.length !== 64 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b < 256)) {
    throw new KeypairError(`keypair file ${file} is not a JSON array of 64 bytes (the Solana CLI format)`);
  }
  const kp = Keypair.fromSecretKey(Uint8Array.from(bytes as number[]));
  if (!kp.publicKey.equals(wallet)) {
    throw new KeypairError(`keypair file ${file} holds the key of ${kp.publicKey.toBase58()}, but the mandate's wallet is ${wallet.toBase58()}; point keypairFile at the wallet's key`);
  }
  return kp;
}
