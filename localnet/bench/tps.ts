/**
 * Transactions per second through the localnet validator, in-process and over HTTP JSON-RPC, against LiteSVM's
 * own send path as the baseline in the same run (absolute numbers depend on the machine; the ratios travel).
 *
 *   npm run bench:localnet [-- --count N]
 */
import { createPrivateKey, sign } from "node:crypto";
import { cpus, totalmem } from "node:os";
import { Keypair, SystemProgram, Transaction } from "@solana/web3.js";
import { LocalChain } from "../validator/chain";
import { startLocalnet } from "../validator/server";

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** Pre-signed SOL transfers, signed with node:crypto (web3.js signing would dominate the measurement). */
function presignedTransfers(payer: Keypair, blockhash: string, count: number, offset: number): Buffer[] {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(payer.secretKey.subarray(0, 32))]), format: "der", type: "pkcs8" });
  const to = Keypair.generate().publicKey;
  return Array.from({ length: count }, (_, i) => {
    const message = new Transaction({ feePayer: payer.publicKey, blockhash, lastValidBlockHeight: 0 })
      .add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: 1_000_000 + offset + i }))
      .compileMessage()
      .serialize();
    return Buffer.concat([Buffer.from([1]), sign(null, message, key), message]);
  });
}

function rate(count: number, ms: number): number {
  return (count / ms) * 1000;
}

async function time(run: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const countArg = process.argv.indexOf("--count");
  const count = countArg > 0 ? Number(process.argv[countArg + 1]) : 2000;
  if (!Number.isInteger(count) || count < 10) throw new Error(`--count must be an integer >= 10, got ${process.argv[countArg + 1]}`);
  const cpu = cpus();
  process.stdout.write(
    `machine: ${cpu.length} x ${cpu[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${process.platform}/${process.arch}\n`,
  );
  process.stdout.write(`workload: ${count} pre-signed SOL transfers per path, sigverify on\n\n`);

  const results: [string, number][] = [];
  {
    const chain = new LocalChain();
    const payer = Keypair.generate();
    chain.airdrop(payer.publicKey, 1_000_000_000_000n);
    const raw = presignedTransfers(payer, chain.latestBlockhash().blockhash, count, 0);
    results.push(["LiteSVM sendLegacyTransaction (baseline)", rate(count, await time(() => raw.forEach((tx) => chain.svm.sendLegacyTransaction(tx))))]);
    const ours = presignedTransfers(payer, chain.latestBlockhash().blockhash, count, count);
    results.push(["in-process LocalChain.sendTransaction", rate(count, await time(() => ours.forEach((tx) => chain.sendTransaction(tx))))]);
  }
  const net = await startLocalnet({ port: 0 });
  try {
    const payer = Keypair.generate();
    net.chain.airdrop(payer.publicKey, 1_000_000_000_000n);
    const post = (tx: Buffer, skipPreflight: boolean) =>
      fetch(net.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "sendTransaction", params: [tx.toString("base64"), { encoding: "base64", skipPreflight }] }),
      }).then(async (r) => {
        const j = (await r.json()) as { error?: { message: string } };
        if (j.error) throw new Error(j.error.message);
      });
    const runs: [string, boolean, number][] = [
      ["HTTP sendTransaction, preflight, 1 in flight", false, 1],
      ["HTTP sendTransaction, preflight, 8 in flight", false, 8],
      ["HTTP sendTransaction, skipPreflight, 8 in flight", true, 8],
    ];
    let offset = 0;
    for (const [name, skip, parallel] of runs) {
      const txs = presignedTransfers(payer, net.chain.latestBlockhash().blockhash, count, (offset += count));
      const ms = await time(async () => {
        let next = 0;
        await Promise.all(Array.from({ length: parallel }, async () => {
          while (next < txs.length) await post(txs[next++]!, skip);
        }));
      });
      results.push([name, rate(count, ms)]);
    }
  } finally {
    await net.close();
  }
  const baseline = results[0]![1];
  for (const [name, tps] of results) {
    process.stdout.write(`${name.padEnd(52)} ${tps.toFixed(0).padStart(8)} tx/s   ${(tps / baseline).toFixed(3)} x baseline\n`);
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench:localnet: ${e.message}\n`);
  process.exitCode = 1;
});
