import { strict as assert } from "node:assert";
import { Writable } from "node:stream";
import type { KeeperEvent } from "../../keeper/mandate/events";
import { createLogger, humanLog, logEvent } from "../../keeper/ops/logger";
import { heartbeatDue, heartbeatLine, pnlTotals, summaryLine, tallyEvent, type MarketTally, type SessionTally } from "../../keeper/ops/session-tally";
import { dryRunSummary } from "../../keeper/cli/run";
import { bps, formatEvent, percent, shortKey, signedUsd, tokens, usd } from "../../keeper/ops/terminal-format";

const SIG = "3MnCnWjLDzXjBPxqzjHv2hYJ4b8Zk9sPwoSmTQd1yBfLcQ5GvX7R2aeTnHuK8mWJiVxYpQ4rZ6dN9sE3tFgWjq";
const REQUEST = "25efZjoTg2ekunaNoV2AbqzEcZeivTdSpHkBrzpK7ShR";
const base = { mandate: "desk", market: "SOL" as const };

const decision = (over: Partial<Extract<KeeperEvent, { kind: "decision" }>> = {}): KeeperEvent => ({
  kind: "decision",
  ...base,
  action: "hold",
  reason: "inside the band",
  atMs: 0,
  priceUsd: 150.5,
  priceAgeSec: 1,
  netDelta: 3.684,
  hedgeTokens: -11.834,
  bandCenter: -15.514,
  bandHalfWidth: 6.68,
  pendingTokens: 0,
  pnl: { gammaUsd: 2, thetaUsd: -0.5, deltaUsd: 1, borrowUsd: -0.01 },
  stepMs: 1000,
  ...over,
});

const filled: KeeperEvent = {
  kind: "outcome",
  ...base,
  id: "desk-SOL-1",
  request: REQUEST,
  result: "filled",
  detail: "short $0.00 -> $1,164.57 at $150.0512; fee $0.737209, borrow settled $0.000000",
  feeUsd: 0.737209,
  latencyMs: 449,
  fill: { source: "event", signature: SIG, priceUsd: 150.051218, expectedPriceUsd: 150, slippageBps: -3.4145, impactFeeUsd: 0.105316, borrowUsd: 0 },
  position: { side: "short", sizeBeforeUsd: 0, sizeAfterUsd: 1164.570146 },
};

