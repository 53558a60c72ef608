import { strict as assert } from "node:assert";
import { createTransferInstruction, TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { Connection, Keypair, PublicKey, SystemProgram, Transaction, sendAndConfirmTransaction } from "@solana/web3.js";
import Client, { SubscribeRequest } from "@triton-one/yellowstone-grpc";
import { MAINNET, associatedTokenAddress } from "../../programs-client";
import type { AccountUpdate } from "../../keeper/state/account-stream";
import { GeyserAccountStream } from "../../keeper/state/geyser-stream";
import { type LocalWorld, startLocalWorld } from "../../localnet/world";
import { LocalChain } from "../../localnet/validator/chain";
import { GeyserServer } from "../../localnet/validator/geyser-server";
import { fundedKeypair, rpc } from "../helpers/localnet";
import { until } from "../helpers/wait";

const USDC_MINT = MAINNET.custodies.USDC.mint;

/** Every update and gap a stream delivers, for assertions. */
function record(stream: GeyserAccountStream) {
  const updates: AccountUpdate[] = [];
  const gaps: string[] = [];
  stream.onUpdate((u) => updates.push(u));
  stream.onGap((r) => gaps.push(r));
  const of = (key: PublicKey) => updates.filter((u) => u.pubkey.equals(key));
  return { updates, gaps, of };
}

async function setTokenBalance(url: string, owner: PublicKey, amount: number) {
  const r = await rpc(url, "surfnet_setTokenAccount", [owner.toBase58(), USDC_MINT.toBase58(), { amount }]);
  assert.equal(r.error, undefined, JSON.stringify(r.error));
}

describe("Geyser: GeyserAccountStream (@triton-one/yellowstone-grpc) against the localnet's Yellowstone gRPC server", function () {
  let world: LocalWorld;
  let connection: Connection;
  const streams: GeyserAccountStream[] = [];
  const open = (o: Partial<ConstructorParameters<typeof GeyserAccountStream>[0]> = {}) => {
    const s = new GeyserAccountStream({ url: world.geyserUrl!, reconnectMinMs: 50, reconnectMaxMs: 400, ...o });
    streams.push(s);
    return s;
  };

  before(async () => {
    world = await startLocalWorld({ port: 0, slotMs: 100, fillKeeper: false, priceDriver: { intervalMs: 250 }, geyser: { port: 0, pingIntervalMs: 300 } });
    connection = new Connection(world.url, "confirmed");
  });
  afterEach(async () => {
    await Promise.all(streams.splice(0).map((s) => s.close()));
  });
  after(async () => world?.close());

  it("answers the unary calls through the real client: GetSlot, GetLatestBlockhash, GetVersion, Ping", async () => {
    const client = new Client(world.geyserUrl!, undefined, undefined);
    await client.connect();
    const slot = Number((await client.getSlot()).slot);
    assert.ok(Math.abs(slot - Number(world.chain.slot)) <= 2, `GetSlot ${slot}, chain at ${world.chain.slot}`);
    const latest = await client.getLatestBlockhash();
    assert.ok(world.chain.isBlockhashValid(latest.blockhash));
    assert.match((await client.getVersion()).version, /gamma-keeper-localnet/);
    assert.equal((await client.ping(3)).count, 3);
  });

  it("a watched address: a real transfer and a written account arrive with their bytes and increasing slots", async () => {
    const payer = await fundedKeypair(connection, 2);
    const target = Keypair.generate().publicKey;
    const stream = open();
    const seen = record(stream);
    stream.watchAccounts([target]);
    await stream.synced();

    await sendAndConfirmTransaction(connection, new Transaction().add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: target, lamports: 5_000_000 })), [payer]);
    await until("the transfer's update", 5000, () => seen.of(target).length >= 1);
    const [first] = seen.of(target) as [AccountUpdate];
    assert.equal(first.account?.lamports, 5_000_000);
    assert.ok(first.account?.owner.equals(SystemProgram.programId));

    const data = Buffer.from("geyser carries the account's bytes");
    const program = Keypair.generate().publicKey;
    world.chain.advanceSlot();
    const w = await rpc(world.url, "surfnet_setAccount", [target.toBase58(), { lamports: 7_000_000, data: data.toString("hex"), owner: program.toBase58() }]);
    assert.equal(w.error, undefined);
    await until("the written account's update", 5000, () => seen.of(target).length >= 2);
    const second = seen.of(target)[1] as AccountUpdate;
    assert.deepEqual(second.account?.data, data);
    assert.ok(second.account?.owner.equals(program));
    assert.equal(second.account?.lamports, 7_000_000);
    assert.ok(second.slot > first.slot, `slots ${first.slot} then ${second.slot}`);
    // The bytes are the chain's: what getAccountInfo answers.
    const info = await connection.getAccountInfo(target);
    assert.deepEqual(info?.data, second.account?.data);
  });

  it("unwatchAccounts rewrites the filter: the dropped address goes quiet, the kept one still arrives", async () => {
    const [kept, dropped] = [Keypair.generate().publicKey, Keypair.generate().publicKey];
    const stream = open();
    const seen = record(stream);
    stream.watchAccounts([kept, dropped]);
    stream.watchAccounts([kept]);
    await stream.synced();
    stream.unwatchAccounts([dropped]);
    await stream.synced();
    world.chain.airdrop(dropped, 1_000_000n);
    world.chain.airdrop(kept, 2_000_000n);
    await until("the kept address's update", 5000, () => seen.of(kept).length >= 1);
    world.chain.airdrop(kept, 1n);
    await until("a second update of the kept address", 5000, () => seen.of(kept).length >= 2);
    assert.equal(seen.of(dropped).length, 0);
  });

  it("oracle writes by the price driver arrive in strictly increasing slots", async () => {
    const oracle = MAINNET.custodies.SOL.pythPriceUpdate;
    const stream = open();
    const seen = record(stream);
    stream.watchAccounts([oracle]);
    await until("four oracle updates", 5000, () => seen.of(oracle).length >= 4);
    const slots = seen.of(oracle).map((u) => u.slot);
    assert.ok(slots.slice(1).every((slot, i) => slot > slots[i]!), `slots ${slots.join(", ")}`);
    const last = seen.of(oracle).at(-1)!;
    assert.ok(last.account && last.account.data.length === 134, "a PriceUpdateV2 is 134 bytes");
  });

  it("a program query (owner + memcmp): the owner's token accounts arrive, another owner's do not", async () => {
    const alice = await fundedKeypair(connection, 2);
    const bob = Keypair.generate();
    const stream = open();
    const seen = record(stream);
    // SPL Token accounts of alice: owner field at offset 32.
    stream.watchProgram(TOKEN_PROGRAM_ID, [{ memcmp: { offset: 32, bytes: alice.publicKey.toBuffer() } }]);
    await stream.synced();
    await setTokenBalance(world.url, alice.publicKey, 1_000_000);
    await setTokenBalance(world.url, bob.publicKey, 0);
    const aliceAta = associatedTokenAddress(USDC_MINT, alice.publicKey);
    const bobAta = associatedTokenAddress(USDC_MINT, bob.publicKey);
    await until("alice's token account", 5000, () => seen.of(aliceAta).length >= 1);

    await sendAndConfirmTransaction(connection, new Transaction().add(createTransferInstruction(aliceAta, bobAta, alice.publicKey, 250_000)), [alice]);
    await until("alice's balance after the transfer", 5000, () => seen.of(aliceAta).some((u) => u.account?.data.readBigUInt64LE(64) === 750_000n));
    const onChain = await connection.getAccountInfo(aliceAta);
    assert.deepEqual(seen.of(aliceAta).at(-1)?.account?.data, onChain?.data);
    assert.equal(seen.of(bobAta).length, 0, "bob's token account matches the owner but not the memcmp");
    assert.ok(seen.updates.every((u) => u.account?.owner.equals(TOKEN_PROGRAM_ID)));
  });

  it("a closed account arrives as null (Geyser sends 0 lamports)", async () => {
    const doomed = await fundedKeypair(connection, 1);
    const payer = await fundedKeypair(connection, 1);
    const stream = open();
    const seen = record(stream);
    stream.watchAccounts([doomed.publicKey]);
    await stream.synced();
    const balance = await connection.getBalance(doomed.publicKey);
    // The payer pays the fee, so the whole balance leaves and the runtime deletes the account.
    const tx = new Transaction().add(SystemProgram.transfer({ fromPubkey: doomed.publicKey, toPubkey: payer.publicKey, lamports: balance }));
    tx.feePayer = payer.publicKey;
    await sendAndConfirmTransaction(connection, tx, [payer, doomed]);
    assert.equal(await connection.getAccountInfo(doomed.publicKey), null);
    await until("the closure", 5000, () => seen.of(doomed.publicKey).length >= 1);
    assert.equal(seen.of(doomed.publicKey).at(-1)?.account, null);
  });

  it("a cut stream is a gap; the stream reconnects, reports the resubscription and delivers again", async () => {
    const target = Keypair.generate().publicKey;
    const stream = open();
    const seen = record(stream);
    stream.watchAccounts([target]);
    await stream.synced();
    const cut = await rpc<number>(world.url, "localnet_disconnectGeyser", []);
    assert.ok((cut.result ?? 0) >= 1, JSON.stringify(cut));
    await until("the drop and the resubscription", 5000, () => seen.gaps.length >= 2);
    assert.match(seen.gaps.join(" | "), /dropped: .* \| Geyser stream resubscribed after: /);
    world.chain.airdrop(target, 42_000_000n);
    await until("an update on the new stream", 5000, () => seen.of(target).length >= 1);
    assert.equal(seen.of(target)[0]?.account?.lamports, 42_000_000);
  });

  it("a server that goes away: retries with backoff, one gap for the outage, live again when it is back", async () => {
    const server = new GeyserServer(world.chain, { pingIntervalMs: 300 });
    const port = await server.listen(0);
    const target = Keypair.generate().publicKey;
    const errors: string[] = [];
    const stream = open({ url: `http://127.0.0.1:${port}`, onError: (e) => errors.push(e.message) });
    const seen = record(stream);
    stream.watchAccounts([target]);
    await stream.synced();
    await server.close();
    await until("failed reconnects", 5000, () => errors.length >= 3);
    assert.equal(seen.gaps.length, 1, `one gap for the outage, got ${seen.gaps.join(" | ")}`);
    const back = new GeyserServer(world.chain, { pingIntervalMs: 300 });
    await back.listen(port);
    try {
      await until("the resubscription", 5000, () => seen.gaps.length >= 2);
      world.chain.airdrop(target, 1_000_000n);
      await until("an update from the restarted server", 5000, () => seen.of(target).length >= 1);
    } finally {
      await stream.close();
      await back.close();
    }
  });

  it("a stream that goes silent (no update, slot or ping) counts as dropped", async () => {
    // A chain nobody advances: no slot updates, and the server's pings are a minute apart.
    const server = new GeyserServer(new LocalChain(), { pingIntervalMs: 60_000 });
    const port = await server.listen(0);
    const stream = open({ url: `http://127.0.0.1:${port}`, silenceMs: 400 });
    const seen = record(stream);
    stream.watchAccounts([Keypair.generate().publicKey]);
    await stream.synced();
    try {
      await until("the silence gap", 5000, () => seen.gaps.some((g) => /no message for 400 ms/.test(g)));
    } finally {
      await stream.close();
      await server.close();
    }
  });

  it("a request the localnet does not serve ends the stream with the server's reason", async () => {
    const client = new Client(world.geyserUrl!, undefined, undefined);
    await client.connect();
    const stream = await client.subscribe();
    const failed = new Promise<Error>((resolve) => stream.on("error", resolve));
    stream.on("data", () => {});
    stream.write(SubscribeRequest.fromPartial({ transactions: { t: { vote: false, accountInclude: [], accountExclude: [], accountRequired: [] } } }));
    const e = await failed;
    assert.match(String((e.cause as Error | undefined)?.message), /invalid argument.*failed to create filter: .*remove the transactions filter/);
  });

  it("sends the x-token, and a wrong one is refused", async () => {
    const server = new GeyserServer(world.chain, { xToken: "s3cret-token" });
    const port = await server.listen(0);
    const target = Keypair.generate().publicKey;
    const good = open({ url: `http://127.0.0.1:${port}`, xToken: "s3cret-token" });
    const seenGood = record(good);
    good.watchAccounts([target]);
    await good.synced();
    const errors: string[] = [];
    const bad = open({ url: `http://127.0.0.1:${port}`, xToken: "wrong-token", onError: (e) => errors.push(e.message) });
    bad.watchAccounts([target]);
    try {
      world.chain.airdrop(target, 3_000_000n);
      await until("the update with the right token", 5000, () => seenGood.of(target).length >= 1);
      await until("the refusal", 5000, () => errors.length >= 1);
      assert.match(errors[0]!, /could not open: .*x-token missing or wrong/);
      assert.ok(errors.every((e) => !e.includes("wrong-token")), `the token never appears in errors: ${errors[0]}`);
    } finally {
      await Promise.all([good.close(), bad.close()]);
      await server.close();
    }
  });
});
