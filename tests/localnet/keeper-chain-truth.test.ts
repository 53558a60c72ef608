import { strict as assert } from "node:assert";
import * as path from "node:path";
import { Writable } from "node:stream";
import { MAINNET, eventsFromTransaction } from "../../programs-client";
import type { KeeperEvent } from "../../keeper/mandate/events";
import type { LocalDemo, LocalDemoOptions } from "../../keeper/app/local-demo";
import type { KeeperConfig } from "../../keeper/app/config";
import type { JournalRecord } from "../../keeper/mandate/records";
import { Journal } from "../../keeper/ops/journal";
import { createLogger, logEvent } from "../../keeper/ops/logger";
import { hundredSolMandate, keeperOnLocalnet, openRequestsOnChain } from "../helpers/keeper";
import { borrowFeeUsd, cumulativeInterestAt, hourlyBorrowRate, readCustody } from "./stand-in-model";
import { rpc } from "../helpers/localnet";
import { setTokenBalance } from "../../localnet/fixtures/load";
import { sleep, until } from "../helpers/wait";

/** A 20x short against +100 SOL: a 10% rally takes it past maintenance margin (5% less fees and 0.2%). */
function twentyTimesShort(c: KeeperConfig): KeeperConfig {
  const cfg = hundredSolMandate(c);
  cfg.mandates[0]!.targetLeverage = 20;
  cfg.mandates[0]!.limits.maxLeverage = 25;
  return cfg;
}

