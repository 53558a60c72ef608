import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Keypair } from "@solana/web3.js";

/**
 * The localnet fill keeper's keypair. It is public on purpose: the stand-in perps program accepts fills only from
 * this key (as Jupiter's program accepts only its keepers), and anyone running the localnet must be able to sign
 * as it. Never fund it anywhere else.
 */
export const FILL_KEEPER_KEYPAIR_PATH = join(__dirname, "fill-keeper-keypair.json");

export function loadFillKeeper(): Keypair {
  return Keypair.fromSecretKey(Uint8Array.from(JSON.parse(readFileSync(FILL_KEEPER_KEYPAIR_PATH, "utf8")) as number[]));
}
