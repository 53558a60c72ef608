import { Connection, PublicKey } from "@solana/web3.js";
import { redactUrl, scrubSecrets } from "../lib/redact";
import { CliError, EXIT_RUNTIME } from "./cli-error";
import { DEFAULT_RPC_URL, RPC_ENV } from "./rpc-env";

/** --rpc, else $GAMMA_KEEPER_RPC_URL, else the local validator. */
export function resolveRpcUrl(flag: string | undefined): string {
  const url = flag ?? process.env[RPC_ENV] ?? DEFAULT_RPC_URL;
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw new CliError(`--rpc ${redactUrl(url)} is not an http(s) URL; pass e.g. --rpc ${DEFAULT_RPC_URL}`);
  }
  return url;
}

export function connect(url: string): Connection {
  return new Connection(url, { commitment: "confirmed", disableRetryOnRateLimit: true });
}

export function parsePubkey(value: string, what: string): PublicKey {
  try {
    return new PublicKey(value);
  } catch {
    throw new CliError(`${what} ${JSON.stringify(value)} is not a base58 public key`);
  }
}

/** Run an RPC call; a failure becomes a one-line error that names the endpoint without its API key. */
export async function rpcCall<T>(url: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    const reason = scrubSecrets(e instanceof Error ? e.message : String(e), [url]);
    throw new CliError(`${what} failed at ${redactUrl(url)}: ${reason}`, EXIT_RUNTIME);
  }
}

/** One JSON-RPC call that web3.js has no method for (a localnet's test controls). */
export async function rawRpc(url: string, method: string, params: unknown[]): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
}