/** The keeper books what the program did (its events), not what the keeper expected, and survives a liquidation. */
describe("keeper reads what happened on chain", function () {
  this.timeout(120_000);
  const localnet = keeperOnLocalnet("gk-truth-");
  const start = (
    opts: Partial<LocalDemoOptions>,
    configure: (c: KeeperConfig) => KeeperConfig,
    onEvent?: (e: KeeperEvent) => void,
    prepare?: (d: LocalDemo) => Promise<void>,
  ) => localnet.start(opts, configure, { onEvent, prepare });

  const journal = () => new Journal<JournalRecord>(path.join(localnet.stateDir(), "journal.log")).read().records;

  it("journals each fill's price, fee and settled borrow exactly as the program's event states them", async () => {
    const { demo: d, rec } = await start({ scenario: { kind: "constant", priceUsd: 150 } }, hundredSolMandate);
    await until("the first fill", 30_000, () => rec.outcomes("filled").length >= 1);
    const outcome = journal().find((r): r is Extract<JournalRecord, { t: "outcome" }> => r.t === "outcome" && r.result === "filled")!;
    assert.ok(outcome.fill, "the outcome carries the fill");
    assert.equal(outcome.fill.source, "event", `read from the fill transaction: ${outcome.detail}`);
    const tx = await d.world.connection.getTransaction(outcome.fill.signature!, { maxSupportedTransactionVersion: 0, commitment: "confirmed" });
    assert.ok(tx, "the fill transaction is on chain");
    const event = eventsFromTransaction(tx).find((e) => e.name === "IncreasePositionEvent")!;
    assert.ok(event, "the fill emitted an IncreasePositionEvent");
    assert.equal(outcome.fill.priceUsd6, String(event.data.price));
    assert.equal(outcome.fill.positionFeeUsd6, String(event.data.positionFeeUsd));
    assert.equal(outcome.feeUsd6, String(event.data.positionFeeUsd), "the fee budget counts the program's fee");
    assert.equal(outcome.fill.priceImpactFeeUsd6, String(event.data.priceImpactFeeUsd));
    assert.equal(outcome.fill.borrowFeeUsd6, String(event.data.fundingFeeUsd));
    assert.equal(outcome.fill.sizeUsdDelta6, String(event.data.sizeUsdDelta));
    const emitted = rec.outcomes("filled")[0]!;
    assert.equal(emitted.fill?.priceUsd, Number(event.data.price) / 1e6);
    assert.ok(emitted.fill?.slippageBps !== null && Number.isFinite(emitted.fill!.slippageBps), "slippage against the decision's price is measured");
  });

  it("accrues borrow over time-travelled hours at the custody's rate, in the P&L attribution and then in the fill that settles it", async () => {
    const { demo: d, keeper: k, rec } = await start({ scenario: { kind: "constant", priceUsd: 150 } }, hundredSolMandate);
    await until("the short to fill and settle", 30_000, async () => rec.outcomes("filled").length >= 1 && rec.open.size === 0 && (await openRequestsOnChain(d)) === 0);
    k.setKillSwitch(true);
    const runner = k.runners[0]!;
    const shortOf = () => runner.lastSnapshot!.positions.find((p) => p.open && p.position.side === "short")!;
    const before = rec.events.length;
    const HOURS = 6;
    d.world.chain.timeTravel({ unixMs: Number(d.world.chain.nowSec()) * 1000 + HOURS * 3_600_000 });
    await until("decisions after the time travel", 20_000, () => rec.events.slice(before).filter((e) => e.kind === "decision").length >= 2);
    await k.idle();

    // The keeper's accrued borrow, against the public formula (tests/localnet/stand-in-model.ts, written from
    // julianfssen's and sonarwatch's code) on the USDC custody as it is on chain, at the snapshot's chain clock.
    const snap = runner.lastSnapshot!;
    const short = shortOf();
    const usdc = await readCustody(d.world.connection, MAINNET.custodies.USDC.custody);
    const expected = borrowFeeUsd(short.position.sizeUsd, cumulativeInterestAt(usdc, snap.chainNowSec!), short.position.cumulativeInterestSnapshot);
    assert.equal(short.accruedBorrowUsd6, expected, "accrued borrow at the chain's clock");
    const hourlyUsd = Number(short.position.sizeUsd * hourlyBorrowRate(usdc)) / 1e9 / 1e6;
    assert.ok(Number(expected) / 1e6 > (HOURS - 0.1) * hourlyUsd, `${HOURS} hours of borrow at $${hourlyUsd}/h, got $${Number(expected) / 1e6}`);

    // The P&L attribution charged exactly that accrual across the decisions (each step books the change).
    const steps = rec.events.filter((e): e is Extract<KeeperEvent, { kind: "decision" }> => e.kind === "decision" && e.pnl !== null);
    const attributed = -steps.reduce((sum, e) => sum + e.pnl!.borrowUsd, 0);
    assert.ok(Math.abs(attributed - Number(expected) / 1e6) < 1e-6 + hourlyUsd * 0.01, `attributed $${attributed}, accrued $${Number(expected) / 1e6}`);

    // More exposure, trading resumed: the short grows, and the fill settles the accrued borrow out of its collateral.
    d.cfg.mandates[0]!.exposures.offsets = { SOL: 130 };
    const fillsBefore = rec.outcomes("filled").length;
    k.setKillSwitch(false);
    await until("the short to grow", 30_000, () => rec.outcomes("filled").length > fillsBefore);
    const settled = journal().filter((r): r is Extract<JournalRecord, { t: "outcome" }> => r.t === "outcome" && r.result === "filled").at(-1)!;
    const settledUsd6 = BigInt(settled.fill!.borrowFeeUsd6);
    // Settled at the fill a few seconds after the keeper's reading: at least that, and at most a minute more, plus the
    // counter's divCeil at the fill (one 1e-9 unit of rate is size/1e9 USD×1e6).
    const slack = BigInt(Math.ceil((hourlyUsd * 1e6) / 60)) + short.position.sizeUsd / 1_000_000_000n + 1n;
    assert.ok(settledUsd6 >= expected && settledUsd6 <= expected + slack, `settled ${settledUsd6}, accrued ${expected} when read (slack ${slack})`);
  });

  it("survives Jupiter pausing increases: each request is refused and refunded, one at a time, and it hedges once they resume", async () => {
    const { demo: d, rec } = await start({ scenario: { kind: "constant", priceUsd: 150 } }, hundredSolMandate, undefined, async (w) => {
      const r = await rpc(w.world.url, "localnet_setPerpsParams", [{ custody: MAINNET.custodies.SOL.custody.toBase58(), permissions: { allowIncreasePosition: false } }]);
      assert.ok(!r.error, JSON.stringify(r.error));
    });
    await until("two refused requests", 30_000, () => rec.outcomes("rejected").length >= 2);
    assert.equal(rec.outcomes("filled").length, 0, "nothing fills while increases are paused");
    const r = await rpc(d.world.url, "localnet_setPerpsParams", [{ custody: MAINNET.custodies.SOL.custody.toBase58(), permissions: { allowIncreasePosition: true } }]);
    assert.ok(!r.error, JSON.stringify(r.error));
    await until("a fill once increases resume", 30_000, () => rec.outcomes("filled").length >= 1);
    assert.equal(rec.maxOpen, 1, "never two requests in flight");
  });

  it("a deposit the wallet cannot fund sends what it can and raises a shortfall naming the token and the amount", async () => {
    const { rec } = await start({ scenario: { kind: "constant", priceUsd: 150 } }, twentyTimesShort, undefined, async (d) => {
      // Enough USDC for the 20x short's own collateral (about $750), not for the policy's top-up.
      setTokenBalance(d.world.chain, d.wallet.publicKey, MAINNET.custodies.USDC.mint, 900_000_000n);
    });
    await until("a shortfall", 30_000, () => rec.events.some((e) => e.kind === "shortfall"));
    const shortfall = rec.events.find((e): e is Extract<KeeperEvent, { kind: "shortfall" }> => e.kind === "shortfall")!;
    assert.equal(shortfall.token, "USDC");
    assert.ok(BigInt(shortfall.neededBase) > BigInt(shortfall.availableBase), JSON.stringify(shortfall));
    assert.match(shortfall.message, /needs \$[\d.]+ more collateral; the wallet is \d+ base units of USDC short: fund the hedging wallet with USDC/);
    await until("the partial deposit", 20_000, () => rec.events.some((e) => e.kind === "request" && e.stage === "intent" && /^deposit collateral/.test(e.detail)));
  });

  it("defends a 20x short with the collateral policy: deposits before the rally, and the liquidator never acts", async () => {
    const { demo: d, keeper: k, rec } = await start({ scenario: { kind: "jump", startUsd: 150, atSec: 15, jumpPct: 10 }, priceSpeed: 1 }, twentyTimesShort);
    const deposited = () => rec.events.some((e) => e.kind === "request" && e.stage === "intent" && /^deposit collateral/.test(e.detail));
    await until("a collateral deposit after the 20x short opens", 14_000, () => rec.outcomes("filled").length >= 2 && deposited());
    const before = rec.events.filter((e): e is Extract<KeeperEvent, { kind: "collateral" }> => e.kind === "collateral").at(-1)!;
    assert.ok(before.distanceSigmas < 3 || rec.events.some((e) => e.kind === "collateral" && e.action === "deposit"), "the policy saw the 20x short too close");
    await until("the rally", 20_000, () => rec.lastDecision().priceUsd > 160);
    await sleep(6_000); // the fill keeper checks every position once a second
    assert.deepEqual(rec.events.filter((e) => e.kind === "liquidation"), [], "no liquidation");
    const short = k.runners[0]!.lastSnapshot!.positions.find((p) => p.open && p.position.side === "short");
    assert.ok(short, "the short is still open");
    const after = rec.events.filter((e): e is Extract<KeeperEvent, { kind: "collateral" }> => e.kind === "collateral").at(-1)!;
    assert.ok(after.distanceSigmas >= 3, `after the rally ${after.distanceSigmas.toFixed(2)} daily σ from liquidation`);
    const moved = journal().filter((r) => r.t === "intent" && r.purpose === "collateral");
    assert.ok(moved.length >= 1, "the deposit is journaled as a collateral move");
    assert.ok(d.world.fills, "the fill keeper (and liquidator) ran");
  });

  it("notices a liquidation by the fill keeper, journals and alerts it, and rebuilds the hedge", async () => {
    const lines: string[] = [];
    const log = createLogger({
      level: "info",
      format: "json",
      secrets: [],
      destination: new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }),
    });
    // The rally at 15 s liquidates the 20x short: nothing defends it with the collateral policy off.
    const { rec } = await start(
      { scenario: { kind: "jump", startUsd: 150, atSec: 15, jumpPct: 10 }, priceSpeed: 1 },
      (c) => {
        const cfg = twentyTimesShort(c);
        cfg.mandates[0]!.collateral.enabled = false;
        return cfg;
      },
      (e) => logEvent(log, e),
    );
    await until("the first fill", 20_000, () => rec.outcomes("filled").length >= 1);
    await until("the liquidation to be noticed", 40_000, () => rec.events.some((e) => e.kind === "liquidation"));
    const liquidation = rec.events.find((e): e is Extract<KeeperEvent, { kind: "liquidation" }> => e.kind === "liquidation")!;
    assert.ok(liquidation.signature, `found the liquidation transaction: ${liquidation.detail}`);
    assert.ok(liquidation.priceUsd! >= 160, `liquidated after the rally, at ${liquidation.priceUsd}`);
    const journaled = journal().find((r) => r.t === "liquidated");
    assert.ok(journaled && journaled.t === "liquidated" && journaled.signature === liquidation.signature, "journaled with its transaction");
    const alert = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === "liquidation");
    assert.ok(alert && alert.level === 50 && alert.alert === true, `logged at error with alert:true: ${JSON.stringify(alert)}`);
    const at = rec.events.indexOf(liquidation);
    const rebuilt = () => rec.events.slice(at).filter((e): e is Extract<KeeperEvent, { kind: "decision" }> => e.kind === "decision").at(-1);
    await until("the short hedge to be rebuilt", 40_000, () => (rebuilt()?.hedgeTokens ?? 0) < -50);
    assert.ok(rec.events.slice(at).some((e) => e.kind === "outcome" && e.result === "filled"), "a new fill after the liquidation");
    assert.equal(rec.maxOpen, 1, "never two requests in flight");
  });
});
