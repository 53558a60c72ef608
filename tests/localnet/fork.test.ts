import { strict as assert } from "node:assert";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AddressLookupTableAccount,
  AddressLookupTableProgram,
  ComputeBudgetProgram,
  Connection,
  Keypair,
  PublicKey,
  SystemProgram,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
  sendAndConfirmTransaction,
} from "@solana/web3.js";
import bs58 from "bs58";
import { MAINNET, PROGRAM_IDS, type RawAccount, accountDiscriminator, decodeAccount } from "../../programs-client";
import { DEFAULT_PRICES_USD } from "../../localnet/fixtures/params";
import type { PriceScenario } from "../../localnet/fixtures/price-driver";
import { BPF_LOADER_UPGRADEABLE } from "../../localnet/programs/deploy";
import { RemoteCluster, RemoteUnavailable } from "../../localnet/fork/remote";
import { type LocalWorld, type LocalWorldOptions, startLocalWorld } from "../../localnet/world";
import { main } from "../../keeper/cli/main";
import { setOraclePrices } from "../../localnet/fixtures/load";
import { fillOutcomeFor, fundedKeypair, rpc, usdcShortRequest } from "../helpers/localnet";
import { until } from "../helpers/wait";
import { hundredSolMandate, keeperOnLocalnet } from "../helpers/keeper";
import { recordRemote } from "../helpers/remote";
import type { KeeperEvent } from "../../keeper/mandate/events";

const { SOL, USDC } = MAINNET.custodies;
const USD = 1_000_000n;
const SECRET = "SECRETKEY123";
const [PERPS_PROGRAM_DATA] = PublicKey.findProgramAddressSync([PROGRAM_IDS.perpetuals.toBuffer()], BPF_LOADER_UPGRADEABLE);

const same = (a: RawAccount | null, b: RawAccount | null) =>
  a === null || b === null ? a === b : a.lamports === b.lamports && a.owner.equals(b.owner) && a.data.equals(b.data) && (a.executable ?? false) === (b.executable ?? false);

