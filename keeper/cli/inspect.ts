import { existsSync, readFileSync, statSync } from "node:fs";
import { PublicKey } from "@solana/web3.js";
import bs58 from "bs58";
import {
  AccountDecodeError,
  PROGRAM_IDS,
  type Decoded,
  MINT_SIZE,
  TOKEN_ACCOUNT_SIZE,
  decodeMint,
  decodeTokenAccount,
  detectAccount,
  oracleFromLegacyPyth,
} from "../../programs-client";
import { type DecodedPerpsTransaction, TransactionJsonError, decodePerpsTransaction, parseGetTransactionJson } from "../../programs-client/transaction-decode";
import { CliError } from "./cli-error";
import { toJson } from "./json";
import { connect, parsePubkey, resolveRpcUrl, rpcCall } from "./rpc";

export interface LoadedAccount {
  address: PublicKey | null;
  owner: PublicKey;
  lamports: number | null;
  data: Buffer;
}

function readJsonFile(path: string): unknown {
  let text: string;
  try {
    // Only regular files are opened: a FIFO with no writer would block the read forever.
    const stat = statSync(path);
    if (stat.isDirectory()) throw new CliError(`${path} is a directory; pass a JSON file, an address or a signature`);
    if (!stat.isFile()) throw new CliError(`${path} is not a regular file; pass a JSON file, an address or a signature`);
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    // Editors on Windows save UTF-8 with a byte-order mark, which JSON.parse refuses.
    return JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    // JSON.parse quotes the text near the error, and in a binary file that may be control characters or newlines.
    const where = /position \d+/.exec((e as Error).message)?.[0];
    throw new CliError(`${path}: not readable JSON (${where ? `syntax error at ${where}` : "syntax error"}); expected a \`solana account --output json\` dump or a getTransaction answer`);
  }
}

/** Read a `solana account --output json` (or json-compact) file. */
export function loadAccountFile(path: string): LoadedAccount {
  return accountFromDump(readJsonFile(path), path);
}

function accountFromDump(doc: unknown, path: string): LoadedAccount {
  const account = typeof doc === "object" && doc !== null ? (doc as { account?: unknown }).account : undefined;
  const data = typeof account === "object" && account !== null ? (account as Record<string, unknown>).data : undefined;
  if (!account || !Array.isArray(data) || typeof data[0] !== "string" || data[1] !== "base64") {
    throw new CliError(
      `${path}: expected {"pubkey", "account": {"data": [<base64>, "base64"], "owner", ...}} as written by solana account --output json, ` +
        `or a getTransaction answer ({"result": {"transaction", "meta", ...}} or the result alone)`,
    );
  }
  const pubkey = (doc as { pubkey?: unknown }).pubkey;
  return {
    address: typeof pubkey === "string" ? parsePubkey(pubkey, `${path}: pubkey`) : null,
    owner: parsePubkey(String((account as Record<string, unknown>).owner), `${path}: account.owner`),
    lamports: typeof (account as Record<string, unknown>).lamports === "number" ? ((account as Record<string, unknown>).lamports as number) : null,
    data: Buffer.from(data[0], "base64"),
  };
}

type Inspected = { kind: string; value: unknown };

function fromDecoded<T>(kind: string, d: Decoded<T>): Decoded<Inspected> {
  return d.ok ? { ok: true, value: { kind, value: d.value } } : d;
}

/** Decode any account gamma-keeper knows, by owner and discriminator (or exact size, for SPL Token). */
export function inspectAccount(acc: LoadedAccount): Decoded<Inspected> {
  if (acc.owner.equals(PROGRAM_IDS.token)) {
    if (acc.data.length === TOKEN_ACCOUNT_SIZE) return fromDecoded("TokenAccount", decodeTokenAccount(acc.data));
    if (acc.data.length === MINT_SIZE) return fromDecoded("Mint", decodeMint(acc.data));
    return {
      ok: false,
      error: new AccountDecodeError("unknown", "malformed", `SPL Token account of ${acc.data.length} bytes is neither a mint (${MINT_SIZE}) nor a token account (${TOKEN_ACCOUNT_SIZE})`),
    };
  }
  if (acc.owner.equals(PROGRAM_IDS.pythLegacyOracle)) return fromDecoded("PythLegacyPrice", oracleFromLegacyPyth(acc.data));
  return detectAccount(acc.owner, acc.data);
}

