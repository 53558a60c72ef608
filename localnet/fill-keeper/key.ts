import { createHash } from "node:crypto";
import { Keypair } from "@solana/web3.js";

/**
 * The localnet fill keeper's key, derived from a public seed: the stand-in perps program accepts fills only from
 * it (as Jupiter's program accepts only Jupiter's keepers), and anyone running the localnet must be able to sign
 * as it. It is worthless anywhere else; never fund it on a real cluster.
 */
export const FILL_KEEPER_SEED = "gamma-keeper localnet fill keeper (public, localnet only)";

export function loadFillKeeper(): Keypair {
  return Keypair.fromSeed(createHash("sha256").update(FILL_KEEPER_SEED).digest());
}
