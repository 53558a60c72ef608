import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { attributeStep } from "../../keeper/exposure/pnl-attribution";
import type { HistorySample } from "../../keeper/app/history";
import type { JournalRecord } from "../../keeper/mandate/records";
import { buildReport, summaryCsv } from "../../keeper/app/report";
import { Journal, JournalError } from "../../keeper/ops/journal";

describe("journal: a crash at any byte loses nothing before the last record", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-journal-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("every prefix of the file reopens to the whole records before the cut, and appends after it", () => {
    const file = path.join(dir, "j.log");
    const j = new Journal<{ n: number; s: string }>(file);
    j.open();
    const written = Array.from({ length: 6 }, (_, n) => ({ n, s: "é".repeat(n) }));
    for (const r of written) j.append(r);
    j.close();
    const full = fs.readFileSync(file);
    const ends: number[] = [];
    for (let i = 0; i < full.length; i++) if (full[i] === 0x0a) ends.push(i + 1);
    for (let cut = 0; cut <= full.length; cut++) {
      fs.writeFileSync(file, full.subarray(0, cut));
      const k = new Journal<{ n: number; s: string }>(file);
      const { records, droppedTornRecord } = k.open();
      const whole = ends.filter((e) => e <= cut).length;
      // A cut exactly before a newline leaves a whole record: it is kept and terminated.
      const kept = ends.includes(cut + 1) ? whole + 1 : whole;
      assert.deepEqual(records, written.slice(0, kept), `cut at byte ${cut}`);
      assert.equal(droppedTornRecord, cut > 0 && !ends.includes(cut) && !ends.includes(cut + 1), `torn flag at ${cut}`);
      k.append({ n: 99, s: "after" });
      k.close();
      assert.deepEqual(new Journal(file).read().records, [...written.slice(0, kept), { n: 99, s: "after" }], `append after a cut at ${cut}`);
    }
  });

  it("a corrupt record before the last is an error naming the line, never silently dropped", () => {
    const file = path.join(dir, "j.log");
    const j = new Journal<{ n: number }>(file);
    j.open();
    for (let n = 0; n < 3; n++) j.append({ n });
    j.close();
    const lines = fs.readFileSync(file, "utf8").split("\n");
    lines[1] = lines[1]!.replace('"n":1', '"n":7');
    fs.writeFileSync(file, lines.join("\n"));
    assert.throws(() => new Journal(file).open(), (e: Error) => e instanceof JournalError && /line 2 is corrupt/.test(e.message));
  });
});

describe("P&L attribution", () => {
  it("a step splits into ½ΓΔS², ΘΔt, net Δ·ΔS and borrow accrued", () => {
    const prev = { atMs: 0, spotUsd: 100, netDelta: 2, gamma: 0.5, thetaPerYear: -365.25, accruedBorrowUsd: 1 };
    const next = { ...prev, atMs: 86_400_000, spotUsd: 104, accruedBorrowUsd: 1.25 };
    const s = attributeStep(prev, next);
    assert.equal(s.gammaUsd, 4); // ½ · 0.5 · 16
    assert.ok(Math.abs(s.thetaUsd - -1) < 1e-12); // one day of −365.25 per year
    assert.equal(s.deltaUsd, 8);
    assert.equal(s.borrowUsd, -0.25);
    assert.equal(attributeStep(next, { ...next, accruedBorrowUsd: 0 }).borrowUsd, 0, "a charge at a fill is not a gain");
  });

  it("property: steps through a path add up to the path's gamma P&L for a constant-gamma book", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 50 }), fc.double({ min: 0, max: 2, noNaN: true }), (moves, gamma) => {
        let mark = { atMs: 0, spotUsd: 100, netDelta: 0, gamma, thetaPerYear: 0, accruedBorrowUsd: 0 };
        let total = 0;
        for (const m of moves) {
          const next = { ...mark, spotUsd: mark.spotUsd + m };
          total += attributeStep(mark, next).gammaUsd;
          mark = next;
        }
        const expected = moves.reduce((a, m) => a + 0.5 * gamma * m * m, 0);
        return Math.abs(total - expected) <= 1e-9 * (1 + expected);
      }),
    );
  });
});

describe("report", () => {
  const order = (kind: "increase" | "decrease", side: "short" | "long", sizeUsd: number, deltaTokens: number) =>
    ({ kind, side, sizeUsdDelta6: BigInt(sizeUsd * 1e6), deltaTokens, priceSlippageUsd6: 0n }) as never;
  const intent = (id: string, createdSec: number, o: unknown, market = "SOL"): JournalRecord =>
    ({ t: "intent", id, mandate: "dao", market, counter: "1", order: o, request: `R${id}`, position: "P", sizeBeforeUsd6: "0", createdSec, estimatedFeeUsd6: "0" }) as JournalRecord;
  const outcome = (id: string, result: string, feeUsd6: string): JournalRecord => ({ t: "outcome", id, result, detail: "", atSec: 0, feeUsd6 }) as JournalRecord;
  const sample = (fromMs: number, toMs: number, absNet: number, outside: number, gamma: number, borrow: number): HistorySample => ({
    t: "sample",
    mandate: "dao",
    market: "SOL",
    fromMs,
    toMs,
    absNetDeltaTokenMs: absNet,
    outsideBandMs: outside,
    pnl: { gammaUsd: gamma, thetaUsd: -1, deltaUsd: 0.5, borrowUsd: borrow },
    feesUsd: 0,
    fills: 0,
  });

  it("sums trades, fees, borrow and attribution, and time-weights |net delta| and time outside the band", () => {
    const records = [intent("a", 1000, order("increase", "short", 1000, -6.6)), outcome("a", "filled", "600000"), intent("b", 2000, order("decrease", "short", 100, 0.6)), outcome("b", "rejected", "0"), intent("old", 10, order("increase", "short", 5, 0)), outcome("old", "filled", "1")];
    const samples = [sample(900_000, 1_800_000, 900_000 * 2, 0, 3, -0.1), sample(1_800_000, 4_500_000, 2_700_000 * 4, 900_000, 1, -0.2)];
    const r = buildReport(records, samples, "dao", 500_000);
    assert.deepEqual(r.trades.map((t) => [t.id, t.result, t.feeUsd]), [["a", "filled", 0.6], ["b", "rejected", 0]]);
    const sol = r.markets[0]!;
    assert.equal(sol.fills, 1);
    assert.equal(sol.failures, 1);
    assert.ok(Math.abs(sol.borrowUsd - 0.3) < 1e-12);
    assert.equal(sol.gammaUsd, 4);
    assert.equal(sol.coveredHours, 1);
    assert.equal(sol.meanAbsNetDelta, 3.5); // (0.25 h at 2 + 0.75 h at 4) / 1 h
    assert.equal(sol.outsideBandPct, 25);
    assert.ok(Math.abs(sol.netUsd - (4 - 2 + 1 - 0.3 - 0.6)) < 1e-12);
    assert.match(summaryCsv(r), /^market,requests,fills,failures,liquidations,minLiquidationSigmas,maxEffectiveLeverage,collateralDepositedUsd,collateralWithdrawnUsd,feesUsd,meanSlippageBps,borrowSettledUsd,borrowUsd,gammaUsd,thetaUsd,deltaUsd,netUsd,coveredHours,meanAbsNetDelta,outsideBandPct\nSOL,2,1,1,0,,,0,0,0.600000,,0,/);
  });
});
