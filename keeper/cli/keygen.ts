import * as fs from "node:fs";
import { Keypair } from "@solana/web3.js";
import { CliError, EXIT_USAGE } from "./cli-error";

/**
 * `keygen --out FILE`: a new keypair in the Solana CLI format (a JSON array of the 64 secret-key bytes), the file
 * created with mode 0600 and never over an existing one (that could be a funded wallet's only copy). Prints the
 * public key alone, so `WALLET=$(gamma-keeper keygen --out f.json)` works; the secret is never printed.
 */
export function runKeygen(opts: { out: string }, out: (s: string) => void): void {
  const kp = Keypair.generate();
  let fd: number;
  try {
    fd = fs.openSync(opts.out, "wx", 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new CliError(`--out ${opts.out} exists; keygen never overwrites a key file: choose another path, or move that file away if it is not a wallet's key`, EXIT_USAGE);
    throw new CliError(`cannot create --out ${opts.out} (${code ?? (e as Error).message}); fix: check that its folder exists and is writable`, EXIT_USAGE);
  }
  try {
    // The umask can only narrow the mode; fchmod makes it exactly 0600 (what loadKeypairFile requires).
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, JSON.stringify(Array.from(kp.secretKey)));
  } finally {
    fs.closeSync(fd);
  }
  out(kp.publicKey.toBase58());
}
