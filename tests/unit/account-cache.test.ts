import { strict as assert } from "node:assert";
import { Keypair, type PublicKey } from "@solana/web3.js";
import fc from "fast-check";
import type { MemcmpFilter, RawAccount } from "../../programs-client";
import { MemoryAccountSource } from "../../keeper/market/account-source";
import { AccountCache, StaleStateError, supersedes } from "../../keeper/state/account-cache";
import type { AccountStream, AccountUpdate } from "../../keeper/state/account-stream";

/** A stream the test drives by hand: what it delivers, when, and when it says it lost track. */
class HandStream implements AccountStream {
  watched = new Set<string>();
  programs: { program: PublicKey; filters: readonly MemcmpFilter[] }[] = [];
  private updates: ((u: AccountUpdate) => void)[] = [];
  private gaps: ((r: string) => void)[] = [];
  private slots: ((s: number) => void)[] = [];
  watchAccounts(keys: readonly PublicKey[]) {
    for (const k of keys) this.watched.add(k.toBase58());
  }
  unwatchAccounts(keys: readonly PublicKey[]) {
    for (const k of keys) this.watched.delete(k.toBase58());
  }
  watchProgram(program: PublicKey, filters: readonly MemcmpFilter[]) {
    this.programs.push({ program, filters });
  }
  onUpdate(l: (u: AccountUpdate) => void) {
    this.updates.push(l);
  }
  onGap(l: (r: string) => void) {
    this.gaps.push(l);
  }
  onSlot(l: (s: number) => void) {
    this.slots.push(l);
  }
  async close() {}
  send(u: AccountUpdate) {
    for (const l of this.updates) l(u);
  }
  gap(reason: string) {
    for (const l of this.gaps) l(reason);
  }
  slot(s: number) {
    for (const l of this.slots) l(s);
  }
}

const PROGRAM = Keypair.generate().publicKey;
const OWNER = Keypair.generate().publicKey;
const FILTER: MemcmpFilter[] = [{ memcmp: { offset: 8, bytes: OWNER.toBuffer() } }];

/** An account of PROGRAM holding OWNER at offset 8 (so it matches FILTER) and a version byte at 40. */
function owned(version: number): RawAccount {
  const data = Buffer.alloc(48);
  OWNER.toBuffer().copy(data, 8);
  data[40] = version;
  return { owner: PROGRAM, data, lamports: 1_000_000 };
}

function setup(maxStateAgeMs = 5_000) {
  let now = 1_000_000;
  const seed = new MemoryAccountSource(10);
  const stream = new HandStream();
  const changed: string[][] = [];
  const errors: string[] = [];
  const cache = new AccountCache(seed, stream, { nowMs: () => now, maxStateAgeMs, onChange: (k) => changed.push([...k]), onError: (e) => errors.push(e.message) });
  return { seed, stream, cache, changed, errors, advance: (ms: number) => (now += ms) };
}

const version = async (cache: AccountCache, key: PublicKey) => (await cache.getMultipleAccounts([key])).accounts[0]?.data[40];