describe("localnet fork mode: a second localnet is the remote cluster", function () {
  this.timeout(120_000);
  let remote: LocalWorld;
  let seen: ReturnType<typeof recordRemote>;
  let cacheDir: string;
  let fork: LocalWorld | undefined;
  let remoteBefore: Map<string, RawAccount | null>;
  /** The remote's accounts that must never change: every fixture, the program and its ProgramData. */
  const watched = () => [...remote.loaded.map((l) => l.address), PROGRAM_IDS.perpetuals, PERPS_PROGRAM_DATA];

  // Constant prices on the fork: its price driver takes over the fetched oracles so fills see fresh ones.
  const scenarios = Object.fromEntries(Object.entries(DEFAULT_PRICES_USD).map(([s, p]) => [s, { kind: "constant", priceUsd: p }])) as LocalWorldOptions["scenarios"];
  const startFork = () =>
    startLocalWorld({
      port: 0,
      slotMs: 100,
      // An API key in the path, as providers put it: it must never appear in what the fork prints.
      fork: { url: `${remote.url}/v2/${SECRET}`, cacheDir, timeoutMs: 2_000, retries: 1 },
      scenarios: scenarios as Record<string, PriceScenario>,
      fillKeeper: { delayMs: 100 },
      priceDriver: { intervalMs: 300 },
    });

  before(async () => {
    remote = await startLocalWorld({ port: 0, slotMs: 100, fillKeeper: false });
    // A still remote: its own price driver would change the oracles we compare before and after.
    remote.prices.stop();
    seen = recordRemote(remote);
    cacheDir = mkdtempSync(join(tmpdir(), "fork-cache-"));
    remoteBefore = new Map(watched().map((k) => [k.toBase58(), remote.chain.getAccount(k)]));
  });
  after(async () => {
    await fork?.close();
    await remote?.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  const openShort = async (world: LocalWorld, wallet: Keypair, counter: bigint) => {
    const connection = new Connection(world.url, "confirmed");
    const req = usdcShortRequest(wallet.publicKey, { sizeUsd6: 1000n * USD, collateralUsdc6: 100n * USD, minPriceUsd6: 140n * USD, counter });
    const filled = fillOutcomeFor(world, req.positionRequest);
    await sendAndConfirmTransaction(connection, new Transaction().add(ComputeBudgetProgram.setComputeUnitLimit({ units: 200_000 }), req.instruction), [wallet]);
    assert.equal((await filled).result, "filled");
    const a = await connection.getAccountInfo(req.position);
    const p = a && decodeAccount("Position", a.data, a.owner);
    assert.ok(p?.ok, "position readable on the fork");
    assert.equal(p.value.sizeUsd, 1000n * USD);
    return req;
  };
  const fundedWallet = async (world: LocalWorld) => {
    const wallet = await fundedKeypair(new Connection(world.url, "confirmed"), 10);
    const r = await rpc(world.url, "surfnet_setTokenAccount", [wallet.publicKey.toBase58(), USDC.mint.toBase58(), { amount: 1_000_000_000 }]);
    assert.equal(r.error, undefined);
    return wallet;
  };

  it("fetches accounts and the upgradeable program from the remote, fills a request with it, and never writes to the remote", async () => {
    const programOnRemote = remote.chain.getAccount(PROGRAM_IDS.perpetuals)!;
    assert.ok(programOnRemote.executable && programOnRemote.owner.equals(BPF_LOADER_UPGRADEABLE), "the remote's program is upgradeable");
    fork = await startFork();
    assert.ok(fork.chain.slot >= remote.chain.slot - 5n, `the fork's slot ${fork.chain.slot} follows the remote's ${remote.chain.slot}`);
    assert.equal(fork.chain.getAccount(MAINNET.pool), null, "nothing is fetched before it is read");

    const wallet = await fundedWallet(fork);
    const req = await openShort(fork, wallet, 1n);
    const programData = fork.chain.getAccount(PERPS_PROGRAM_DATA);
    assert.ok(same(programData, remote.chain.getAccount(PERPS_PROGRAM_DATA)), "the remote's ProgramData (and so its binary) was fetched");

    // getProgramAccounts: the remote's custodies, merged with the fork's own Position.
    const connection = new Connection(fork.url, "confirmed");
    const custodies = await connection.getProgramAccounts(PROGRAM_IDS.perpetuals, { filters: [{ memcmp: { offset: 0, bytes: bs58.encode(accountDiscriminator("Custody")) } }] });
    assert.equal(custodies.length, 5);
    const positions = await connection.getProgramAccounts(PROGRAM_IDS.perpetuals, {
      filters: [{ memcmp: { offset: 0, bytes: bs58.encode(accountDiscriminator("Position")) } }, { memcmp: { offset: 8, bytes: wallet.publicKey.toBase58() } }],
    });
    assert.deepEqual(positions.map((p) => p.pubkey.toBase58()), [req.position.toBase58()]);

    // The remote: only read methods, and its state is what it was.
    assert.deepEqual([...new Set(seen.methods)].sort(), ["getMultipleAccounts", "getProgramAccounts"]);
    for (const [k, before] of remoteBefore) assert.ok(same(remote.chain.getAccount(new PublicKey(k)), before), `remote account ${k} unchanged`);
    assert.equal(remote.chain.getAccount(wallet.publicKey), null);
    assert.equal(remote.chain.getAccount(req.position), null);
    assert.equal(remote.chain.history.size, 0, "the remote ran no transaction");
    assert.ok(readdirSync(cacheDir).includes(`${MAINNET.pool.toBase58()}.json`), "fetched accounts are on disk");
  });

  it("getProgramAccounts merges the remote's accounts with local ones, and an account deleted on the fork stays deleted", async () => {
    // A Position of someone else, on the remote only (written in-process: the fork has never seen it).
    const other = Keypair.generate().publicKey;
    const address = Keypair.generate().publicKey;
    const data = Buffer.alloc(216);
    accountDiscriminator("Position").copy(data, 0);
    other.toBuffer().copy(data, 8);
    remote.chain.setAccount(address, { owner: PROGRAM_IDS.perpetuals, data, lamports: 2_394_240 });
    const filters = [{ memcmp: { offset: 0, bytes: bs58.encode(accountDiscriminator("Position")) } }, { memcmp: { offset: 8, bytes: other.toBase58() } }];
    const connection = new Connection(fork!.url, "confirmed");
    assert.deepEqual((await connection.getProgramAccounts(PROGRAM_IDS.perpetuals, { filters })).map((p) => p.pubkey.toBase58()), [address.toBase58()]);
    // Emptied on the fork (lamports 0 is no account): gone from every read, though the remote still has it.
    assert.equal((await rpc(fork!.url, "surfnet_setAccount", [address.toBase58(), { lamports: 0, data: "", owner: "11111111111111111111111111111111" }])).error, undefined);
    assert.equal(await connection.getAccountInfo(address), null);
    assert.deepEqual(await connection.getProgramAccounts(PROGRAM_IDS.perpetuals, { filters }), []);
    assert.ok(remote.chain.getAccount(address), "the remote keeps it");
    remoteBefore.set(address.toBase58(), remote.chain.getAccount(address));
  });

  it("a restart with the same --fork-cache reads no cached account from the remote, and runs the cached program", async () => {
    await fork!.close();
    fork = undefined;
    const cached = new Set(readdirSync(cacheDir).map((f) => f.replace(/\.json$/, "")));
    assert.ok(cached.has(PROGRAM_IDS.perpetuals.toBase58()) && cached.has(PERPS_PROGRAM_DATA.toBase58()));
    seen.keys.length = 0;
    fork = await startFork();
    assert.equal(fork.fork!.stats.fromCache, cached.size);
    const wallet = await fundedWallet(fork);
    await openShort(fork, wallet, 7n);
    const refetched = seen.keys.filter((k) => cached.has(k));
    assert.deepEqual(refetched, [], "no cached account was asked of the remote");

    // A miss is remembered: an account the remote lacks is asked for once, not on every read.
    const nobody = Keypair.generate().publicKey;
    const before = seen.keys.length;
    for (let i = 0; i < 3; i++) assert.equal(await new Connection(fork.url).getAccountInfo(nobody), null);
    assert.equal(seen.keys.length - before, 1);
  });

  it("fetches the accounts a v0 transaction loads from an address lookup table before it runs", async () => {
    const recipient = Keypair.generate().publicKey;
    remote.chain.airdrop(recipient, 5_000_000_000n);
    // An active lookup table (deactivation slot u64::MAX, no authority) holding the recipient, on the remote only.
    const table = Keypair.generate().publicKey;
    const data = Buffer.alloc(56 + 32);
    data.writeUInt32LE(1, 0);
    data.writeBigUInt64LE(2n ** 64n - 1n, 4);
    recipient.toBuffer().copy(data, 56);
    remote.chain.setAccount(table, { owner: AddressLookupTableProgram.programId, data, lamports: 10_000_000 });
    const connection = new Connection(fork!.url, "confirmed");
    const wallet = await fundedKeypair(connection, 2);
    const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash();
    const lookup = new AddressLookupTableAccount({ key: table, state: AddressLookupTableAccount.deserialize(data) });
    const message = new TransactionMessage({
      payerKey: wallet.publicKey,
      recentBlockhash: blockhash,
      instructions: [SystemProgram.transfer({ fromPubkey: wallet.publicKey, toPubkey: recipient, lamports: 1_000_000_000 })],
    }).compileToV0Message([lookup]);
    assert.ok(!message.staticAccountKeys.some((k) => k.equals(recipient)), "the recipient comes from the table only");
    const tx = new VersionedTransaction(message);
    tx.sign([wallet]);
    const signature = await connection.sendTransaction(tx);
    assert.equal((await connection.confirmTransaction({ signature, blockhash, lastValidBlockHeight })).value.err, null);
    assert.equal(await connection.getBalance(recipient), 6_000_000_000, "the remote's 5 SOL were fetched before the transfer added 1");
    assert.equal(remote.chain.getAccount(recipient)!.lamports, 5_000_000_000, "the remote's copy is untouched");
    // Bytes that are no transaction get the method's own refusal, not a fork error.
    const garbage = await rpc(fork!.url, "sendTransaction", [Buffer.from("not a transaction").toString("base64"), { encoding: "base64" }]);
    assert.equal(garbage.error?.code, -32602, JSON.stringify(garbage.error));
  });

  it("batches reads in calls of at most 100 keys, and a failing remote is a clear error after its retries", async () => {
    const keys = Array.from({ length: 150 }, () => Keypair.generate().publicKey);
    seen.batches.length = 0;
    const r = await rpc<{ value: unknown[] }>(fork!.url, "getMultipleAccounts", [keys.map((k) => k.toBase58()), { encoding: "base64" }]);
    assert.equal(r.result?.value.length, 150);
    assert.deepEqual([...seen.batches].sort((a, b) => a - b), [50, 100]);

    // A JSON-RPC batch: fetched together, answered in order, each with its own id.
    const lamportsOf = Keypair.generate().publicKey;
    remote.chain.airdrop(lamportsOf, 1_000_000_042n);
    const batch = await fetch(fork!.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        { jsonrpc: "2.0", id: 1, method: "getBalance", params: [lamportsOf.toBase58()] },
        { jsonrpc: "2.0", id: 2, method: "getAccountInfo", params: [keys[1]!.toBase58(), { encoding: "base64" }] },
      ]),
    }).then((r) => r.json() as Promise<{ id: number; result: { value: unknown } }[]>);
    assert.deepEqual(batch.map((r) => [r.id, r.result.value]), [[1, 1_000_000_042], [2, null]]);

    assert.equal((await rpc(remote.url, "localnet_setFaults", [{ failRate: 1, failStatus: 503 }])).error, undefined);
    try {
      const unknown = Keypair.generate().publicKey;
      const failed = await rpc(fork!.url, "getBalance", [unknown.toBase58()]);
      assert.equal(failed.error?.code, -32005);
      assert.match(failed.error!.message, new RegExp(`account ${unknown.toBase58()} is not in the fork's cache .*failed after 2 attempts: HTTP 503`));
      // Accounts the fork holds, and ones the remote said it lacks, are still answered.
      assert.ok((await rpc<{ value: unknown }>(fork!.url, "getAccountInfo", [MAINNET.pool.toBase58(), { encoding: "base64" }])).result?.value);
      assert.equal((await rpc<{ value: unknown }>(fork!.url, "getAccountInfo", [keys[0]!.toBase58(), { encoding: "base64" }])).result?.value, null);
    } finally {
      await rpc(remote.url, "localnet_setFaults", [{}]);
    }
  });

  it("--stand-in keeps the project's program; the Clock starts at the remote's; --fork-refresh-sec follows the remote's oracles", async () => {
    remote.chain.timeTravel({ unixMs: Date.now() + 86_400_000 });
    seen.keys.length = 0;
    const extra = await startLocalWorld({ port: 0, slotMs: 100, fillKeeper: false, fork: { url: remote.url, standIn: true, refreshSec: 0.2 } });
    try {
      const skew = Number(extra.chain.nowSec() - remote.chain.nowSec());
      assert.ok(Math.abs(skew) <= 2, `the fork's clock is the remote's (a day ahead of wall time), skew ${skew} s`);
      const connection = new Connection(extra.url, "confirmed");
      assert.ok((await connection.getAccountInfo(PROGRAM_IDS.perpetuals))?.executable);
      assert.ok(!seen.keys.includes(PROGRAM_IDS.perpetuals.toBase58()) && !seen.keys.includes(PERPS_PROGRAM_DATA.toBase58()), "the program was never fetched");

      const before = (await connection.getAccountInfo(SOL.pythPriceUpdate))!.data;
      setOraclePrices(remote.chain, { SOL: 123 });
      const moved = remote.chain.getAccount(SOL.pythPriceUpdate)!.data;
      assert.ok(!moved.equals(before));
      await until("the fork to re-fetch the remote's new SOL price", 5_000, async () => (await connection.getAccountInfo(SOL.pythPriceUpdate))!.data.equals(moved));
    } finally {
      await extra.close();
    }
  });

  it("the localnet command forks with --fork, never printing the URL's path, and refuses fork flags without --fork", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fork-cli-"));
    try {
      const out: string[] = [];
      const err: string[] = [];
      const url = `${remote.url}/v2/${SECRET}`;
      const code = await main(["localnet", "--port", "0", "--no-fill-keeper", "--fork", url, "--stand-in", "--fork-cache", dir], (l) => out.push(l), (l) => err.push(l), () => Promise.resolve());
      assert.equal(code, 0, err.join("\n"));
      const text = out.join("\n");
      assert.match(text, new RegExp(`fork of +http://${new URL(remote.url).host}/\\*\\*\\*`));
      assert.match(text, /oracles +frozen as first fetched/);
      assert.match(text, /stand-in Jupiter Perpetuals/);
      assert.ok(!text.includes(SECRET));
      const orphan: string[] = [];
      assert.equal(await main(["localnet", "--port", "0", "--stand-in"], () => {}, (l) => orphan.push(l), () => Promise.resolve()), 2);
      assert.match(orphan.join("\n"), /--stand-in applies to a fork only; add --fork URL/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with the remote gone, cached accounts still serve and an account never fetched is a clear error without the API key", async () => {
    const remoteLabel = new URL(remote.url).host;
    await remote.close();
    const connection = new Connection(fork!.url, "confirmed");
    const pool = await connection.getAccountInfo(MAINNET.pool);
    assert.ok(pool && decodeAccount("Pool", pool.data, pool.owner).ok, "the cached pool still reads");
    const unknown = Keypair.generate().publicKey;
    const r = await rpc(fork!.url, "getAccountInfo", [unknown.toBase58(), { encoding: "base64" }]);
    assert.equal(r.error?.code, -32005);
    assert.match(r.error!.message, new RegExp(`account ${unknown.toBase58()} is not in the fork's cache`));
    assert.ok(r.error!.message.includes(`http://${remoteLabel}/***`), r.error!.message);
    assert.ok(!r.error!.message.includes(SECRET), "the API key is never printed");

    // A restart while the remote is down serves from the cache alone, and says so.
    await fork!.close();
    fork = undefined;
    const errors: string[] = [];
    fork = await startLocalWorld({ port: 0, fillKeeper: false, fork: { url: `${remote.url}/v2/${SECRET}`, cacheDir, retries: 0, onError: (e) => errors.push(e.message) } });
    assert.ok(fork.fork!.stats.fromCache > 0);
    assert.ok(await new Connection(fork.url).getAccountInfo(MAINNET.pool));
    assert.match(errors.join("\n"), /cannot read the Clock of http:\/\/127\.0\.0\.1:\d+\/\*\*\*: .*serving the \d+ cached accounts/);

    // Without a cache there is nothing to serve: the command fails with one line, exit 1, no stack.
    const err: string[] = [];
    const code = await main(["localnet", "--port", "0", "--fork", `${remote.url}/v2/${SECRET}`], () => {}, (l) => err.push(l), () => Promise.resolve());
    assert.equal(code, 1);
    assert.equal(err.length, 1, err.join("\n"));
    assert.match(err[0]!, /^gamma-keeper: fork: cannot read the Clock of http:\/\/127\.0\.0\.1:\d+\/\*\*\*: .*start from a --fork-cache directory$/);
    assert.ok(!err[0]!.includes(SECRET));
  });
});

