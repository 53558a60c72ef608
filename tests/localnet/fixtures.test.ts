import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CUSTODY_SYMBOLS, MAINNET, decodeAccount, oracleFromAgPriceFeed, oracleFromPriceUpdate, priceUsd6 } from "../../programs-client";
import { fromAccountJson } from "../../localnet/fixtures/account-json";
import { FIXTURES_DIR, writeFixtures } from "../../localnet/fixtures/generate";
import { loadWorld } from "../../localnet/fixtures/load";
import { PriceDriver, PricePath, parseCsvPrices } from "../../localnet/fixtures/price-driver";
import { LocalChain } from "../../localnet/validator/chain";

describe("localnet fixtures", () => {
  it("the committed files are what the generator writes (deterministic)", () => {
    const dir = mkdtempSync(join(tmpdir(), "fixtures-"));
    try {
      const files = writeFixtures(dir);
      assert.deepEqual(files.slice().sort(), readdirSync(FIXTURES_DIR).sort());
      for (const f of files) assert.equal(readFileSync(join(dir, f), "utf8"), readFileSync(join(FIXTURES_DIR, f), "utf8"), `${f} differs: run npm run fixtures`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Anchor.toml lists every fixture at its address", () => {
    const toml = readFileSync(join(__dirname, "../../Anchor.toml"), "utf8");
    for (const f of readdirSync(FIXTURES_DIR)) {
      const { address } = fromAccountJson(readFileSync(join(FIXTURES_DIR, f), "utf8"), f);
      assert.ok(toml.includes(`address = "${address.toBase58()}"\nfilename = "localnet/fixtures/accounts/${f}"`), `${f} missing from Anchor.toml`);
    }
  });

  it("the files keep u64::MAX rent epochs exact, as solana account --output json writes them", () => {
    assert.match(readFileSync(join(FIXTURES_DIR, "pool.json"), "utf8"), /"rentEpoch": 18446744073709551615/);
  });

  it("load into the chain with oracles restamped at the chain's time, and decode with the keeper's decoders", () => {
    const chain = new LocalChain();
    loadWorld(chain, { SOL: 123.45 });
    const now = chain.nowSec();
    for (const s of CUSTODY_SYMBOLS) {
      const addr = MAINNET.custodies[s];
      const custody = chain.getAccount(addr.custody)!;
      const c = decodeAccount("Custody", custody.data, custody.owner);
      assert.ok(c.ok && c.value.oracle.oracleAccount.equals(addr.pythPriceUpdate) && c.value.dovesAgOracle.equals(addr.dovesAg), s);
      assert.equal(c.ok && c.value.increasePositionBps, 6n);
      const pyth = decodeAccount("PriceUpdateV2", chain.getAccount(addr.pythPriceUpdate)!.data);
      const doves = decodeAccount("AgPriceFeed", chain.getAccount(addr.dovesAg)!.data);
      assert.ok(pyth.ok && doves.ok);
      assert.equal(pyth.value.priceMessage.publishTime, now);
      assert.equal(doves.value.timestamp, now);
      if (s === "SOL") {
        assert.equal(priceUsd6(oracleFromAgPriceFeed(doves.value)), 123_450_000n);
        const p = oracleFromPriceUpdate(pyth.value, { feedIdHex: addr.pythFeedIdHex });
        assert.ok(p.ok && priceUsd6(p.value) === 123_450_000n);
      }
    }
  });
});

describe("price driver", () => {
  it("GBM paths are reproducible from the seed and differ between seeds", () => {
    const a = new PricePath({ kind: "gbm", startUsd: 100, volAnnual: 0.8, seed: 7 });
    const b = new PricePath({ kind: "gbm", startUsd: 100, volAnnual: 0.8, seed: 7 });
    const c = new PricePath({ kind: "gbm", startUsd: 100, volAnnual: 0.8, seed: 8 });
    const at = [0, 1, 10, 3600, 86_400];
    assert.deepEqual(at.map((t) => a.priceAt(t)), at.map((t) => b.priceAt(t)));
    assert.notEqual(a.priceAt(3600), c.priceAt(3600));
    assert.equal(a.priceAt(0), 100);
  });

  it("GBM log-returns over a day have the scenario's volatility (within sampling error)", () => {
    const path = new PricePath({ kind: "gbm", startUsd: 100, volAnnual: 0.8, seed: 3, stepSec: 60 });
    const r: number[] = [];
    for (let i = 1; i <= 20_000; i++) r.push(Math.log(path.priceAt(i * 60) / path.priceAt((i - 1) * 60)));
    const mean = r.reduce((s, x) => s + x, 0) / r.length;
    const sd = Math.sqrt(r.reduce((s, x) => s + (x - mean) ** 2, 0) / (r.length - 1));
    const annual = sd * Math.sqrt((365 * 24 * 3600) / 60);
    assert.ok(Math.abs(annual - 0.8) < 0.8 * 0.02, `annualised vol ${annual}`);
  });

  it("a jump happens at its time; a CSV replays step by step from its first row", () => {
    const jump = new PricePath({ kind: "jump", startUsd: 100, atSec: 30, jumpPct: -10 });
    assert.equal(jump.priceAt(29.9), 100);
    assert.ok(Math.abs(jump.priceAt(30) - 90) < 1e-9);
    const points = parseCsvPrices("timestamp,price\n1700000000,150\n1700000060,151.5\n1700000120,149\n", "prices.csv");
    const csv = new PricePath({ kind: "csv", points });
    assert.deepEqual([csv.priceAt(0), csv.priceAt(59), csv.priceAt(60), csv.priceAt(1000)], [150, 150, 151.5, 149]);
    assert.throws(() => parseCsvPrices("1700000000,abc\n", "bad.csv"), /bad\.csv:1: expected "timestamp,price"/);
    assert.throws(() => new PricePath({ kind: "constant", priceUsd: -1 }), /priceUsd must be a positive number/);
  });

  it("moves Pyth and Doves together at the chosen speed", () => {
    const chain = new LocalChain();
    loadWorld(chain);
    let now = 1_000_000;
    const driver = new PriceDriver(chain, { SOL: { kind: "jump", startUsd: 150, atSec: 60, jumpPct: 10 } }, { speed: 10, nowMs: () => now });
    assert.equal(driver.tick().SOL, 150);
    now += 6_000; // 6 wall seconds at x10 = 60 scenario seconds
    assert.ok(Math.abs(driver.tick().SOL! - 165) < 1e-9);
    const doves = decodeAccount("AgPriceFeed", chain.getAccount(MAINNET.custodies.SOL.dovesAg)!.data);
    const pyth = decodeAccount("PriceUpdateV2", chain.getAccount(MAINNET.custodies.SOL.pythPriceUpdate)!.data);
    assert.ok(doves.ok && pyth.ok);
    assert.equal(doves.value.price, 16_500_000_000n);
    assert.equal(pyth.value.priceMessage.price, 16_500_000_000n);
  });
});
