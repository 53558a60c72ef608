import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { PublicKey } from "@solana/web3.js";

/** ../shared/reference beside the repo (override with GAMMA_KEEPER_SHARED_DIR). Holds real mainnet dumps. */
export const REFERENCE_DIR = process.env.GAMMA_KEEPER_SHARED_DIR
  ? path.join(process.env.GAMMA_KEEPER_SHARED_DIR, "reference")
  : path.resolve(__dirname, "../../../shared/reference");

export const referenceAvailable = (): boolean => existsSync(REFERENCE_DIR);

export const DUMPS = {
  perpetuals: "jupiter-perps-mainnet-2026-04-27/perpetuals.json",
  pool: "jupiter-perps-mainnet-2026-04-27/pool.json",
  solCustody: "jupiter-perps-mainnet-2026-04-27/sol_custody.json",
  solAgPriceFeed: "jupiter-perps-mainnet-2026-04-27/sol_ag_price_feed.json",
  solVault: "jupiter-perps-mainnet-2026-04-27/sol_vault.json",
  jlpMint: "jupiter-perps-mainnet-2026-04-27/jlp_mint.json",
  solPythPriceUpdate: "pyth-mainnet/sol_pyth_price_feed.json",
} as const;

export interface Dump {
  path: string;
  pubkey: PublicKey;
  owner: PublicKey;
  lamports: number;
  data: Buffer;
}

export function loadDump(rel: string): Dump {
  const file = path.join(REFERENCE_DIR, rel);
  const doc = JSON.parse(readFileSync(file, "utf8"));
  return {
    path: file,
    pubkey: new PublicKey(doc.pubkey),
    owner: new PublicKey(doc.account.owner),
    lamports: doc.account.lamports,
    data: Buffer.from(doc.account.data[0], "base64"),
  };
}

/** Skip the enclosing suite, with a message saying why, when ../shared/reference is not there. */
export function requireReference(this: Mocha.Context): void {
  if (!referenceAvailable()) {
    console.log(`    (skipped: ${REFERENCE_DIR} is absent; these tests check decoders against real mainnet dumps)`);
    this.skip();
  }
}
