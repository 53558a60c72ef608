import { strict as assert } from "node:assert";
import { Connection, Keypair, type PublicKey } from "@solana/web3.js";
import { MAINNET, SYSVAR_CLOCK_PUBKEY } from "../../programs-client";
import { ConnectionAccountSource } from "../../keeper/market/account-source";
import { AccountCache, StaleStateError } from "../../keeper/state/account-cache";
import { WebSocketAccountStream } from "../../keeper/state/websocket-stream";
import { closeWebSocket } from "../../keeper/lib/web3-websocket";
import { type LocalWorld, startLocalWorld } from "../../localnet/world";
import { rpc } from "../helpers/localnet";
import { until } from "../helpers/wait";

/**
 * The account cache on the real WebSocket stream of the localnet (a real web3.js Connection over HTTP and PubSub):
 * writes arrive by notification with no RPC read, a dropped socket or a stalled stream is a gap that the cache
 * re-reads, and nothing is served from state older than the bound.
 */
describe("account cache on the localnet's WebSocket stream", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  let connection: Connection;
  let cache: AccountCache;
  let stream: WebSocketAccountStream;
  const reads: string[] = [];
  const gaps: string[] = [];

  before(async () => {
    world = await startLocalWorld({ port: 0, slotMs: 100, fillKeeper: false });
    connection = new Connection(world.url, { commitment: "confirmed", wsEndpoint: world.wsUrl });
    const seed = new ConnectionAccountSource(connection);
    const counted = {
      getMultipleAccounts: (keys: PublicKey[]) => (reads.push("getMultipleAccounts"), seed.getMultipleAccounts(keys)),
      getProgramAccounts: (p: PublicKey, f: Parameters<typeof seed.getProgramAccounts>[1]) => (reads.push("getProgramAccounts"), seed.getProgramAccounts(p, f)),
    };
    stream = new WebSocketAccountStream(connection, { silenceGapMs: 800, nowMs: Date.now });
    stream.onGap((r) => gaps.push(r));
    cache = new AccountCache(counted, stream, { nowMs: Date.now, maxStateAgeMs: 1_500 });
  });

  after(async () => {
    await cache?.close();
    if (connection) closeWebSocket(connection);
    await world?.close();
  });

  const lamportsOf = async (key: PublicKey) => (await cache.getMultipleAccounts([key])).accounts[0]?.lamports ?? 0;

  it("seeds once, then follows a changing account by notification alone, slots never going back", async () => {
    const key = Keypair.generate().publicKey;
    world.chain.airdrop(key, 1_000_000_000n);
    assert.equal(await lamportsOf(key), 1_000_000_000);
    const before = reads.length;
    let lastSlot = 0;
    for (let i = 2; i <= 5; i++) {
      await new Promise((r) => setTimeout(r, 150)); // a new slot per write
      world.chain.airdrop(key, 1_000_000_000n);
      await until(`write ${i} to arrive`, 5_000, async () => (await lamportsOf(key)) === i * 1_000_000_000);
      const slot = (await cache.getMultipleAccounts([key])).slot;
      assert.ok(slot >= lastSlot, `slot ${slot} after ${lastSlot}`);
      lastSlot = slot;
    }
    assert.equal(reads.length, before, "no RPC read after the seed");
  });

  it("the Clock follows by notification every slot", async () => {
    const clock = async () => (await cache.getMultipleAccounts([SYSVAR_CLOCK_PUBKEY])).accounts[0]!.data.readBigUInt64LE(0);
    const first = await clock();
    await until("the Clock's slot to advance in the cache", 5_000, async () => (await clock()) > first + 2n);
  });

  it("a dropped WebSocket is a gap: what changed meanwhile is re-read, and the stream resumes", async () => {
    const key = MAINNET.custodies.ETH.custody;
    const start = await lamportsOf(key);
    const gapsBefore = gaps.length;
    const readsBefore = reads.length;
    // The socket goes down; the write lands while web3.js is reconnecting, and its notification is lost.
    await rpc(world.url, "localnet_silenceWebSockets", [true]);
    world.chain.setAccount(key, { ...world.chain.getAccount(key)!, lamports: start + 7 });
    await rpc(world.url, "localnet_disconnectWebSockets");
    await rpc(world.url, "localnet_silenceWebSockets", [false]);
    await until("the gap to be reported", 10_000, () => gaps.length > gapsBefore);
    await until("the re-read to bring the missed write", 10_000, async () => (await lamportsOf(key)) === start + 7);
    assert.ok(reads.length > readsBefore, "the gap was repaired by an RPC read");
    world.chain.setAccount(key, { ...world.chain.getAccount(key)!, lamports: start + 9 });
    await until("notifications to flow again", 10_000, async () => (await lamportsOf(key)) === start + 9);
  });

  it("a stalled stream: past the bound nothing is served; once it flows and is re-read, the state is current", async () => {
    const key = MAINNET.custodies.BTC.custody;
    const start = await lamportsOf(key);
    await rpc(world.url, "localnet_silenceWebSockets", [true]);
    world.chain.setAccount(key, { ...world.chain.getAccount(key)!, lamports: start + 3 });
    await until("reads to be refused as stale", 10_000, async () => {
      try {
        await cache.getMultipleAccounts([key]);
        return false;
      } catch (e) {
        return e instanceof StaleStateError;
      }
    });
    await rpc(world.url, "localnet_silenceWebSockets", [false]);
    await until("the state to be current and re-read", 10_000, async () => {
      try {
        return (await lamportsOf(key)) === start + 3;
      } catch {
        return false;
      }
    });
  });
});