/** A getTransaction answer, whole or just its result, rather than an account dump. */
function isTransactionDoc(doc: unknown): boolean {
  if (typeof doc !== "object" || doc === null) return false;
  const d = doc as Record<string, unknown>;
  return "result" in d || "error" in d || ("transaction" in d && "meta" in d);
}

export async function runInspect(target: string, opts: { rpc?: string; json?: boolean }, out: (s: string) => void): Promise<void> {
  if (target.endsWith(".json") || existsSync(target)) {
    if (!existsSync(target)) throw new CliError(`${target}: no such file`);
    const doc = readJsonFile(target);
    if (!isTransactionDoc(doc)) return printAccount(accountFromDump(doc, target), target, out);
    let tx: ReturnType<typeof parseGetTransactionJson>;
    try {
      tx = parseGetTransactionJson(doc);
    } catch (e) {
      if (e instanceof TransactionJsonError) throw new CliError(`${target}: ${e.message}`);
      throw e;
    }
    return printTransaction(decodePerpsTransaction(tx), opts, out);
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = bs58.decode(target);
  } catch {
    bytes = undefined;
  }
  if (bytes?.length === 64) {
    const url = resolveRpcUrl(opts.rpc);
    const tx = await rpcCall(url, `getTransaction ${target}`, () => connect(url).getTransaction(target, { maxSupportedTransactionVersion: 0, commitment: "confirmed" }));
    if (!tx) throw new CliError(`transaction ${target} is not known to that cluster (never landed, or older than the node's history)`);
    return printTransaction(decodePerpsTransaction(tx), opts, out);
  }
  if (bytes?.length !== 32) throw new CliError(`${JSON.stringify(target)} is not a base58 public key (32 bytes) or transaction signature (64 bytes), nor a file`);
  const address = parsePubkey(target, "address");
  const url = resolveRpcUrl(opts.rpc);
  const info = await rpcCall(url, `getAccountInfo ${address.toBase58()}`, () => connect(url).getAccountInfo(address));
  if (!info) throw new CliError(`account ${address.toBase58()} does not exist on that cluster`);
  printAccount({ address, owner: info.owner, lamports: info.lamports, data: Buffer.from(info.data) }, target, out);
}

function printAccount(acc: LoadedAccount, target: string, out: (s: string) => void): void {
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

/** A value on one line: strings bare, everything else as the CLI's JSON (integers as strings, keys in base58). */
function inline(v: unknown): string {
  const json = toJson(v, 0);
  return json.startsWith('"') ? (JSON.parse(json) as string) : json;
}

/** The transaction's Jupiter Perps instructions and events for a person to read. */
export function formatPerpsTransaction(t: DecodedPerpsTransaction): string {
  const when = t.blockTime === null ? "block time unknown" : new Date(t.blockTime * 1000).toISOString();
  const lines = [
    `transaction ${t.signature}`,
    `slot ${t.slot ?? "unknown"}, ${when}, ${t.status === "failed" ? `failed: ${inline(t.err)}` : t.status === "unknown" ? "status unknown" : t.status}${t.feeLamports === null ? "" : `, fee ${t.feeLamports} lamports`}`,
  ];
  if (t.instructions.length === 0) lines.push("", "no Jupiter Perps instructions");
  for (const ix of t.instructions) {
    const place = ix.innerIndex === null ? `instruction ${ix.index}` : `instruction ${ix.index}.${ix.innerIndex} (CPI)`;
    lines.push("", ix.known ? `${place}: ${ix.name}` : `${place}: unknown instruction, discriminator ${ix.discriminatorHex} (${ix.dataHex.length / 2} bytes of data)`);
    const width = Math.max(0, ...ix.accounts.map((a, i) => (a.name ?? `#${i}`).length));
    for (const [i, a] of ix.accounts.entries()) lines.push(`  ${(a.name ?? `#${i}`).padEnd(width)}  ${a.pubkey.toBase58()}`);
    if (ix.known) for (const [name, value] of Object.entries(ix.args)) lines.push(`  arg ${name}: ${inline(value)}`);
  }
  lines.push("", t.events.length === 0 ? "no Jupiter Perps events" : "events:");
  for (const e of t.events) {
    lines.push(`  ${e.name}`);
    for (const [name, value] of Object.entries(e.data)) lines.push(`    ${name}: ${inline(value)}`);
  }
  return lines.join("\n");
}

function printTransaction(t: DecodedPerpsTransaction, opts: { json?: boolean }, out: (s: string) => void): void {
  out(opts.json ? toJson(t) : formatPerpsTransaction(t));
}
