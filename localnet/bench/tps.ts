/**
 * Transactions per second through the localnet validator: in-process, and over HTTP JSON-RPC to a localnet in a
 * child process (so the client's work is not counted as the server's and each gets a core) from a raw keep-alive
 * HTTP/1.1 client, against LiteSVM's own
 * send path in the same run as the baseline (absolute numbers depend on the machine; the ratios travel).
 *
 *   npm run bench:localnet [-- --count N] [-- --repeat R]
 */
const USAGE = `npm run bench:localnet [-- --count N --repeat R]

  --count N    pre-signed SOL transfers per path (default 2000)
  --repeat R   run every path R times and print the median and the min-max (default 1)

BENCH_SERVER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR" profiles the localnet's process (the server) alone.
`;
import { fork } from "node:child_process";
import { createPrivateKey, sign } from "node:crypto";
import { connect } from "node:net";
import { Keypair, SystemProgram, Transaction } from "@solana/web3.js";
import { describeMachine } from "../../keeper/bench/machine";
import { LocalChain } from "../validator/chain";
import { createRpcMethods } from "../validator/rpc-methods";
import { startLocalnet } from "../validator/server";

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SERVE_FLAG = "--serve";

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

interface RpcReply {
  result?: unknown;
  error?: { message: string };
}

function sendBody(tx: Buffer, skipPreflight: boolean): string {
  return JSON.stringify({ jsonrpc: "2.0", id: 1, method: "sendTransaction", params: [tx.toString("base64"), { encoding: "base64", skipPreflight }] });
}

function rate(count: number, ms: number): number {
  return (count / ms) * 1000;
}

async function time(run: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

/**
 * A keep-alive HTTP/1.1 connection that sends prepared requests one at a time and hands back each answer's body,
 * as a load generator (wrk, autocannon) does: the client should cost far less than the server it measures, and
 * node:http or fetch cost about as much per request as the localnet itself.
 */
function rawConnection(host: string, port: number) {
  const socket = connect({ host, port });
  socket.setNoDelay(true);
  let pending: { resolve: (body: string) => void; reject: (e: Error) => void } | undefined;
  let buffered = Buffer.alloc(0);
  const fail = (e: Error) => {
    pending?.reject(e);
    pending = undefined;
  };
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("the localnet closed the connection")));
  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const headerEnd = buffered.indexOf("\r\n\r\n");
    if (headerEnd < 0) return;
    const framed = bodyOf(buffered, headerEnd);
    if (framed === "incomplete") return;
    if (framed === "unframed") return fail(new Error("answer with neither Content-Length nor chunked encoding"));
    const { body, end } = framed;
    buffered = buffered.subarray(end);
    const p = pending;
    pending = undefined;
    p?.resolve(body);
  });
  const ready = new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return {
    ready,
    call: (request: Buffer) =>
      new Promise<string>((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(request);
      }),
    close: () => socket.destroy(),
  };
}

/**
 * The body of the HTTP answer at the start of `data` (headers end at `headerEnd`) and where the answer ends, framed
 * by Content-Length or chunked (Node's default without a length, which other validators may use too).
 */
function bodyOf(data: Buffer, headerEnd: number): { body: string; end: number } | "incomplete" | "unframed" {
  const headers = data.subarray(0, headerEnd).toString("latin1");
  const length = /\r\ncontent-length: *(\d+)/i.exec(headers)?.[1];
  if (length !== undefined) {
    const end = headerEnd + 4 + Number(length);
    return data.length < end ? "incomplete" : { body: data.subarray(headerEnd + 4, end).toString("utf8"), end };
  }
  if (!/\r\ntransfer-encoding: *chunked/i.test(headers)) return "unframed";
  const parts: Buffer[] = [];
  for (let at = headerEnd + 4; ; ) {
    const sizeEnd = data.indexOf("\r\n", at);
    if (sizeEnd < 0) return "incomplete";
    const size = parseInt(data.subarray(at, sizeEnd).toString("latin1"), 16);
    if (size === 0) return data.length < sizeEnd + 4 ? "incomplete" : { body: Buffer.concat(parts).toString("utf8"), end: sizeEnd + 4 };
    if (data.length < sizeEnd + 2 + size + 2) return "incomplete";
    parts.push(data.subarray(sizeEnd + 2, sizeEnd + 2 + size));
    at = sizeEnd + 2 + size + 2;
  }
}

/** A POST / with a JSON body, framed once before the clock starts. */
function httpRequest(host: string, json: string): Buffer {
  const body = Buffer.from(json);
  return Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
}

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const { hostname, port } = new URL(url);
  const connection = rawConnection(hostname, Number(port));
  try {
    await connection.ready;
    const reply = JSON.parse(await connection.call(httpRequest(hostname, JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })))) as RpcReply;
    if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
    return reply.result;
  } finally {
    connection.close();
  }
}

/** The child: a localnet on a free port, its URL to the parent, gone when the parent says so or goes. */
async function serve(): Promise<void> {
  const net = await startLocalnet({ port: 0 });
  process.send?.({ url: net.url });
  const stop = () => void net.close().then(() => process.exit(0));
  process.on("message", stop);
  process.on("disconnect", stop);
}

