import { strict as assert } from "node:assert";
import { Connection, Keypair, LAMPORTS_PER_SOL, SystemProgram, Transaction } from "@solana/web3.js";
import WebSocket from "ws";
import { main } from "../../keeper/cli/main";
import { type Localnet, startLocalnet } from "../../localnet/validator/server";
import { rpc } from "../helpers/localnet";

async function untilExecuted(connection: Connection, signature: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await connection.getSignatureStatus(signature)).value) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${signature} never executed`);
}

describe("localnet validator: fault knobs and subscriptions", function () {
  this.timeout(30_000);
  let net: Localnet;
  before(async () => {
    net = await startLocalnet({ port: 0, slotMs: 50 });
  });
  after(async () => net.close());
  afterEach(async () => {
    await rpc(net.url, "localnet_setFaults", [{}]);
  });

  it("fails a seeded share of requests with the chosen HTTP status; test controls are never affected", async () => {
    const r = await rpc(net.url, "localnet_setFaults", [{ failRate: 0.5, failStatus: 429, seed: 42 }]);
    assert.equal(r.error, undefined);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await fetch(net.url, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: i, method: "getSlot" }) });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    const failed = statuses.filter((s) => s === 429).length;
    assert.ok(failed > 5 && failed < 35, `${failed} of 40 failed`);
    assert.ok(statuses.every((s) => s === 200 || s === 429));
    await rpc(net.url, "localnet_setFaults", [{ failRate: 0.5, failStatus: 429, seed: 42 }]);
    const again: number[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await fetch(net.url, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: i, method: "getSlot" }) });
      again.push(res.status);
      await res.arrayBuffer();
    }
    assert.deepEqual(again, statuses, "the same seed gives the same faults");
    assert.equal((await rpc(net.url, "surfnet_timeTravel", [{}])).error, undefined);
  });

  it("drops requests (the connection closes unanswered) and adds latency", async () => {
    await rpc(net.url, "localnet_setFaults", [{ dropRate: 1, methods: ["getBalance"] }]);
    await assert.rejects(fetch(net.url, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getBalance", params: [Keypair.generate().publicKey.toBase58()] }) }));
    assert.equal((await rpc(net.url, "getSlot")).error, undefined, "other methods pass");
    await rpc(net.url, "localnet_setFaults", [{ latencyMs: 300 }]);
    const t0 = Date.now();
    await rpc(net.url, "getSlot");
    assert.ok(Date.now() - t0 >= 290);
    assert.equal((await rpc(net.url, "localnet_setFaults", [{ dropRate: 2 }])).error?.code, -32602);
  });

  it("notifies programSubscribe and signatureSubscribe, and cuts WebSockets on demand", async () => {
    // Only HTTP here: a web3.js WebSocket cut by the disconnect below would keep reconnecting after the server stops.
    const connection = new Connection(net.url, "confirmed");
    const payer = Keypair.generate();
    await untilExecuted(connection, await connection.requestAirdrop(payer.publicKey, 5 * LAMPORTS_PER_SOL));
    const ws = new WebSocket(net.wsUrl);
    await new Promise((r) => ws.once("open", r));
    const messages: { method?: string; id?: number; result?: unknown; params?: { result: { value: { pubkey?: string } } } }[] = [];
    ws.on("message", (m) => messages.push(JSON.parse(m.toString())));
    const target = Keypair.generate();
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "programSubscribe", params: [SystemProgram.programId.toBase58(), { encoding: "base64", filters: [{ dataSize: 0 }] }] }));
    await new Promise((r) => setTimeout(r, 100));
    const tx = new Transaction({ feePayer: payer.publicKey, ...(await connection.getLatestBlockhash()) }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: target.publicKey, lamports: LAMPORTS_PER_SOL }),
    );
    tx.sign(payer);
    const sig = await connection.sendRawTransaction(tx.serialize());
    await untilExecuted(connection, sig);
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "signatureSubscribe", params: [sig] }));
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(messages.some((m) => m.method === "programNotification" && m.params?.result.value.pubkey === target.publicKey.toBase58()));
    assert.ok(messages.some((m) => m.method === "signatureNotification"), "an executed signature is notified on subscription");
    const closed = new Promise((r) => ws.once("close", r));
    const cut = await rpc<number>(net.url, "localnet_disconnectWebSockets");
    assert.ok((cut.result ?? 0) >= 1);
    await closed;
  });
});

describe("gamma-keeper localnet", function () {
  this.timeout(30_000);

  it("serves the world until stopped, printing the URLs, the fill keeper and the accounts", async () => {
    const lines: string[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const run = main(["localnet", "--port", "0", "--slot-ms", "100", "--scenario", "gbm", "--markets", "SOL,BTC"], (s) => {
      lines.push(s);
      if (s.startsWith("Serving")) stop();
    }, () => undefined, () => stopped.then(async () => {
      const url = lines.find((l) => l.includes("RPC"))!.split(/\s+/).pop()!;
      const c = new Connection(url, "confirmed");
      assert.ok((await c.getSlot()) > 0);
      assert.ok(await c.getAccountInfo(new Keypair().publicKey) === null);
    }));
    assert.equal(await run, 0);
    const text = lines.join("\n");
    assert.match(text, /RPC\s+http:\/\/127\.0\.0\.1:\d+/);
    assert.match(text, /WebSocket\s+ws:\/\/127\.0\.0\.1:\d+/);
    assert.match(text, /fill keeper\s+9PMJ8vVpb7vYY8qGf35YUwBdNc1z7yiN6Bf1hewCQFqD/);
    assert.match(text, /28 loaded/);
    assert.match(text, /price BTC\s+GBM from \$60000/);
    assert.match(text, /localnet stopped/);
  });

  it("rejects bad flags with exit 2 and the reason", async () => {
    for (const [args, why] of [
      [["--markets", "DOGE"], /--markets takes SOL, ETH, BTC/],
      [["--scenario", "csv"], /needs --csv FILE/],
      [["--reject-rate", "2"], /--reject-rate must be between 0 and 1/],
      [["--scenario", "wiggle"], /--scenario must be constant, gbm, jump or csv/],
    ] as const) {
      const errs: string[] = [];
      const code = await main(["localnet", "--port", "0", ...args], () => undefined, (s) => errs.push(s), () => Promise.resolve());
      assert.equal(code, 2, args.join(" "));
      assert.match(errs.join("\n"), why);
    }
  });
});
