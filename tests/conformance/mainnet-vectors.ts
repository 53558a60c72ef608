import { PublicKey } from "@solana/web3.js";
import { loadVector } from "./borsh-oracle";

/** A vendored real mainnet transaction (vectors/mainnet-tx-*.vixen.json): the perps program's instructions. */
export interface VendoredTx {
  signature: string;
  instructions: { ixIndex: [number, number]; program: string; accounts: string[]; dataHex: string }[];
}

export const TX_CLOSE = loadVector<VendoredTx>("mainnet-tx-3MnCnWjL.vixen.json");
export const TX_BORROW = loadVector<VendoredTx>("mainnet-tx-5mYEUYXC.vixen.json");

type CloseAccounts = Record<"keeper" | "owner" | "ownerAta" | "pool" | "positionRequest" | "positionRequestAta" | "position" | "mint" | "tokenProgram" | "systemProgram" | "associatedTokenProgram" | "eventAuthority" | "program", string>;
type DecreaseAccounts = Record<
  "keeper" | "owner" | "transferAuthority" | "perpetuals" | "pool" | "positionRequest" | "positionRequestAta" | "position" | "custody" | "custodyDovesPriceAccount" | "collateralCustody" | "collateralCustodyDovesPriceAccount" | "collateralCustodyTokenAccount" | "tokenProgram" | "eventAuthority" | "program",
  string
>;

export interface VixenExpected {
  custody: { address: string; fields: Record<string, unknown> };
  pool: { address: string; fields: Record<string, unknown> };
  borrowFromCustodyEvent: { signature: string; fields: Record<string, unknown> };
  closePositionRequest2Accounts: { signature: string; accounts: CloseAccounts };
  decreasePositionWithTpslAccounts: { signature: string; accounts: DecreaseAccounts };
}
export const VIXEN = loadVector<VixenExpected>("vixen-expected.json");

export interface VendoredAccount {
  pubkey: string;
  owner: string;
  lamports: number;
  space: number;
  dataHex: string;
}
export const VIXEN_ACCOUNTS = loadVector<{ accounts: VendoredAccount[] }>("mainnet-accounts.vixen.json").accounts;

/** The tx's instruction at vixen's [outer, inner] index (inner 0 is the outer instruction itself). */
export function ixAt(tx: VendoredTx, outer: number, inner: number) {
  const ix = tx.instructions.find((i) => i.ixIndex[0] === outer && i.ixIndex[1] === inner && (inner > 0 || !i.dataHex.startsWith("e445a52e51cb9a1d")));
  if (!ix) throw new Error(`${tx.signature}: no perps instruction at [${outer}, ${inner}]`);
  return { ...ix, data: Buffer.from(ix.dataHex, "hex"), keys: ix.accounts.map((a) => new PublicKey(a)) };
}

/** The emit_cpi self-invocations of the tx: perps instructions whose data begins with `tag`. */
export function eventInstructions(tx: VendoredTx, tag: Buffer) {
  return tx.instructions.filter((i) => Buffer.from(i.dataHex, "hex").subarray(0, 8).equals(tag)).map((i) => ({ ...i, data: Buffer.from(i.dataHex, "hex") }));
}
