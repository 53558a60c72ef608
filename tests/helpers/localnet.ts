import { type PublicKey, type Connection, Keypair, LAMPORTS_PER_SOL } from "@solana/web3.js";

/** Call one JSON-RPC method with plain fetch (test controls web3.js has no method for). */
export async function rpc<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<{ result?: T; error?: { code: number; message: string; data?: unknown } }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  return (await res.json()) as { result?: T; error?: { code: number; message: string } };
}

/** A new keypair funded by an airdrop that is confirmed before this returns. */
export async function fundedKeypair(connection: Connection, sol = 10): Promise<Keypair> {
  const kp = Keypair.generate();
  await airdrop(connection, kp.publicKey, sol);
  return kp;
}

export async function airdrop(connection: Connection, to: PublicKey, sol: number): Promise<void> {
  const sig = await connection.requestAirdrop(to, sol * LAMPORTS_PER_SOL);
  const latest = await connection.getLatestBlockhash();
  await connection.confirmTransaction({ signature: sig, ...latest });
}
