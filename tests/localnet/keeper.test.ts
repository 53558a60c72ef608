import { strict as assert } from "node:assert";
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Keypair, type PublicKey } from "@solana/web3.js";
import { MAINNET, PROGRAM_IDS, associatedTokenAddress, decodeAccount, decodeMint, decodeOracleAccount, priceUsd6 } from "../../programs-client";
import { jlpExposure } from "../../keeper/exposure/jlp";
import { setTokenBalance } from "../../localnet/fixtures/load";
import type { KeeperEvent } from "../../keeper/mandate/events";
import type { Keeper } from "../../keeper/app/keeper";
import { startLocalDemo, type LocalDemo, type LocalDemoOptions } from "../../keeper/app/local-demo";
import type { KeeperConfig } from "../../keeper/app/config";
import { sleep, spawnCli, until } from "../helpers/wait";
import { assertShortInBand, converged, hundredSolMandate, keeperOnLocalnet, openRequestsOnChain, settle } from "../helpers/keeper";


describe("keeper on localnet", function () {
  this.timeout(120_000);
  const localnet = keeperOnLocalnet("gk-keeper-");
  const start = (opts: Partial<LocalDemoOptions> = {}, configure: (c: KeeperConfig) => KeeperConfig = hundredSolMandate, prepare?: (d: LocalDemo) => void) =>
    localnet.start(opts, configure, { prepare });

  it("from flat with +100 SOL of exposure, shorts into the band, then trades only on band breaches", async () => {
    const { demo: d, keeper: k, rec } = await start();
    await until("the first fill", 20_000, () => rec.outcomes("filled").length >= 1);
    const first = rec.intents()[0] as Extract<KeeperEvent, { kind: "request" }>;
    assert.match(first.detail, /^increase short/);
    await sleep(12_000);
    const last = await settle(d, k, rec);
    assertShortInBand(last, rec);
    assert.ok(rec.outcomes("filled").length >= 2, `trades as the price moves (${rec.outcomes("filled").length} fills)`);
  });

  it("with the fill emulator rejecting, delaying past expiry and pausing: one request at a time, converging once fills resume", async () => {
    const { demo: d, keeper: k, rec } = await start({ fillKeeper: { rejectRate: 1, seed: 3 } });
    const fills = d.world.fills!;
    await until("a rejection", 20_000, () => rec.outcomes("rejected").length >= 2);
    fills.setKnobs({ rejectRate: 0, delayPastExpiry: true });
    await until("a request left waiting on chain while fills wait past expiry", 20_000, async () => rec.open.size === 1 && (await openRequestsOnChain(d)) === 1);
    await sleep(1_500);
    assert.equal(await openRequestsOnChain(d), 1, "the fill keeper holds the request until it expires");
    d.world.chain.timeTravel({ unixMs: Number(d.world.chain.nowSec()) * 1000 + 60_000 });
    const closedBefore = rec.outcomes().length;
    await until("the expired request to be closed and reconciled", 20_000, () => rec.outcomes().length > closedBefore);
    assert.equal(rec.outcomes().at(-1)!.result, "expired", "judged on the chain's clock, which travelled past the window");
    fills.setKnobs({ delayPastExpiry: false, paused: true });
    await sleep(3_000);
    fills.setKnobs({ paused: false });
    const last = await settle(d, k, rec);
    assert.equal(rec.maxOpen, 1, "never two requests in flight for one market");
    assert.ok(rec.outcomes("filled").length >= 1);
    assert.ok(converged(last), `converged: |net delta| ${last.netDelta} within ±${last.bandHalfWidth} (${last.reason})`);
  });

  it("cancels its own request when no keeper closes it after the execution window, and gets the collateral back", async () => {
    const { demo: d, keeper: k, rec } = await start({ fillKeeper: { paused: true }, scenario: { kind: "constant", priceUsd: 150 } }, (c) => {
      c.execution.cancelExpiredAfterSec = 5;
      return hundredSolMandate(c);
    });
    const balance = async () => BigInt((await d.world.connection.getTokenAccountBalance(associatedTokenAddress(MAINNET.custodies.USDC.mint, d.wallet.publicKey))).value.amount);
    const before = await balance();
    await until("the request to land and wait on chain", 20_000, async () => (await openRequestsOnChain(d)) === 1 && rec.events.some((e) => e.kind === "request" && e.stage === "landed"));
    assert.ok((await balance()) < before, "the request holds the short's USDC collateral");
    // Engaged first: the keeper re-decides a market the moment its request settles, and this test wants no second one.
    // The switch stops new requests, not the cancel of an overdue one.
    k.setKillSwitch(true);
    d.world.chain.timeTravel({ unixMs: Number(d.world.chain.nowSec()) * 1000 + 60_000 });
    await until("the keeper to cancel its overdue request", 20_000, () => rec.events.some((e) => e.kind === "request" && e.stage === "cancel"));
    await until("the cancelled request to be reconciled", 20_000, () => rec.outcomes().length >= 1);
    const outcome = rec.outcomes()[0]!;
    assert.equal(outcome.result, "expired");
    assert.match(outcome.detail, /cancelled by the keeper/);
    assert.equal(await openRequestsOnChain(d), 0);
    assert.equal(await balance(), before, "every unit of collateral came back");
    assert.equal(rec.maxOpen, 1);
  });

  it("hedges a short exposure with a USDC-funded long: quotes the swap, fills through the pool's internal swap", async () => {
    const usdcBefore = async (d: LocalDemo) => BigInt((await d.world.connection.getTokenAccountBalance(associatedTokenAddress(MAINNET.custodies.USDC.mint, d.wallet.publicKey))).value.amount);
    const { demo: d, keeper: k, rec } = await start({ scenario: { kind: "constant", priceUsd: 150 } }, (c) => {
      const m = c.mandates[0]!;
      m.exposures.offsets = { SOL: -100 };
      m.exposures.options = [];
      m.longCollateral = "usdc";
      return c;
    });
    const usdcAtStart = await usdcBefore(d);
    await until("the first fill", 20_000, () => rec.outcomes("filled").length >= 1);
    const intent = rec.intents()[0] as Extract<KeeperEvent, { kind: "request" }>;
    assert.match(intent.detail, /^increase long/);
    const quote = rec.events.find((e): e is Extract<KeeperEvent, { kind: "request" }> => e.kind === "request" && e.stage === "quote" && e.id === intent.id);
    assert.ok(quote, "a swap quote was taken before the request was built");
    const [inAmount, outAmount, minimumOut] = /swap (\d+) USDC base units -> (\d+) \(minimum (\d+)\)/.exec(quote.detail)!.slice(1).map(BigInt);
    assert.ok(minimumOut! < outAmount! && minimumOut! > 0n);
    const last = await settle(d, k, rec);
    assert.ok(converged(last), `|net delta| ${last.netDelta} within ±${last.bandHalfWidth}`);
    assert.ok(last.hedgeTokens > 90, `long about 100 SOL, got ${last.hedgeTokens}`);
    const position = k.runners[0]!.lastSnapshot!.positions.find((p) => p.market === "SOL" && p.position.side === "long" && p.open)!;
    assert.ok(position.position.collateralCustody.equals(MAINNET.custodies.SOL.custody), "the long is collateralised in SOL");
    // The first request's USDC left the wallet: the swap's input, worth its output at $150 less the pool's swap fee.
    assert.ok(usdcAtStart - (await usdcBefore(d)) >= inAmount!, "USDC paid for the collateral");
    assert.ok((outAmount! * 150n) / 1000n >= (inAmount! * 998n) / 1000n, "the quote's output is worth its input less about 10 bps");
  });

  it("a long the wallet cannot fund is vetoed with the fix, before any transaction, and does not trip the breaker", async () => {
    const { rec } = await start({ scenario: { kind: "constant", priceUsd: 150 } }, (c) => {
      const m = c.mandates[0]!;
      m.markets = ["SOL", "ETH"];
      m.exposures.options = [];
      m.exposures.offsets = { ETH: -5 };
      m.limits.maxNetDeltaTokens = { SOL: 500, ETH: 500 };
      m.limits.maxConsecutiveFailures = 2;
      return c;
    });
    const vetoes = () => rec.events.filter((e): e is Extract<KeeperEvent, { kind: "veto" }> => e.kind === "veto" && e.market === "ETH");
    await until("three vetoes of the ETH long", 20_000, () => vetoes().length >= 3);
    for (const v of vetoes()) assert.match(v.reasons.join("; "), /the wallet can post 0 base units of ETH, the order needs \d+: fund the hedging wallet with ETH, or post USDC instead \(longCollateral: usdc\)/);
    assert.equal(rec.intents().length, 0);
  });

  it("values a DAO vault's watched accounts and a JLP holding from chain state every cycle", async () => {
    const vault = Keypair.generate().publicKey;
    let jlpAccount = PROGRAM_IDS.perpetuals;
    let ethAccount = PROGRAM_IDS.perpetuals;
    const { demo: d, rec } = await start({ scenario: { kind: "constant", priceUsd: 150 } }, (c) => {
      const m = c.mandates[0]!;
      m.markets = ["SOL", "ETH"];
      m.exposures.options = [];
      m.limits.maxNetDeltaTokens = { SOL: 500, ETH: 500 };
      m.hedgeRatio = 0.5;
      c.killFile = path.join(localnet.stateDir(), "no-trades");
      fs.writeFileSync(c.killFile, "");
      return c;
    }, (w) => {
      w.world.chain.airdrop(vault, 7_000_000_000n);
      ethAccount = setTokenBalance(w.world.chain, vault, MAINNET.custodies.ETH.mint, 200_000_000n);
      jlpAccount = setTokenBalance(w.world.chain, w.wallet.publicKey, MAINNET.jlpMint, 1_000_000_000n);
      const m = w.cfg.mandates[0]!;
      m.exposures.wallets = [
        { kind: "native", market: "SOL", address: vault.toBase58() },
        { kind: "token", market: "ETH", tokenAccount: ethAccount.toBase58() },
      ];
      m.exposures.jlp = { tokenAccount: jlpAccount.toBase58() };
    });
    // The JLP delta the pool's accounts imply, read over RPC (on a fork, the first read of an account fetches it)
    // and decoded here.
    const raw = async (key: PublicKey) => {
      const info = await d.world.connection.getAccountInfo(key, "confirmed");
      assert.ok(info, `${key.toBase58()} exists`);
      return info.data;
    };
    const decode = async <K extends "Pool" | "Custody">(kind: K, key: PublicKey) => {
      const r = decodeAccount(kind, await raw(key));
      assert.ok(r.ok);
      return r.value;
    };
    const pool = await decode("Pool", MAINNET.pool);
    const inputs = new Map(
      await Promise.all(
        pool.custodies.map(async (key) => {
          const addr = Object.values(MAINNET.custodies).find((c) => c.custody.equals(key))!;
          const price = decodeOracleAccount(PROGRAM_IDS.doves, await raw(addr.dovesAg), 0);
          assert.ok(price.ok);
          return [key.toBase58(), { custody: await decode("Custody", key), priceUsd6: priceUsd6(price.value) }] as const;
        }),
      ),
    );
    const supply = decodeMint(await raw(MAINNET.jlpMint));
    assert.ok(supply.ok);
    const jlp = jlpExposure({ jlpAmount: 1_000_000_000n, jlpSupply: supply.value.supply }, pool, inputs);
    const expected = {
      SOL: 0.5 * (7 + jlp.deltaTokens.get(MAINNET.custodies.SOL.custody.toBase58())!),
      ETH: 0.5 * (2 + jlp.deltaTokens.get(MAINNET.custodies.ETH.custody.toBase58())!),
    };
    await until("decisions for both markets", 20_000, () => ["SOL", "ETH"].every((m) => rec.events.some((e) => e.kind === "decision" && e.market === m)));
    for (const market of ["SOL", "ETH"] as const) {
      const dec = rec.events.find((e): e is Extract<KeeperEvent, { kind: "decision" }> => e.kind === "decision" && e.market === market)!;
      const exposure = dec.netDelta - dec.hedgeTokens;
      assert.ok(Math.abs(exposure - expected[market]) < 1e-9 * Math.max(1, Math.abs(expected[market])), `${market}: exposure ${exposure}, expected ${expected[market]}`);
    }
    const aumWarnings = rec.events.filter((e) => e.kind === "warning" && /JLP: computed AUM/.test(e.message)).length;
    assert.equal(aumWarnings > 0, Math.abs(jlp.aumGapBps) > 100, `AUM gap ${jlp.aumGapBps} bps and ${aumWarnings} warnings`);
  });

  it("stops within seconds when stopped right after starting, subscriptions still being set up", async () => {
    const { keeper: k } = await start({ scenario: { kind: "constant", priceUsd: 150 } });
    const t0 = Date.now();
    await k.stop(true);
    localnet.forget();
    assert.ok(Date.now() - t0 < 5_000, `stop took ${Date.now() - t0} ms`);
  });

  it("dry run decides and simulates but sends nothing (checked at the RPC)", async () => {
    let transactions = 0;
    const { demo: d, rec } = await start({}, (c) => ({ ...hundredSolMandate(c), dryRun: true }));
    d.world.chain.on("status", () => transactions++);
    await until("a dry-run outcome", 20_000, () => rec.outcomes("dry-run").length >= 1);
    await sleep(1_000);
    assert.equal(transactions, 0);
    assert.equal(await openRequestsOnChain(d), 0);
    assert.match(rec.outcomes("dry-run")[0]!.detail, /simulated \d+ CU/);
  });
});