describe("account cache (keeper/state)", () => {
  it("the slot rule: an older write never replaces a newer one; equal slots apply", () => {
    const table: [number | undefined, number, boolean][] = [
      [undefined, 0, true],
      [5, 4, false],
      [5, 5, true],
      [5, 6, true],
    ];
    for (const [held, incoming, expected] of table) assert.equal(supersedes(held, incoming), expected, `held ${held} incoming ${incoming}`);
  });

  it("seeds an address once over RPC, then serves it from the stream's writes with no further read", async () => {
    const { seed, stream, cache } = setup();
    const key = Keypair.generate().publicKey;
    seed.set(key, owned(1));
    let reads = 0;
    const get = seed.getMultipleAccounts.bind(seed);
    seed.getMultipleAccounts = async (keys) => (reads++, get(keys));
    assert.equal(await version(cache, key), 1);
    assert.ok(stream.watched.has(key.toBase58()), "the first read subscribes the address");
    stream.send({ pubkey: key, account: owned(2), slot: 11 });
    assert.equal(await version(cache, key), 2);
    assert.equal(reads, 1);
  });

  it("out of order, duplicated and late writes: the cache never moves backwards (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 40 }), async (slots) => {
        const { stream, cache, seed } = setup();
        const key = Keypair.generate().publicKey;
        seed.slot = 0;
        seed.set(key, owned(0));
        await cache.getMultipleAccounts([key]);
        let best = 0;
        for (const s of [...slots, ...slots.slice(0, 3)]) {
          stream.send({ pubkey: key, account: owned(s), slot: s });
          best = Math.max(best, s);
          // The version byte is the slot it was written at: what is held is always the newest slot seen.
          assert.equal(await version(cache, key), best);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("an owner's program accounts: new ones from the stream, closures found by the re-read", async () => {
    const { seed, stream, cache } = setup();
    const a = Keypair.generate().publicKey;
    const b = Keypair.generate().publicKey;
    seed.set(a, owned(1));
    const first = await cache.getProgramAccounts(PROGRAM, FILTER);
    assert.deepEqual(first.accounts.map((x) => x.pubkey.toBase58()), [a.toBase58()]);
    assert.equal(stream.programs.length, 1, "subscribed once");
    stream.send({ pubkey: b, account: owned(1), slot: 12 });
    assert.equal((await cache.getProgramAccounts(PROGRAM, FILTER)).accounts.length, 2);
    assert.equal(stream.programs.length, 1, "a second read does not subscribe again");
    // `a` is closed on chain; programSubscribe does not say so. The re-read at a later slot does.
    const fresh = new MemoryAccountSource(13);
    fresh.set(b, owned(1));
    Object.assign(seed, { getProgramAccounts: fresh.getProgramAccounts.bind(fresh), getMultipleAccounts: fresh.getMultipleAccounts.bind(fresh) });
    await cache.rereadAll();
    assert.deepEqual((await cache.getProgramAccounts(PROGRAM, FILTER)).accounts.map((x) => x.pubkey.toBase58()), [b.toBase58()]);
  });

  it("an account first held through a program query is still followed by address once read by address (closures are only notified so)", async () => {
    const { seed, stream, cache } = setup();
    const request = Keypair.generate().publicKey;
    seed.set(request, owned(1));
    await cache.getProgramAccounts(PROGRAM, FILTER);
    assert.ok(!stream.watched.has(request.toBase58()));
    await cache.getMultipleAccounts([request]);
    assert.ok(stream.watched.has(request.toBase58()), "subscribed by address");
    stream.send({ pubkey: request, account: null, slot: 12 });
    assert.equal((await cache.getMultipleAccounts([request])).accounts[0], null, "the closure is held");
  });

  it("a settled request is forgotten: unsubscribed, out of its program query, read again only if asked", async () => {
    const { seed, stream, cache } = setup();
    const request = Keypair.generate().publicKey;
    seed.set(request, owned(1));
    await cache.getProgramAccounts(PROGRAM, FILTER);
    await cache.getMultipleAccounts([request]);
    stream.send({ pubkey: request, account: null, slot: 12 });
    cache.untrack([request]);
    assert.ok(!stream.watched.has(request.toBase58()), "unsubscribed");
    assert.equal((await cache.getProgramAccounts(PROGRAM, FILTER)).accounts.length, 0);
  });

  it("a re-read older than the stream's write does not undo it", async () => {
    const { seed, stream, cache } = setup();
    const key = Keypair.generate().publicKey;
    seed.set(key, owned(1));
    await cache.getMultipleAccounts([key]);
    stream.send({ pubkey: key, account: owned(7), slot: 20 });
    seed.slot = 15; // a lagging RPC node
    await cache.rereadAll();
    assert.equal(await version(cache, key), 7);
  });

  it("a stream that stops: reads fail past the bound; a gap triggers a re-read, which makes the state current again", async () => {
    const { seed, stream, cache, advance, changed } = setup(2_000);
    const key = Keypair.generate().publicKey;
    seed.set(key, owned(1));
    await cache.getMultipleAccounts([key]);
    advance(1_500);
    stream.slot(11); // heartbeat: the stream is alive
    advance(1_500);
    assert.equal(await version(cache, key), 1, "1.5 s since the heartbeat, within 2 s");
    advance(1_000);
    await assert.rejects(cache.getMultipleAccounts([key]), StaleStateError);
    // Writes arriving during an open gap do not make the state current: what was missed is still missing.
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const read = seed.getMultipleAccounts.bind(seed);
    seed.getMultipleAccounts = async (keys) => (await blocked, read(keys));
    seed.set(key, owned(3));
    seed.slot = 30;
    stream.gap("socket closed");
    stream.send({ pubkey: key, account: owned(2), slot: 25 });
    assert.equal(cache.staleness().gap, "socket closed");
    await assert.rejects(cache.getMultipleAccounts([key]), /stream gap: socket closed/);
    release();
    await cache.rereadAll();
    assert.equal(cache.staleness().gap, null);
    assert.equal(await version(cache, key), 3, "the re-read's newer slot wins");
    assert.ok(changed.some((c) => c.length === 0), "the re-read asks for a cycle");
  });

  it("a failed re-read leaves the gap open and the next one closes it", async () => {
    const { seed, stream, cache, errors } = setup();
    const key = Keypair.generate().publicKey;
    seed.set(key, owned(1));
    await cache.getMultipleAccounts([key]);
    const read = seed.getMultipleAccounts.bind(seed);
    seed.getMultipleAccounts = async () => {
      throw new Error("503");
    };
    stream.gap("socket closed");
    await cache.rereadAll();
    assert.deepEqual(errors, ["503"]);
    assert.equal(cache.staleness().gap, "socket closed");
    seed.getMultipleAccounts = read;
    await cache.rereadAll();
    assert.equal(cache.staleness().gap, null);
  });

  it("re-reads keep the state current but not the stream alive: streamQuietMs counts from its last message", async () => {
    const { stream, cache, advance } = setup(2_000);
    advance(3_000);
    await cache.rereadAll();
    assert.deepEqual(cache.staleness(), { ageMs: 0, gap: null, streamQuietMs: 3_000 });
    stream.slot(12);
    advance(100);
    assert.equal(cache.staleness().streamQuietMs, 100);
  });

  it("a gap before anything was read (a stream refused at start) does not stop later re-reads", async () => {
    const { seed, stream, cache } = setup();
    stream.gap("Geyser stream could not open");
    await cache.rereadAll();
    const key = Keypair.generate().publicKey;
    seed.set(key, owned(1));
    await cache.getMultipleAccounts([key]);
    seed.set(key, owned(2));
    seed.slot = 20;
    const passes = cache.rereads;
    await cache.rereadAll();
    assert.equal(cache.rereads, passes + 1, "the later call read again");
    assert.equal(await version(cache, key), 2);
  });
});