describe("terminal format", () => {
  describe("units", () => {
    const cases: [string, string, string][] = [
      ["usd", usd(1164.570146), "$1,164.57"],
      ["usd negative", usd(-3.2), "-$3.20"],
      ["usd rounding to zero has no sign", usd(-0.001), "$0.00"],
      ["usd 4 decimals", usd(150.05122, 4), "$150.0512"],
      ["signedUsd gain", signedUsd(1.234), "+$1.23"],
      ["signedUsd loss", signedUsd(-1234.5), "-$1,234.50"],
      ["signedUsd zero", signedUsd(0.004), "$0.00"],
      ["tokens SOL", tokens(7.7712, "SOL"), "7.77 SOL"],
      ["tokens signed +", tokens(0.38, "SOL", true), "+0.38 SOL"],
      ["tokens signed -", tokens(-7.021, "SOL", true), "-7.02 SOL"],
      ["tokens BTC keeps 4 decimals", tokens(0.012345, "BTC"), "0.0123 BTC"],
      ["percent", percent(0.000637), "0.06%"],
      ["bps", bps(-3.4145), "-3.4 bps"],
      ["shortKey signature", shortKey(SIG), "3MnC…Wjq"],
      ["shortKey short text unchanged", shortKey("abc"), "abc"],
    ];
    for (const [what, got, want] of cases) it(`${what}: ${want}`, () => assert.equal(got, want));
  });

  describe("one line per event", () => {
    const cases: [string, KeeperEvent, string][] = [
      [
        "a trade decision: the band is the hedge's",
        decision({ action: "trade", hedgeTokens: 0, netDelta: 13.7079, bandCenter: -13.7079, bandHalfWidth: 6.6868, reason: "deviation outside the band" }),
        "desk SOL TRADE at $150.50: net delta +13.71 SOL; hedge 0.00 SOL outside band -13.71 ± 6.69 SOL; deviation outside the band",
      ],
      ["a hold with a request pending", decision({ pendingTokens: -0.5 }), "desk SOL HOLD at $150.50: net delta +3.68 SOL; hedge -11.83 SOL in band -15.51 ± 6.68 SOL, -0.50 SOL pending; inside the band"],
      [
        "an order",
        {
          kind: "request",
          ...base,
          id: "desk-SOL-1",
          stage: "intent",
          request: REQUEST,
          detail: "increase short $1164.57 (-7.7612 SOL) slippage limit $148.5000",
          order: { purpose: "hedge", kind: "increase", side: "short", sizeUsd: 1164.570146, deltaTokens: -7.7612, collateralUsd: 388.19, priceLimitUsd: 148.5 },
        },
        "desk SOL ORDER increase short $1,164.57 (-7.76 SOL), posting $388.19, worst price $148.50; req 25ef…ShR",
      ],
      [
        "a collateral deposit",
        {
          kind: "request",
          ...base,
          id: "desk-SOL-2",
          stage: "intent",
          request: REQUEST,
          detail: "",
          order: { purpose: "collateral", kind: "increase", side: "short", sizeUsd: 0, deltaTokens: 0, collateralUsd: 120, priceLimitUsd: 148.5 },
        },
        "desk SOL ORDER deposit $120.00 collateral into the short, worst price $148.50; req 25ef…ShR",
      ],
      [
        "a send: the signature once, short",
        {
          kind: "request",
          ...base,
          id: "desk-SOL-1",
          stage: "sent",
          request: REQUEST,
          detail: "cu 50000 price 1000 µlamports/CU",
          tx: { signature: SIG, computeUnitLimit: 50_000, simulatedUnits: 29_186, microLamports: 1000, priorityFeeLamports: 50 },
        },
        "desk SOL SENT tx 3MnC…Wjq, 50,000 CU at 1,000 µlamports/CU (priority fee 50 lamports); req 25ef…ShR",
      ],
      ["a landing", { kind: "request", ...base, id: "desk-SOL-1", stage: "landed", request: REQUEST, detail: "slot 440208000; waiting for Jupiter's keeper" }, "desk SOL LANDED slot 440208000; waiting for Jupiter's keeper; req 25ef…ShR"],
      [
        "a fill: sizes in dollars, the fee on the same line",
        filled,
        "desk SOL FILLED short $0.00 → $1,164.57 at $150.05 (decided at $150.00, slippage -3.4 bps); fee $0.74 (0.06%, impact $0.11), borrow $0.00; 449 ms; tx 3MnC…Wjq; req 25ef…ShR",
      ],
      [
        "a rejection",
        { kind: "outcome", ...base, id: "desk-SOL-1", request: REQUEST, result: "rejected", detail: "request closed unfilled", feeUsd: 0, latencyMs: 1500 },
        "desk SOL REJECTED request closed unfilled; 1.5 s; req 25ef…ShR",
      ],
    ];
    for (const [what, event, want] of cases) it(what, () => assert.equal(formatEvent(event), want));

    it("prints no raw USD×1e6 integer and no signature in full", () => {
      for (const [, event] of cases) {
        const line = formatEvent(event);
        assert.doesNotMatch(line.replace(/slot \d+/, ""), /\d{7,}/, line);
        assert.ok(!line.includes(SIG), line);
      }
    });
  });

  describe("session tally", () => {
    const run = (events: KeeperEvent[]) => {
      const tally: SessionTally = new Map();
      for (const e of events) tallyEvent(tally, e);
      return tally.get("desk/SOL")!;
    };

    it("sums the pnl steps and the fills' fees into the P&L", () => {
      const t = run([decision({ pnl: null }), decision(), decision(), { kind: "request", ...base, id: "1", stage: "intent", request: REQUEST, detail: "" }, filled]);
      assert.deepEqual({ requests: t.requests, fills: t.fills }, { requests: 1, fills: 1 });
      const p = pnlTotals(t);
      assert.deepEqual([p.gammaUsd, p.thetaUsd, p.deltaUsd, p.borrowUsd, p.feesUsd], [4, -1, 2, -0.02, -0.737209]);
      assert.ok(Math.abs(p.totalUsd - (4 - 1 + 2 - 0.02 - 0.737209)) < 1e-12);
      assert.equal(
        summaryLine(t),
        "desk SOL FINAL net delta +3.68 SOL; hedge -11.83 SOL in band -15.51 ± 6.68 SOL, worth $1,781.02 at $150.50; 1 of 1 requests filled, fees $0.74; " +
          "P&L +$4.24 (gamma +$4.00, theta -$1.00, delta +$2.00, fees -$0.74, borrow -$0.02)",
      );
      assert.match(heartbeatLine(t), /^desk SOL HOLDING at \$150\.50: net delta \+3\.68 SOL; hedge -11\.83 SOL in band -15\.51 ± 6\.68 SOL; P&L \+\$4\.24 /);
    });

    it("keeps no tally for a warning of no market", () => {
      const tally: SessionTally = new Map();
      assert.equal(tallyEvent(tally, { kind: "warning", message: "x" }), undefined);
      assert.equal(tally.size, 0);
    });

    const shown = (lastShownMs: number | null) => ({ lastShownMs }) as MarketTally;
    const cases: [string, MarketTally, KeeperEvent, number, number, boolean][] = [
      ["first hold shows the state at once", shown(null), decision(), 0, 30, true],
      ["quiet for the interval", shown(0), decision(), 30_000, 30, true],
      ["not yet", shown(0), decision(), 29_999, 30, false],
      ["a trade is its own line", shown(0), decision({ action: "trade" }), 60_000, 30, false],
      ["0 turns it off", shown(null), decision(), 60_000, 0, false],
      ["only decisions", shown(null), { kind: "veto", ...base, reasons: [] }, 60_000, 30, false],
    ];
    for (const [what, t, e, nowMs, sec, want] of cases) it(`heartbeat: ${what}`, () => assert.equal(heartbeatDue(t, e, nowMs, sec), want));
  });

  describe("dry-run summary", () => {
    const fill = (orders: number) => ({ orders, deltaTokens: -1.5, sizeUsd6: -225_000_000n, estimatedFeeUsd6: 135_000n, collateralMoved: new Set<"long" | "short">() });
    const cases: [string, [string, ReturnType<typeof fill>][], string][] = [
      ["one order", [["SOL", fill(1)]], "desk: dry run would have sent 1 order: SOL 1 order, net -1.5000 SOL (-$225.00), est. fees $0.14"],
      ["two markets", [["SOL", fill(2)], ["ETH", fill(1)]], "desk: dry run would have sent 3 orders: SOL 2 orders, net -1.5000 SOL (-$225.00), est. fees $0.14; ETH 1 order, net -1.5000 ETH (-$225.00), est. fees $0.14"],
      ["none", [], "desk: dry run would have sent 0 orders"],
    ];
    for (const [name, fills, want] of cases) it(name, () => assert.equal(dryRunSummary("desk", new Map(fills) as Parameters<typeof dryRunSummary>[1]), want));
  });

  describe("log format", () => {
    const cases: [Parameters<typeof humanLog>[0], boolean, boolean][] = [
      ["auto", true, true],
      ["auto", false, false],
      ["json", true, false],
      ["pretty", false, true],
    ];
    for (const [format, terminal, human] of cases) it(`${format} with terminal=${terminal}: ${human ? "human" : "JSON"}`, () => assert.equal(humanLog(format, terminal), human));

    /** One event through createLogger: the lines it writes. */
    const linesFor = (format: "auto" | "pretty" | "json", terminal: boolean, event: KeeperEvent = filled) => {
      const lines: string[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
          done();
        },
      });
      logEvent(createLogger({ level: "info", format, secrets: [], destination, terminal }), event);
      return lines;
    };

    it("auto on a terminal: one human line, the signature short", () => {
      const lines = linesFor("auto", true);
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0]!, /FILLED short \$0\.00 → \$1,164\.57/);
      assert.ok(!lines[0]!.includes(SIG));
    });

    it("a warning on a terminal says WARN once: the level, not again in the message; plan's bare line keeps it", () => {
      const warning: KeeperEvent = { kind: "warning", mandate: "sol-straddle", message: "options book reloaded" };
      const [line] = linesFor("pretty", false, warning);
      assert.match(line!, /WARN.*: sol-straddle options book reloaded$/);
      assert.equal(line!.match(/WARN/g)?.length, 1, line);
      assert.equal(formatEvent(warning), "sol-straddle WARN options book reloaded");
    });

    it("auto elsewhere: JSON with every field, the signature whole", () => {
      const lines = linesFor("auto", false);
      assert.equal(lines.length, 1);
      const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
      for (const key of ["event", "mandate", "market", "id", "request", "result", "detail", "feeUsd", "latencyMs", "fill", "position", "msg"]) assert.ok(key in rec, `${key} in ${lines[0]}`);
      assert.equal((rec.fill as { signature: string }).signature, SIG);
    });
  });
});