async function startServerProcess(): Promise<{ url: string; stop: () => Promise<void> }> {
  const extra = (process.env.BENCH_SERVER_NODE_OPTIONS ?? "").split(" ").filter(Boolean);
  const child = fork(__filename, [SERVE_FLAG], { execArgv: [...process.execArgv, ...extra] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`localnet child exited with ${code} before listening`)));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.send("stop");
    });
  return { url, stop };
}

type Result = [name: string, tps: number];

function inProcess(count: number): Result[] {
  const chain = new LocalChain();
  const payer = Keypair.generate();
  chain.airdrop(payer.publicKey, 1_000_000_000_000n);
  const methods = createRpcMethods(chain);
  let offset = 0;
  const batch = () => presignedTransfers(payer, chain.latestBlockhash().blockhash, count, (offset += count));
  const timed = (run: (tx: Buffer) => unknown) => {
    const txs = batch();
    const t0 = performance.now();
    for (const tx of txs) run(tx);
    return rate(count, performance.now() - t0);
  };
  const handler = (skipPreflight: boolean) => (tx: Buffer) => methods.sendTransaction!([tx.toString("base64"), { encoding: "base64", skipPreflight }]);
  return [
    ["LiteSVM sendLegacyTransaction (baseline)", timed((tx) => chain.svm.sendLegacyTransaction(tx))],
    ["in-process RPC sendTransaction, preflight", timed(handler(false))],
    ["in-process RPC sendTransaction, skipPreflight", timed(handler(true))],
  ];
}

async function overHttp(count: number): Promise<Result[]> {
  const server = await startServerProcess();
  try {
    const payer = Keypair.generate();
    await rpc(server.url, "requestAirdrop", [payer.publicKey.toBase58(), 1_000_000_000_000]);
    const results: Result[] = [];
    const runs: [string, boolean, number][] = [
      ["HTTP sendTransaction, preflight, 1 in flight", false, 1],
      ["HTTP sendTransaction, preflight, 8 in flight", false, 8],
      ["HTTP sendTransaction, skipPreflight, 8 in flight", true, 8],
    ];
    let offset = 0;
    for (const [name, skip, parallel] of runs) {
      const { value } = (await rpc(server.url, "getLatestBlockhash", [])) as { value: { blockhash: string } };
      const { hostname, port } = new URL(server.url);
      const requests = presignedTransfers(payer, value.blockhash, count, (offset += count)).map((tx) => httpRequest(hostname, sendBody(tx, skip)));
      const connections = Array.from({ length: parallel }, () => rawConnection(hostname, Number(port)));
      await Promise.all(connections.map((c) => c.ready));
      let next = 0;
      const ms = await time(() =>
        Promise.all(
          connections.map(async (connection) => {
            while (next < requests.length) {
              const reply = JSON.parse(await connection.call(requests[next++]!)) as RpcReply;
              if (reply.error) throw new Error(`${name}: ${reply.error.message}`);
            }
          }),
        ).then(() => undefined),
      );
      for (const c of connections) c.close();
      results.push([name, rate(count, ms)]);
    }
    // Every transfer landed once: the payer paid each one's amount and fee.
    const balance = (await rpc(server.url, "getBalance", [payer.publicKey.toBase58()])) as { value: number };
    if (balance.value >= 1_000_000_000_000 - runs.length * count * 1_000_000) throw new Error(`not every transfer landed: payer still holds ${balance.value}`);
    return results;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  if (process.argv.includes("--help")) {
    process.stdout.write(USAGE);
    return;
  }
  const arg = (flag: string, fallback: number) => {
    const at = process.argv.indexOf(flag);
    const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer, got ${process.argv[at + 1]}`);
    return value;
  };
  const count = arg("--count", 2000);
  const repeat = arg("--repeat", 1);
  process.stdout.write(`${describeMachine()}\n`);
  process.stdout.write(`workload: ${count} pre-signed SOL transfers per path, sigverify on, ${repeat} run(s); HTTP: raw keep-alive HTTP/1.1 client, localnet in a child process\n\n`);
  const runs: Result[][] = [];
  for (let r = 0; r < repeat; r++) runs.push([...inProcess(count), ...(await overHttp(count))]);
  const baseline = runs.map((run) => run[0]![1]);
  process.stdout.write(`${"path".padEnd(50)} ${"tx/s (median)".padStart(14)} ${"min-max".padStart(14)} ${"x baseline".padStart(11)}\n`);
  runs[0]!.forEach(([name], i) => {
    const all = runs.map((run) => run[i]![1]).sort((a, b) => a - b);
    const ratio = runs.map((run, r) => run[i]![1] / baseline[r]!).sort((a, b) => a - b);
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
    const spread = `${all[0]!.toFixed(0)}-${all.at(-1)!.toFixed(0)}`;
    process.stdout.write(`${name.padEnd(50)} ${median(all).toFixed(0).padStart(14)} ${spread.padStart(14)} ${median(ratio).toFixed(3).padStart(11)}\n`);
  });
}

if (process.argv.includes(SERVE_FLAG)) {
  serve().catch((e: Error) => {
    process.stderr.write(`bench:localnet server: ${e.message}\n`);
    process.exit(1);
  });
} else {
  main().catch((e: Error) => {
    process.stderr.write(`bench:localnet: ${e.message}\n`);
    process.exitCode = 1;
  });
}
