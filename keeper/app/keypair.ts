import * as fs from "node:fs";
import { Keypair, PublicKey } from "@solana/web3.js";
import bs58 from "bs58";

export class KeypairError extends Error {}

/** Group or other permission bits: a key file readable by anyone but its owner is refused. */
const SHARED_BITS = 0o077;

function checked(kp: Keypair, wallet: PublicKey, from: string): Keypair {
  if (!kp.publicKey.equals(wallet)) {
    throw new KeypairError(`${from} holds the key of ${kp.publicKey.toBase58()}, but the mandate's wallet is ${wallet.toBase58()}; point it at the wallet's key`);
  }
  return kp;
}

/** A 64-byte secret key is the seed then its public key; web3.js refuses a pair whose halves disagree. */
function fromSecretKey(bytes: Uint8Array, from: string): Keypair {
  try {
    return Keypair.fromSecretKey(bytes);
  } catch {
    throw new KeypairError(`${from}: its public half (bytes 32-63) does not match its secret half, so it is not an ed25519 keypair; fix: export the wallet's key again (solana-keygen or the wallet's export)`);
  }
}

/**
 * A Solana CLI keypair file (a JSON array of 64 bytes) that must belong to `wallet` and be private to its owner.
 * The key never appears in errors.
 */
export function loadKeypairFile(file: string, wallet: PublicKey): Keypair {
  let text: string;
  try {
    const stat = fs.statSync(file);
    // A FIFO or a device would block the read (a FIFO with no writer forever): only regular files are opened.
    if (!stat.isFile()) throw new KeypairError(`keypair file ${file} is not a regular file; fix: point keypairFile at the Solana CLI key file (a JSON array of 64 numbers)`);
    const mode = stat.mode;
    if (process.platform !== "win32" && (mode & SHARED_BITS) !== 0) {
      throw new KeypairError(`keypair file ${file} has mode ${(mode & 0o777).toString(8).padStart(4, "0")}, readable beyond its owner; fix: chmod 600 ${file}`);
    }
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof KeypairError) throw e;
    throw new KeypairError(`cannot read keypair file ${file}: ${(e as NodeJS.ErrnoException).code ?? "unreadable"}; expected the Solana CLI format (a JSON array of 64 numbers)`);
  }
  let bytes: unknown;
  try {
    bytes = JSON.parse(text);
  } catch {
    bytes = undefined;
  }
  if (!Array.isArray(bytes) || bytes.length !== 64 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b < 256)) {
    throw new KeypairError(`keypair file ${file} is not a JSON array of 64 bytes (the Solana CLI format)`);
  }
  return checked(fromSecretKey(Uint8Array.from(bytes as number[]), `keypair file ${file}`), wallet, `keypair file ${file}`);
}

/** A base58 secret key (64 bytes, as Phantom and solana-keygen export it) from an environment variable. */
export function loadKeypairEnv(name: string, wallet: PublicKey, env: NodeJS.ProcessEnv = process.env): Keypair {
  const text = env[name]?.trim();
  if (!text) throw new KeypairError(`environment variable ${name} is empty or unset; set it to the wallet's base58 secret key`);
  let bytes: Uint8Array;
  try {
    bytes = bs58.decode(text);
  } catch {
    throw new KeypairError(`environment variable ${name} is not base58; set it to the wallet's base58 secret key`);
  }
  if (bytes.length !== 64) throw new KeypairError(`environment variable ${name} decodes to ${bytes.length} bytes, a secret key has 64`);
  return checked(fromSecretKey(bytes, `environment variable ${name}`), wallet, `environment variable ${name}`);
}

/** The mandate's signer, from whichever source its config names. */
export function loadMandateKey(m: { wallet: string; keypairFile?: string; keypairEnv?: string }, env: NodeJS.ProcessEnv = process.env): Keypair {
  const wallet = new PublicKey(m.wallet);
  if (m.keypairEnv) return loadKeypairEnv(m.keypairEnv, wallet, env);
  if (m.keypairFile) return loadKeypairFile(m.keypairFile, wallet);
  throw new KeypairError(`mandate wallet ${m.wallet}: no keypairFile or keypairEnv`);
}
