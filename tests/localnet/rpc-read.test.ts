import { strict as assert } from "node:assert";
import { Connection, Keypair, PublicKey } from "@solana/web3.js";
import { MAINNET, PROGRAM_IDS, positionPda } from "../../programs-client";
import { ConnectionAccountSource, type RawAccount } from "../../keeper/market/account-source";
import { readMarketSnapshot } from "../../keeper/market/reader";
import { main } from "../../keeper/cli/main";
import { startLocalnet } from "../../localnet/validator/server";
import { makeAgPriceFeed, makeCustody, makePool, makePosition, makePriceUpdate, raw } from "../helpers/synthetic";

const { SOL, USDC } = MAINNET.custodies;

async function rpc(url: string, method: string, params: unknown[]) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
}

/** Write an account the way a test or fixture loader does: over RPC, with surfpool's cheatcode. */
async function setAccount(url: string, address: PublicKey, a: RawAccount) {
  const r = await rpc(url, "surfnet_setAccount", [address.toBase58(), { lamports: a.lamports, data: a.data.toString("hex"), owner: a.owner.toBase58() }]);
  assert.equal(r.error, undefined, JSON.stringify(r.error));
}

describe("localnet validator: read RPC over real HTTP with a web3.js Connection", function () {
  let net: Awaited<ReturnType<typeof startLocalnet>>;
  let connection: Connection;
  const owner = Keypair.generate().publicKey;

  before(async () => {
    net = await startLocalnet({ port: 0, slotMs: 50 });
    connection = new Connection(net.url, "confirmed");
    const now = Date.now() / 1000;
    await setAccount(net.url, MAINNET.pool, raw("Pool", makePool(), 2000));
    await setAccount(net.url, SOL.custody, raw("Custody", makeCustody(SOL), 2000));
    await setAccount(net.url, SOL.pythPriceUpdate, raw("PriceUpdateV2", makePriceUpdate(15_010_000_000n, 15_010_000n, -8, BigInt(Math.floor(now)), SOL.pythFeedIdHex), 134));
    await setAccount(net.url, SOL.dovesAg, raw("AgPriceFeed", makeAgPriceFeed(SOL, 15_000_000_000n, -8, BigInt(Math.floor(now))), 394));
    const short = makePosition(owner, SOL, "short", 3_000_000_000n, 160_000_000n, 300_000_000n);
    await setAccount(net.url, positionPda(owner, MAINNET.pool, SOL.custody, USDC.custody, "short"), raw("Position", short));
    await setAccount(net.url, Keypair.generate().publicKey, raw("Position", makePosition(Keypair.generate().publicKey, SOL, "long", 1n, 1n, 1n)));
  });
  after(async () => net.close());

  it("serves slots that advance, and the Clock follows wall time", async () => {
    const first = await connection.getSlot();
    await new Promise((r) => setTimeout(r, 120));
    assert.ok((await connection.getSlot()) > first);
    const nowSec = BigInt(Math.floor(Date.now() / 1000));
    assert.ok(net.chain.nowSec() - nowSec <= 1n && nowSec - net.chain.nowSec() <= 1n);
    // The Clock is set at each slot, so it trails wall time by at most one slot (50 ms here).
    const lag = net.chain.nowSec() - net.chain.svm.getClock().unixTimestamp;
    assert.ok(lag >= 0n && lag <= 1n, `Clock lags wall time by ${lag} s`);
  });

  it("getAccountInfo, getMultipleAccountsInfo (with a missing account) and getProgramAccounts filters", async () => {
    const info = await connection.getAccountInfo(SOL.custody);
    assert.ok(info && info.owner.equals(PROGRAM_IDS.perpetuals) && info.data.length === 2000);
    const many = await connection.getMultipleAccountsInfo([SOL.custody, Keypair.generate().publicKey]);
    assert.ok(many[0] && many[1] === null);
    const positions = await connection.getProgramAccounts(PROGRAM_IDS.perpetuals, { filters: [{ dataSize: 210 }] });
    assert.equal(positions.length, 2);
    const mine = await connection.getProgramAccounts(PROGRAM_IDS.perpetuals, { filters: [{ dataSize: 210 }, { memcmp: { offset: 8, bytes: owner.toBase58() } }] });
    assert.equal(mine.length, 1);
  });

  it("the market reader reads the same snapshot over RPC", async () => {
    const snap = await readMarketSnapshot(new ConnectionAccountSource(connection), { owner, markets: ["SOL"], nowSec: BigInt(Math.floor(Date.now() / 1000)) });
    const sol = snap.markets[0]!;
    assert.ok(sol.custody.ok && sol.pyth.ok && sol.doves.ok, snap.issues.join("; "));
    assert.equal(sol.markPriceUsd6, 150_000_000n);
    const open = snap.positions.filter((p) => p.open);
    assert.equal(open.length, 1);
    assert.equal(open[0]!.deltaBase, -18_750_000_000n); // $3000 short at $160 = -18.75 SOL
    assert.equal(open[0]!.unrealisedPnlUsd6, 187_500_000n); // price fell to $150: +$187.5
  });

  it("gamma-keeper positions and inspect <ADDRESS> run against it", async () => {
    const out: string[] = [];
    const err: string[] = [];
    assert.equal(await main(["positions", "--owner", owner.toBase58(), "--rpc", net.url], (s) => out.push(s), (s) => err.push(s)), 0, err.join("\n"));
    assert.match(out.join("\n"), /SOL\s+short\s+3000\s+160\s+300\s+10x\s+-18\.75\s+187\.5/);
    out.length = 0;
    assert.equal(await main(["inspect", SOL.custody.toBase58(), "--rpc", net.url], (s) => out.push(s), (s) => err.push(s)), 0, err.join("\n"));
    assert.equal(JSON.parse(out.join("\n")).kind, "Custody");
    assert.equal(await main(["inspect", Keypair.generate().publicKey.toBase58(), "--rpc", net.url], () => {}, (s) => err.push(s)), 2);
    assert.match(err.at(-1)!, /does not exist/);
  });

  it("answers unknown methods and bad params with JSON-RPC errors; minContextSlot is honoured", async () => {
    assert.equal((await rpc(net.url, "noSuchMethod", [])).error?.code, -32601);
    assert.equal((await rpc(net.url, "getAccountInfo", ["not a key"])).error?.code, -32602);
    assert.equal((await rpc(net.url, "getAccountInfo", [SOL.custody.toBase58(), { minContextSlot: 2 ** 50 }])).error?.code, -32016);
  });

  it("surfnet_timeTravel moves the Clock", async () => {
    const target = Date.now() + 3_600_000;
    const r = (await rpc(net.url, "surfnet_timeTravel", [{ absoluteTimestamp: target }])).result as { unixTimestamp: number };
    assert.ok(Math.abs(r.unixTimestamp - target / 1000) <= 1);
    assert.equal(net.chain.svm.getClock().unixTimestamp, BigInt(r.unixTimestamp));
    assert.equal((await rpc(net.url, "surfnet_timeTravel", [{ absoluteSlot: 1 }])).error?.code, -32602);
  });
});