describe("keeper crash and restart", function () {
  this.timeout(120_000);
  const children: ChildProcess[] = [];
  let demo: LocalDemo | undefined;
  let stateDir: string;
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await demo?.close();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const runCli = (configFile: string) => spawnCli(["run", "--config", configFile], children);

  it("adopts the request it sent before being killed instead of sending another", async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-crash-"));
    demo = await startLocalDemo({ stateDir, fillKeeper: { paused: true }, scenario: { kind: "constant", priceUsd: 150 } });
    const keyFile = path.join(stateDir, "wallet.json");
    fs.writeFileSync(keyFile, JSON.stringify(Array.from(demo.wallet.secretKey)), { mode: 0o600 });
    const cfg = hundredSolMandate(demo.cfg);
    cfg.mandates[0]!.keypairFile = keyFile;
    const configFile = path.join(stateDir, "config.json");
    fs.writeFileSync(configFile, JSON.stringify(cfg));

    const first = runCli(configFile);
    await until("the first run to send its request", 30_000, () => first.lines.some((l) => l.includes('"stage":"sent"')));
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    // "sent" is journaled (and logged) just before the first broadcast, so the kill may land before or after it:
    // either way the restart must adopt the journaled request, rebroadcasting its exact bytes if need be.

    const second = runCli(configFile);
    await until("the restarted keeper to adopt it", 30_000, () => second.lines.some((l) => l.includes('"stage":"resumed"')));
    await until("the adopted request to exist on chain", 15_000, async () => (await openRequestsOnChain(demo!)) === 1);
    await sleep(3_000);
    assert.equal(second.lines.filter((l) => l.includes('"stage":"intent"')).length, 0, `no second request while the first is open:\n${second.lines.join("\n")}`);
    assert.equal(await openRequestsOnChain(demo), 1);
    demo.world.fills!.setKnobs({ paused: false });
    await until("the adopted request to fill", 30_000, () => second.lines.some((l) => l.includes('"result":"filled"')));
    second.child.kill("SIGTERM");
    await new Promise((r) => second.child.once("exit", r));
  });
});
