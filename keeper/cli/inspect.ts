import { existsSync, readFileSync } from "node:fs";
import { PublicKey } from "@solana/web3.js";
import {
  PROGRAM_IDS,
  type Decoded,
  MINT_SIZE,
  TOKEN_ACCOUNT_SIZE,
  decodeMint,
  decodeTokenAccount,
  detectAccount,
  oracleFromLegacyPyth,
} from "../../programs-client";
import { CliError } from "./cli-error";
import { toJson } from "./json";
import { connect, parsePubkey, resolveRpcUrl, rpcCall } from "./rpc";

export interface LoadedAccount {
  address: PublicKey | null;
  owner: PublicKey;
  lamports: number | null;
  data: Buffer;
}

/** Read a `solana account --output json` (or json-compact) file. */
export function loadAccountFile(path: string): LoadedAccount {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(`${path}: not readable JSON (${e instanceof Error ? e.message : e})`);
  }
  const account = (doc as { account?: Record<string, unknown> }).account;
  const data = account?.data;
  if (!account || !Array.isArray(data) || typeof data[0] !== "string" || data[1] !== "base64") {
    throw new CliError(`${path}: expected {"pubkey", "account": {"data": [<base64>, "base64"], "owner", ...}} as written by solana account --output json`);
  }
  const pubkey = (doc as { pubkey?: unknown }).pubkey;
  return {
    address: typeof pubkey === "string" ? parsePubkey(pubkey, `${path}: pubkey`) : null,
    owner: parsePubkey(String(account.owner), `${path}: account.owner`),
    lamports: typeof account.lamports === "number" ? account.lamports : null,
    data: Buffer.from(data[0], "base64"),
  };
}

type Inspected = { kind: string; value: unknown };

function fromDecoded<T>(kind: string, d: Decoded<T>): Decoded<Inspected> {
  return d.ok ? { ok: true, value: { kind, value: d.value } } : d;
}

/** Decode any account gamma-keeper knows, by owner and discriminator (or size, for SPL Token). */
export function inspectAccount(acc: LoadedAccount): Decoded<Inspected> {
  if (acc.owner.equals(PROGRAM_IDS.token)) {
    if (acc.data.length === TOKEN_ACCOUNT_SIZE) return fromDecoded("TokenAccount", decodeTokenAccount(acc.data));
    if (acc.data.length === MINT_SIZE) return fromDecoded("Mint", decodeMint(acc.data));
  }
  if (acc.owner.equals(PROGRAM_IDS.pythLegacyOracle)) return fromDecoded("PythLegacyPrice", oracleFromLegacyPyth(acc.data));
  return detectAccount(acc.owner, acc.data);
}

export async function runInspect(target: string, opts: { rpc?: string }, out: (s: string) => void): Promise<void> {
  let acc: LoadedAccount;
  if (target.endsWith(".json") || existsSync(target)) {
    if (!existsSync(target)) throw new CliError(`${target}: no such file`);
    acc = loadAccountFile(target);
  } else {
    const address = parsePubkey(target, "address");
    const url = resolveRpcUrl(opts.rpc);
    const info = await rpcCall(url, `getAccountInfo ${address.toBase58()}`, () => connect(url).getAccountInfo(address));
    if (!info) throw new CliError(`account ${address.toBase58()} does not exist on that cluster`);
    acc = { address, owner: info.owner, lamports: info.lamports, data: Buffer.from(info.data) };
  }
  const decoded = inspectAccount(acc);
  if (!decoded.ok) throw new CliError(`${acc.address?.toBase58() ?? target}: ${decoded.error.message}`);
  out(
    toJson({
      address: acc.address,
      owner: acc.owner,
      lamports: acc.lamports,
      bytes: acc.data.length,
      kind: decoded.value.kind,
      account: decoded.value.value,
    }),
  );
}
