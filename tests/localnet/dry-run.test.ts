import { strict as assert } from "node:assert";
import * as path from "node:path";
import type { KeeperEvent } from "../../keeper/mandate/events";
import { type JournalRecord, restoreState } from "../../keeper/mandate/records";
import { Journal } from "../../keeper/ops/journal";
import { dryRunSummary } from "../../keeper/cli/run";
import { sleep } from "../helpers/wait";
import { hundredSolMandate, keeperOnLocalnet, openRequestsOnChain } from "../helpers/keeper";

type Decision = Extract<KeeperEvent, { kind: "decision" }>;
type Intent = Extract<JournalRecord, { t: "intent" }>;

const MAX_TRADES_PER_HOUR = 3;
const COOLDOWN_SEC = 2;

describe("dry run on localnet", function () {
  this.timeout(120_000);
  const localnet = keeperOnLocalnet("gk-dry-run-");

  it("keeps the live limits and a simulated hedge: no repeated trade, nothing sent, a summary of what it would have sent", async () => {
    let transactions = 0;
    const { demo: d, keeper: k, rec } = await localnet.start({}, (c) => {
      const m = hundredSolMandate(c).mandates[0]!;
      m.limits.maxTradesPerHour = MAX_TRADES_PER_HOUR;
      m.trade.cooldownSec = COOLDOWN_SEC;
      return { ...c, dryRun: true };
    });
    d.world.chain.on("status", () => transactions++);
    await sleep(10_000);
    await k.stop(true);
    localnet.forget();

    // Nothing reached the chain: no transaction, no request, no position.
    assert.equal(transactions, 0, "no transaction sent");
    assert.equal(await openRequestsOnChain(d), 0);
    assert.equal(k.runners[0]!.lastSnapshot!.positions.filter((p) => p.open).length, 0, "no position opened");

    const { records } = new Journal<JournalRecord>(path.join(localnet.stateDir(), "journal.log")).open();
    const intents = records.filter((r): r is Intent => r.t === "intent");
    const hedges = intents.filter((i) => i.purpose !== "collateral");
    assert.ok(hedges.length >= 1, "the +100 SOL exposure is hedged in simulation");
    assert.equal(rec.outcomes("dry-run").length, intents.length, "every intent ends as a dry-run outcome");

    // The live limits: trades per hour and the cooldown between hedge trades.
    assert.ok(hedges.length <= MAX_TRADES_PER_HOUR, `${hedges.length} hedge intents, at most ${MAX_TRADES_PER_HOUR} per hour`);
    for (let i = 1; i < hedges.length; i++) {
      const gapSec = hedges[i]!.createdSec - hedges[i - 1]!.createdSec;
      assert.ok(gapSec >= COOLDOWN_SEC, `hedge intents ${hedges[i - 1]!.id} and ${hedges[i]!.id} ${gapSec}s apart, cooldown ${COOLDOWN_SEC}s`);
    }

    // The simulated hedge: the opening short of ~100 SOL is decided once; every later decision sees it, and
    // trades only on a band breach measured with it.
    assert.match(hedges[0]!.order.kind, /increase/);
    assert.ok(hedges[0]!.order.deltaTokens < -90, `first intent shorts about 100 SOL, got ${hedges[0]!.order.deltaTokens}`);
    assert.equal(hedges.filter((h) => Math.abs(h.order.deltaTokens) > 50).length, 1, "the opening short is not decided again");
    assert.deepEqual(rec.tradesInsideBand, [], "every trade decision was a band breach of the simulated hedge");
    const simulatedTokens = hedges.reduce((s, h) => s + h.order.deltaTokens, 0);
    const decisions = rec.events.filter((e): e is Decision => e.kind === "decision");
    assert.ok(Math.abs(decisions.at(-1)!.hedgeTokens - simulatedTokens) < 1e-6, `last decision's hedge ${decisions.at(-1)!.hedgeTokens} is the simulated ${simulatedTokens}`);

    // A later live start does not believe the dry run's fills.
    const restored = restoreState(records, d.cfg.mandates[0]!.name);
    assert.deepEqual([restored.open.length, restored.tradeTimesSec.length, restored.lastTradeSec.size, restored.feesByDayUsd6.size], [0, 0, 0, 0]);

    // The summary: what it would have sent, per market.
    const sol = k.runners[0]!.dryRunFills().get("SOL")!;
    const feeUsd6 = intents.reduce((s, i) => s + BigInt(i.estimatedFeeUsd6), 0n);
    const netUsd6 = hedges.reduce((s, h) => s + (h.order.deltaTokens < 0 ? -1n : 1n) * BigInt(h.order.sizeUsdDelta6), 0n); // the journal holds integers as strings
    assert.equal(sol.orders, intents.length);
    assert.ok(Math.abs(sol.deltaTokens - simulatedTokens) < 1e-9);
    assert.equal(sol.sizeUsd6, netUsd6);
    assert.ok(netUsd6 < 0n && feeUsd6 > 0n, `a net short with fees: ${netUsd6}, ${feeUsd6}`);
    assert.equal(sol.estimatedFeeUsd6, feeUsd6);
    const usd = (v: bigint) => `${v < 0n ? "-" : ""}$${(Math.abs(Number(v)) / 1e6).toFixed(2)}`;
    const orders = (n: number) => `${n} order${n === 1 ? "" : "s"}`;
    assert.equal(
      dryRunSummary("demo", k.runners[0]!.dryRunFills()),
      `demo: dry run would have sent ${orders(intents.length)}: SOL ${orders(intents.length)}, net ${simulatedTokens.toFixed(4)} SOL (${usd(netUsd6)}), est. fees ${usd(feeUsd6)}`,
    );
  });
});
