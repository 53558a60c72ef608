import { type PublicKey, Connection, Keypair, LAMPORTS_PER_SOL } from "@solana/web3.js";
import { MAINNET, associatedTokenAddress, createIncreasePositionMarketRequest, decodeTokenAccount } from "../../programs-client";
import type { FillOutcome } from "../../localnet/fill-keeper/fill-keeper";
import { type LocalWorld, startLocalWorld } from "../../localnet/world";

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

/** The world the perps-flow tests share: fast slots and fills, and a wallet holding 10 SOL and 1,000 USDC. */
export async function perpsWorldWithWallet() {
  const world = await startLocalWorld({ port: 0, slotMs: 100, fillKeeper: { delayMs: 100 }, priceDriver: { intervalMs: 300 } });
  const connection = new Connection(world.url, "confirmed");
  const wallet = await fundedKeypair(connection, 10);
  const r = await rpc(world.url, "surfnet_setTokenAccount", [wallet.publicKey.toBase58(), MAINNET.custodies.USDC.mint.toBase58(), { amount: 1_000_000_000 }]);
  if (r.error) throw new Error(`funding USDC: ${r.error.message}`);
  return { world, connection, wallet };
}

/** A wallet's balance of a mint in its associated token account (0 when there is none). */
export async function tokenBalance(connection: Connection, mint: PublicKey, owner: PublicKey): Promise<bigint> {
  const a = await connection.getAccountInfo(associatedTokenAddress(mint, owner));
  const t = a && decodeTokenAccount(a.data);
  return t && t.ok ? t.value.amount : 0n;
}

/** Resolves with the fill keeper's outcome for one request. */
export function fillOutcomeFor(world: LocalWorld, request: PublicKey): Promise<FillOutcome> {
  return new Promise((resolve) => {
    const on = (o: FillOutcome) => {
      if (!o.request.equals(request)) return;
      world.fills!.off("outcome", on);
      resolve(o);
    };
    world.fills!.on("outcome", on);
  });
}

/** A SOL short funded in USDC, the request most localnet tests open: sizes and prices in USD x 1e6. */
export function usdcShortRequest(owner: PublicKey, a: { sizeUsd6: bigint; collateralUsdc6: bigint; minPriceUsd6: bigint; counter: bigint }) {
  return createIncreasePositionMarketRequest({
    owner,
    pool: MAINNET.pool,
    custody: MAINNET.custodies.SOL.custody,
    collateralCustody: MAINNET.custodies.USDC.custody,
    inputMint: MAINNET.custodies.USDC.mint,
    side: "short",
    sizeUsdDelta: a.sizeUsd6,
    collateralTokenDelta: a.collateralUsdc6,
    priceSlippage: a.minPriceUsd6,
    jupiterMinimumOut: null,
    counter: a.counter,
  });
}