describe("the keeper on a fork of a localnet", function () {
  this.timeout(120_000);
  let remote: LocalWorld;
  let seen: ReturnType<typeof recordRemote>;
  // The remote keeps its oracles fresh; the fork re-fetches USDC's and the demo's scenario drives SOL's.
  before(async () => {
    remote = await startLocalWorld({ port: 0, slotMs: 100, fillKeeper: false });
    seen = recordRemote(remote);
  });
  after(async () => remote?.close());
  const localnet = keeperOnLocalnet("gk-fork-keeper-");

  it("hedges into the band: its requests fill on the fork with the remote's program, and the remote receives only reads", async () => {
    const { demo, rec } = await localnet.start({ fork: { url: remote.url, refreshSec: 1 } }, hundredSolMandate);
    await until("the first fill", 30_000, () => rec.outcomes("filled").length >= 1);
    const first = rec.intents()[0] as Extract<KeeperEvent, { kind: "request" }>;
    assert.match(first.detail, /^increase short/);
    assert.ok(demo.world.fork!.stats.fetched > 0);
    assert.ok(demo.world.chain.getAccount(PERPS_PROGRAM_DATA), "the program came from the remote with its ProgramData");
    assert.deepEqual([...new Set(seen.methods)].sort(), ["getMultipleAccounts", "getProgramAccounts"]);
    assert.equal(remote.chain.history.size, 0, "the remote ran no transaction");
    assert.equal(remote.chain.getAccount(demo.wallet.publicKey), null);
  });
});

