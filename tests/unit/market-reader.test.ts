import { strict as assert } from "node:assert";
import { Keypair } from "@solana/web3.js";
import { MAINNET, POSITION_ACCOUNT_SIZE, POSITION_REQUEST_ACCOUNT_SIZE, PROGRAM_IDS, accountDiscriminator, positionPda } from "../../programs-client";
import { MemoryAccountSource } from "../../keeper/market/account-source";
import { readMarketSnapshot } from "../../keeper/market/reader";
import { formatPositionsTable } from "../../keeper/cli/positions";
import { DUMPS, loadDump, referenceAvailable } from "../helpers/reference";
import { blank, makeAgPriceFeed, makeCustody, makePool, makePosition, makePriceUpdate, raw } from "../helpers/synthetic";

const { SOL, ETH, USDC } = MAINNET.custodies;
const NOW = 1_777_275_330n;
const owner = Keypair.generate().publicKey;

/** SOL fully priced, ETH custody without oracles, BTC absent: a world with something wrong in it. */
function world(): MemoryAccountSource {
  const src = new MemoryAccountSource(415_957_237);
  src.set(MAINNET.pool, raw("Pool", makePool(), 2000));
  src.set(SOL.custody, raw("Custody", makeCustody(SOL), 2000));
  src.set(ETH.custody, raw("Custody", makeCustody(ETH), 2000));
  src.set(SOL.pythPriceUpdate, raw("PriceUpdateV2", makePriceUpdate(15_010_000_000n, 15_010_000n, -8, NOW - 4n, SOL.pythFeedIdHex), 134));
  src.set(SOL.dovesAg, raw("AgPriceFeed", makeAgPriceFeed(SOL, 15_000_000_000n, -8, NOW - 10n), 394));
  const short = makePosition(owner, SOL, "short", 3_000_000_000n, 150_000_000n, 300_000_000n); // -20 SOL
  // Allocated as on mainnet (216 bytes, 6 of zero padding after the fields): a size filter of 210 once hid them.
  src.set(positionPda(owner, MAINNET.pool, SOL.custody, USDC.custody, "short"), raw("Position", short, POSITION_ACCOUNT_SIZE));
  const long = makePosition(owner, SOL, "long", 0n, 140_000_000n, 0n); // closed: kept with size 0
  src.set(positionPda(owner, MAINNET.pool, SOL.custody, SOL.custody, "long"), raw("Position", long, POSITION_ACCOUNT_SIZE));
  const someoneElse = makePosition(Keypair.generate().publicKey, SOL, "long", 1n, 1n, 1n);
  src.set(Keypair.generate().publicKey, raw("Position", someoneElse));
  const garbage = Buffer.concat([accountDiscriminator("Position"), owner.toBuffer(), Buffer.alloc(210 - 40, 0xff)]);
  src.set(Keypair.generate().publicKey, { owner: PROGRAM_IDS.perpetuals, data: garbage, lamports: 1 });
  const request = { ...blank("PositionRequest"), owner, custody: SOL.custody, requestChange: "increase" as const, side: "short" as const, counter: 7n, sizeUsdDelta: 1_000_000n, priceSlippage: 140_000_000n };
  src.set(Keypair.generate().publicKey, raw("PositionRequest", request, POSITION_REQUEST_ACCOUNT_SIZE));
  return src;
}

describe("market reader (through the account-source interface)", () => {
  it("reads prices, positions and requests of one owner into a snapshot", async () => {
    const snap = await readMarketSnapshot(world(), { owner, markets: ["SOL", "ETH", "BTC"], nowSec: NOW });
    assert.equal(snap.slot, 415_957_237);
    assert.ok(snap.pool.ok && snap.pool.value.maxRequestExecutionSec === 45n);

    const sol = snap.markets.find((m) => m.symbol === "SOL")!;
    assert.ok(sol.custody.ok && sol.custody.value.increasePositionBps === 6n);
    assert.ok(sol.pyth.ok && sol.doves.ok);
    assert.equal(sol.pyth.value.priceUsd6, 150_100_000n);
    assert.equal(sol.pyth.value.ageSec, 4n);
    assert.equal(sol.pyth.value.confBps, 10n);
    assert.equal(sol.doves.value.ageSec, 10n);
    assert.equal(sol.doves.value.confBps, null);
    assert.equal(sol.markPriceUsd6, 150_000_000n, "marks to Doves, as Jupiter does");

    const open = snap.positions.filter((p) => p.open);
    assert.equal(snap.positions.length, 2, "other owners' positions are not read; the garbage one is an issue");
    assert.equal(open.length, 1);
    const short = open[0]!;
    assert.equal(short.market, "SOL");
    assert.equal(short.deltaBase, -20_000_000_000n);
    assert.equal(short.decimals, 9);
    assert.equal(short.leverageBps, 100_000n);
    assert.equal(short.unrealisedPnlUsd6, 0n);

    assert.equal(snap.requests.length, 1);
    assert.equal(snap.requests[0]!.market, "SOL");
    assert.equal(snap.requests[0]!.request.counter, 7n);

    const eth = snap.markets.find((m) => m.symbol === "ETH")!;
    assert.ok(eth.custody.ok && !eth.pyth.ok && !eth.doves.ok);
    assert.equal(eth.markPriceUsd6, null);
    const btc = snap.markets.find((m) => m.symbol === "BTC")!;
    assert.ok(!btc.custody.ok);
    for (const fragment of ["ETH pyth", "ETH doves", "BTC custody", "position "]) {
      assert.ok(snap.issues.some((i) => i.includes(fragment)), `an issue mentions "${fragment}": ${snap.issues.join(" | ")}`);
    }

    const table = formatPositionsTable(snap);
    assert.match(table, /SOL\s+short\s+3000\s+150\s+300\s+10x\s+-20\s+0/);
    assert.match(table, /1 open position\(s\)/);
    assert.match(table, /1 open position request\(s\)/);
  });

  it("flags a custody whose oracle disagrees with the address table", async () => {
    const src = world();
    src.set(SOL.custody, raw("Custody", makeCustody(SOL, { dovesAgOracle: ETH.dovesAg }), 2000));
    const snap = await readMarketSnapshot(src, { owner, markets: ["SOL"], nowSec: NOW });
    assert.ok(snap.issues.some((i) => i.startsWith("SOL: custody names Doves feed")));
  });

  it("reads the real mainnet pool, SOL custody and oracles when ../shared is there", async function () {
    if (!referenceAvailable()) this.skip();
    const src = new MemoryAccountSource(415_957_237);
    for (const rel of [DUMPS.pool, DUMPS.solCustody, DUMPS.solAgPriceFeed, DUMPS.solPythPriceUpdate]) {
      const d = loadDump(rel);
      src.set(d.pubkey, { owner: d.owner, data: d.data, lamports: d.lamports });
    }
    const snap = await readMarketSnapshot(src, { owner, markets: ["SOL"], nowSec: 1_777_275_330n });
    const sol = snap.markets[0]!;
    assert.ok(sol.doves.ok && sol.pyth.ok && sol.custody.ok);
    assert.equal(sol.doves.value.priceUsd6, 85_400_796n);
    assert.equal(sol.doves.value.ageSec, 10n);
    assert.equal(snap.issues.length, 0, snap.issues.join("; "));
  });
});