describe("the fork's remote client: batches, concurrency, timeouts, retries", () => {
  let server: Server;
  let url = "";
  let inFlight = 0;
  let maxInFlight = 0;
  const calls: { method: string; keys: number }[] = [];
  let answerAfterMs = 30;
  before(async () => {
    // Answers getMultipleAccounts as Agave does (every key absent), after a delay, counting calls in flight.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { id: number; method: string; params: [string[]] };
        calls.push({ method: body.method, keys: body.params[0].length });
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ jsonrpc: "2.0", id: body.id, result: { context: { slot: 1 }, value: body.params[0].map(() => null) } }));
        }, answerAfterMs);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/${SECRET}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("splits 450 keys into calls of at most 100 with at most `concurrency` in flight", async () => {
    calls.length = 0;
    maxInFlight = 0;
    const keys = Array.from({ length: 450 }, () => Keypair.generate().publicKey);
    const got = await new RemoteCluster(url, { concurrency: 2 }).getAccounts(keys);
    assert.equal(got.length, 450);
    assert.ok(got.every((a) => a === null));
    assert.deepEqual(calls.map((c) => c.keys).sort((a, b) => a - b), [50, 100, 100, 100, 100]);
    assert.ok(calls.every((c) => c.method === "getMultipleAccounts"));
    assert.equal(maxInFlight, 2);
  });

  it("gives up after the timeout and its retries, naming the remote without its path", async () => {
    calls.length = 0;
    answerAfterMs = 1_000;
    try {
      const remote = new RemoteCluster(url, { timeoutMs: 100, retries: 2 });
      await assert.rejects(remote.getAccounts([Keypair.generate().publicKey]), (e: unknown) => {
        assert.ok(e instanceof RemoteUnavailable);
        assert.match(e.message, /^getMultipleAccounts to http:\/\/127\.0\.0\.1:\d+\/\*\*\* failed after 3 attempts: no answer within 100 ms$/);
        assert.ok(!e.message.includes(SECRET));
        return true;
      });
      assert.equal(calls.length, 3);
    } finally {
      answerAfterMs = 30;
    }
  });
});
